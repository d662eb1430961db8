# labs/13-io-uring/lab.mk — lab 13 talks to io_uring through Debian's liburing
# (liburing-dev, installed by `make deps`): its programs and tests link -luring.
#help make lab-13       io_uring: multishot accept, MSG_RING fd passing, the epoll/io_uring cost ledger
$(labs/13-io-uring_PROGS) $(BUILD)/tests/13-io-uring: LDLIBS += -luring
