/* test_reload.c — lab 12: reload, upgrade, rollback, crash loop, systemd, and zero
 * failed requests under load. Each test runs one scenario of the lab driver and
 * asserts on its key=value lines (the driver prints the evidence, e.g. the listening
 * sockets' inodes before and after). Every test has the same .timeout (Criterion 2.4). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "labpath.h"
#include "spawn.h"

#define LAB "12-reload"

static long val(const struct run_result *r, const char *key)
{
    long v;
    cr_assert_eq(kv_long(r->out, key, &v), 0, "missing %s in:\n%s\nstderr:\n%s", key, r->out, r->err);
    return v;
}

static void run(struct run_result *r, const char *scen, const char *mode, const char *reloads, const char *upgrades)
{
    cr_assert_eq(run_lab(r, 110, LAB, "lab", "-s", scen, "-a", mode, "-r", reloads, "-u", upgrades, NULL), 0);
    cr_assert_eq(r->timed_out, 0, "timed out:\n%s\n%s", r->out, r->err);
    cr_assert_eq(r->leftovers, 0, "processes left behind:\n%s", r->out);
}

static void shown(const struct run_result *r, const char *scen)
{
    char k[64];
    snprintf(k, sizeof k, "%s.exit", scen);
    cr_assert_eq(val(r, k), 0, "the last master exits 0");
    snprintf(k, sizeof k, "%s.leftovers", scen);
    cr_assert_eq(val(r, k), 0, "no process of the server is left");
    cr_assert_eq(run_exit_code(r), 0, "lab failed:\n%s\nstderr:\n%s", r->out, r->err);
    cr_assert(kv_is(r->out, "shown", "1"));
}

static void reload(const char *mode)
{
    struct run_result r = {0};
    run(&r, "reload", mode, "0", "0");
    cr_assert_eq(val(&r, "reload.done"), 1, "reload=done printed:\n%s", r.out);
    cr_assert_eq(val(&r, "reload.new_root_served"), 1, "the changed --config root is served");
    cr_assert_eq(val(&r, "reload.old_root_gone"), 1);
    cr_assert_eq(val(&r, "reload.header_limit_applied"), 1, "the smaller header limit answers 431");
    cr_assert_eq(val(&r, "reload.status_generation"), 2);
    cr_assert_eq(val(&r, "reload.status_reloads"), 1);
    cr_assert_eq(val(&r, "reload.workers_renewed"), 1, "new workers");
    cr_assert_eq(val(&r, "reload.listener_same"), 1, "the SAME listening sockets (inodes), held by the master");
    cr_assert_eq(val(&r, "reload.idle_got_fin"), 1, "an idle kept-alive connection is half-closed: EOF, not RST");
    cr_assert_eq(val(&r, "reload.master_fds_before"), val(&r, "reload.master_fds_after"), "no fd leak in the master");
    cr_assert_geq(val(&r, "reload.queued_seen"), 1, "a SIGHUP during a reload is queued");
    cr_assert_eq(val(&r, "reload.queued_ran"), 1);
    cr_assert_eq(val(&r, "reload.final_generation"), 7);
    shown(&r, "reload");
    run_result_free(&r);
}

Test(reload, sighup_applies_config_on_the_same_sockets_reuseport, .timeout = 120) { reload("reuseport"); }
Test(reload, sighup_applies_config_on_the_same_sockets_passfd, .timeout = 120) { reload("passfd"); }

Test(reload, invalid_config_changes_nothing, .timeout = 120)
{
    struct run_result r = {0};
    run(&r, "invalid", "mutex", "0", "0");
    const char *keys[] = {"invalid.bad_value", "invalid.missing_root", "invalid.unknown_option",
                          "invalid.listen_refused", "invalid.accept_refused"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cr_assert_eq(val(&r, keys[i]), 1, "%s: reload=failed with the reason:\n%s", keys[i], r.out);
    cr_assert_eq(val(&r, "invalid.pids_unchanged"), 1, "the old workers are untouched");
    cr_assert_eq(val(&r, "invalid.still_serving"), 1);
    cr_assert_eq(val(&r, "invalid.status_generation"), 1);
    cr_assert_eq(val(&r, "invalid.status_reloads_failed"), 5);
    cr_assert_eq(val(&r, "invalid.fixed_reload_done"), 1);
    shown(&r, "invalid");
    run_result_free(&r);
}

static void upgrade(const char *mode)
{
    struct run_result r = {0};
    run(&r, "upgrade", mode, "0", "0");
    cr_assert_eq(val(&r, "upgrade.done"), 1, "%s", r.out);
    cr_assert_neq(val(&r, "upgrade.new_master"), val(&r, "upgrade.old_master"));
    cr_assert_eq(val(&r, "upgrade.old_exit"), 0, "the old master drains and exits 0");
    cr_assert_eq(val(&r, "upgrade.served_after"), 1);
    cr_assert_eq(val(&r, "upgrade.stats_continued"), 1, "the statistics page was handed over");
    cr_assert_eq(val(&r, "upgrade.status_upgrades"), 1);
    cr_assert_eq(val(&r, "upgrade.status_generation"), 2);
    cr_assert_eq(val(&r, "upgrade.listener_same"), 1, "the same sockets, now held by the new master");
    cr_assert_eq(val(&r, "upgrade.second_done"), 1);
    cr_assert_eq(val(&r, "upgrade.second_old_exit"), 0);
    cr_assert_eq(val(&r, "upgrade.second_listener_same"), 1);
    cr_assert_eq(val(&r, "upgrade.final_generation"), 3);
    cr_assert_eq(val(&r, "upgrade.final_upgrades"), 2);
    shown(&r, "upgrade");
    run_result_free(&r);
}

Test(reload, sigusr2_hands_over_reuseport, .timeout = 120) { upgrade("reuseport"); }
Test(reload, sigusr2_hands_over_exclusive, .timeout = 120) { upgrade("exclusive"); }
Test(reload, sigusr2_hands_over_mutex, .timeout = 120) { upgrade("mutex"); }
Test(reload, sigusr2_hands_over_passfd, .timeout = 120) { upgrade("passfd"); }

Test(reload, failing_new_binary_rolls_back, .timeout = 120)
{
    struct run_result r = {0};
    run(&r, "rollback", "reuseport", "0", "0");
    cr_assert_eq(val(&r, "rollback.broken_binary_failed"), 1, "upgrade=failed, reason: exit status 1:\n%s", r.out);
    cr_assert_eq(val(&r, "rollback.old_serving"), 1, "the old master serves on");
    cr_assert_eq(val(&r, "rollback.verify_failed"), 1, "sockets that do not match are refused, with why");
    cr_assert_eq(val(&r, "rollback.old_serving_again"), 1);
    cr_assert_eq(val(&r, "rollback.status_upgrades_failed"), 2);
    cr_assert_eq(val(&r, "rollback.then_upgrade_done"), 1);
    shown(&r, "rollback");
    run_result_free(&r);
}

/* No descriptor leak, no zombie, in any master: 20 reloads, 5 upgrades, 3 rollbacks. */
static void fds(const char *mode)
{
    struct run_result r = {0};
    run(&r, "fds", mode, "0", "0");
    cr_assert_eq(val(&r, "fds.reloads_done"), 20, "%s", r.out);
    cr_assert_eq(val(&r, "fds.upgrades_done"), 5, "%s", r.out);
    cr_assert_eq(val(&r, "fds.rollbacks_failed_as_expected"), 3, "%s", r.out);
    cr_assert_eq(val(&r, "fds.flat"), 1, "a master's fds or children changed:\n%s", r.out);
    shown(&r, "fds");
    run_result_free(&r);
}

