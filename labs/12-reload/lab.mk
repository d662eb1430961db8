# labs/12-reload/lab.mk — lab 12 drives lab 11's server: its programs link lab 11's
# harness (lib/rl.c uses it), and `make lab-12` needs fdhttpd and fdload built first.
# The harness object comes after libfdlab.a on the link line ($^), so the library is
# named again after it (LDLIBS) for the symbols only the harness needs.
#help make lab-12       reload (SIGHUP), binary upgrade (SIGUSR2), rollback, systemd activation
$(labs/12-reload_PROGS) $(BUILD)/tests/12-reload: $(BUILD)/labs/11-fdhttpd/lib/harness.o
$(labs/12-reload_PROGS) $(BUILD)/tests/12-reload: LDLIBS := $(LIB) -lpthread
build-lab-12: $(BUILD)/labs/11-fdhttpd/fdhttpd $(BUILD)/labs/11-fdhttpd/fdload
$(BUILD)/tests/12-reload: | $(BUILD)/labs/11-fdhttpd/fdhttpd $(BUILD)/labs/11-fdhttpd/fdload
