/* test_multi.c — lab 12 on two addresses (127.0.0.1 and ::1, or 127.0.0.2 where the
 * machine has no IPv6 loopback: the lab prints which): two named sockets from socket
 * activation, handed on by an upgrade with their names; reloads and upgrades under
 * fdload on both addresses with zero failed requests, in every accept strategy; under
 * reuseport, 256 listeners (8 addresses x 32 workers) handed over in two messages. Every
 * test has the same .timeout as test_reload.c (Criterion 2.4, spawn.h). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "kv.h"
#include "spawn.h"

#define LAB "12-reload"

static long val(const struct run_result *r, const char *key)
{
    long v;
    cr_assert_eq(kv_long(r->out, key, &v), 0, "missing %s in:\n%s\nstderr:\n%s", key, r->out, r->err);
    return v;
}

static void multi(const char *mode)
{
    struct run_result r = {0};
    cr_assert_eq(run_lab(&r, 110, LAB, "lab", "-s", "multi", "-a", mode, "-r", "4", "-u", "2", NULL), 0);
    cr_assert_eq(r.timed_out, 0, "timed out:\n%s\n%s", r.out, r.err);
    cr_assert_eq(r.leftovers, 0, "processes left behind:\n%s", r.out);
    cr_assert_eq(val(&r, "multi.systemd_two_named_sockets"), 1, "listen.N ... name=web4/web6, both served:\n%s",
                 r.out);
    cr_assert_eq(val(&r, "multi.systemd_upgrade_kept_both"), 1, "an upgrade hands both on, names too:\n%s", r.out);
    if (strcmp(mode, "reuseport") == 0) /* 8 addresses x 32 workers: past SCM_MAX_FD */
        cr_assert_eq(val(&r, "multi.handover_two_messages"), 1, "256 listeners in two messages:\n%s", r.out);
    cr_assert_eq(val(&r, "multi.reloads"), 4);
    cr_assert_eq(val(&r, "multi.upgrades"), 2);
    cr_assert_eq(val(&r, "multi.ops_done"), 1);
    cr_assert_gt(val(&r, "multi.keepalive_ok"), 0, "clients on the first address");
    cr_assert_gt(val(&r, "multi.close_ok"), 0, "clients on the second address");
    cr_assert_gt(val(&r, "multi.pipelined_ok"), 0);
    cr_assert_eq(val(&r, "multi.failed_requests"), 0, "zero failed requests on both addresses:\n%s", r.out);
    cr_assert_gt(val(&r, "multi.accepted_first"), 0, "/status counts the first address");
    cr_assert_gt(val(&r, "multi.accepted_second"), 0, "/status counts the second address");
    cr_assert_eq(val(&r, "multi.final_generation"), 7);
    cr_assert_eq(val(&r, "multi.exit"), 0);
    cr_assert_eq(val(&r, "multi.leftovers"), 0);
    cr_assert_eq(run_exit_code(&r), 0, "lab failed:\n%s\nstderr:\n%s", r.out, r.err);
    run_result_free(&r);
}

Test(multi, two_addresses_named_activation_reload_upgrade_under_load_reuseport, .timeout = 120) { multi("reuseport"); }
Test(multi, two_addresses_named_activation_reload_upgrade_under_load_exclusive, .timeout = 120) { multi("exclusive"); }
Test(multi, two_addresses_named_activation_reload_upgrade_under_load_mutex, .timeout = 120) { multi("mutex"); }
Test(multi, two_addresses_named_activation_reload_upgrade_under_load_passfd, .timeout = 120) { multi("passfd"); }