Test(reload, no_fd_leak_or_zombie_over_reloads_upgrades_rollbacks_reuseport, .timeout = 120) { fds("reuseport"); }
Test(reload, no_fd_leak_or_zombie_over_reloads_upgrades_rollbacks_passfd, .timeout = 120) { fds("passfd"); }

Test(reload, out_of_fds_reload_and_upgrade_fail_master_serves_on, .timeout = 120)
{
    struct run_result r = {0};
    run(&r, "nofile", "reuseport", "0", "0");
    cr_assert_eq(val(&r, "nofile.reload_failed"), 1, "%s", r.out);
    cr_assert_eq(val(&r, "nofile.upgrade_failed"), 1, "%s", r.out);
    cr_assert_eq(val(&r, "nofile.master_alive"), 1, "the master did not die of EMFILE:\n%s", r.err);
    cr_assert_eq(val(&r, "nofile.serving"), 1);
    cr_assert_eq(val(&r, "nofile.reload_done_after"), 1);
    shown(&r, "nofile");
    run_result_free(&r);
}

Test(reload, stubborn_old_worker_is_killed_at_drain_timeout, .timeout = 120)
{
    struct run_result r = {0};
    run(&r, "stubborn", "passfd", "0", "0");
    cr_assert_eq(val(&r, "stubborn.held"), 8, "%s", r.out);
    cr_assert_eq(val(&r, "stubborn.on_stubborn_worker"), 4, "round robin: half on the stubborn worker");
    cr_assert_eq(val(&r, "stubborn.reload_done"), 1, "the reload completes despite the straggler");
    cr_assert_eq(val(&r, "stubborn.sigkilled"), 1, "the master logs the SIGKILL:\n%s", r.err);
    cr_assert_eq(val(&r, "stubborn.active_before"), 9);
    cr_assert_eq(val(&r, "stubborn.active_after"), 1, "the killed worker's connections left /status's active");
    cr_assert_eq(val(&r, "stubborn.upgrade_held"), 8);
    cr_assert_eq(val(&r, "stubborn.upgrade_old_exit"), 0,
                 "after a hand-over the old master's stubborn worker is killed at --drain-timeout:\n%s", r.err);
    cr_assert_eq(val(&r, "stubborn.upgrade_done"), 1);
    shown(&r, "stubborn");
    run_result_free(&r);
}

