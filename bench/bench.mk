# bench/bench.mk — extras for bench programs: ch30srv's io_uring design (lab 13) links
# Debian's liburing (liburing-dev, installed by `make deps`).
$(BUILD)/bench/ch30srv: LDLIBS += -luring
