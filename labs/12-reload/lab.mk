# labs/12-reload/lab.mk — lab 12 drives lab 11's server (through common/kit's
# srvharness.h): `make lab-12` and its tests need fdhttpd and fdload built first.
#help make lab-12       reload (SIGHUP), binary upgrade (SIGUSR2), rollback, systemd activation
build-lab-12: $(BUILD)/labs/11-fdhttpd/fdhttpd $(BUILD)/labs/11-fdhttpd/fdload
# The tests run the lab driver (and it runs fdhttpd, fdload, sdactivate): built first.
$(BUILD)/tests/12-reload: | $(BUILD)/labs/11-fdhttpd/fdhttpd $(BUILD)/labs/11-fdhttpd/fdload $(labs/12-reload_PROGS)