Test(reload, crash_loop_is_reported, .timeout = 120)
{
    struct run_result r = {0};
    run(&r, "crashloop", "exclusive", "0", "0");
    cr_assert_eq(val(&r, "crashloop.reported"), 1, "crashloop=slot=1 backoff_ms=... lines:\n%s", r.out);
    cr_assert_eq(val(&r, "crashloop.status_crashloop"), 1, "/status crashloop=1");
    cr_assert_geq(val(&r, "crashloop.status_backoff_ms"), 400);
    cr_assert_geq(val(&r, "crashloop.status_respawns"), 3);
    cr_assert_eq(val(&r, "crashloop.still_serving"), 1);
    shown(&r, "crashloop");
    run_result_free(&r);
}

Test(reload, systemd_activation_and_notify, .timeout = 120)
{
    struct run_result r = {0};
    run(&r, "systemd", "exclusive", "0", "0");
    cr_assert_eq(val(&r, "systemd.socket_activation"), 1, "%s", r.out);
    cr_assert_eq(val(&r, "systemd.serves_activated_socket"), 1);
    cr_assert_eq(val(&r, "systemd.ready"), 1, "READY=1 with MAINPID");
    cr_assert_eq(val(&r, "systemd.reloading"), 1, "RELOADING=1 with MONOTONIC_USEC, then READY=1");
    cr_assert_eq(val(&r, "systemd.stopping"), 1, "STOPPING=1");
    cr_assert_eq(val(&r, "systemd.reuseport_ok"), 1, "one activated socket per reuseport worker");
    cr_assert_eq(val(&r, "systemd.upgrade_kept_sockets"), 1, "an upgrade hands the activated sockets on");
    cr_assert_eq(val(&r, "systemd.mismatch_refused"), 1, "too few sockets for reuseport: exit 1, with why");
    shown(&r, "systemd");
    run_result_free(&r);
}

static void load(const char *mode)
{
    struct run_result r = {0};
    run(&r, "load", mode, "10", "5");
    cr_assert_eq(val(&r, "load.reloads"), 10, "%s", r.out);
    cr_assert_eq(val(&r, "load.upgrades"), 5);
    cr_assert_eq(val(&r, "load.ops_done"), 1);
    cr_assert_gt(val(&r, "load.keepalive_ok"), 0);
    cr_assert_gt(val(&r, "load.close_ok"), 0);
    cr_assert_eq(val(&r, "load.keepalive_errors"), 0, "zero failed kept-alive requests:\n%s", r.out);
    cr_assert_eq(val(&r, "load.close_errors"), 0, "zero failed Connection: close requests:\n%s", r.out);
    cr_assert_gt(val(&r, "load.pipelined_ok"), 0);
    cr_assert_eq(val(&r, "load.pipelined_errors"), 0, "zero failed pipelined requests:\n%s", r.out);
    cr_assert_eq(val(&r, "load.final_generation"), 16);
    cr_assert_eq(val(&r, "load.status_reloads"), 10);
    cr_assert_eq(val(&r, "load.status_upgrades"), 5);
    shown(&r, "load");
    run_result_free(&r);
}

Test(reload, zero_failed_requests_10_reloads_5_upgrades_reuseport, .timeout = 120) { load("reuseport"); }
Test(reload, zero_failed_requests_10_reloads_5_upgrades_exclusive, .timeout = 120) { load("exclusive"); }
Test(reload, zero_failed_requests_10_reloads_5_upgrades_mutex, .timeout = 120) { load("mutex"); }
Test(reload, zero_failed_requests_10_reloads_5_upgrades_passfd, .timeout = 120) { load("passfd"); }

Test(reload, help_documents_reload_and_upgrade, .timeout = 120)
{
    char bin[512];
    build_path(bin, sizeof bin, "labs/11-fdhttpd/fdhttpd");
    char *argv[] = {bin, "--help", NULL};
    struct run_result r = {0};
    cr_assert_eq(run_capture(argv, 30, &r), 0);
    cr_assert_eq(run_exit_code(&r), 0);
    const char *want[] = {"--config", "--no-handover", "--drain-timeout", "SIGHUP", "SIGUSR2", "LISTEN_FDS",
                          "NOTIFY_SOCKET", "reload=failed", "Refused on reload"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert(strstr(r.out, want[i]) != NULL, "--help lacks %s", want[i]);
    run_result_free(&r);
}
