/* test_steered.c — fdhttpd's fifth accept strategy (--accept=steered: an eBPF program
 * picks the least loaded worker), the slow worker experiment on fdhttpd itself, and a
 * dead slot's listener still served (the master takes it over while the slot's worker
 * waits out its back-off). Counts, never times. The steered tests need CAP_BPF (root
 * on CI); without it they are skipped, saying why. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "kv.h"
#include "labpath.h"
#include "reuseport_steer.h"
#include "spawn.h"
#include "srvharness.h"
#include "tests/srvtest.h"

#define LAB "11-fdhttpd"

/* The lab's key, which must be there. */
static long val(const struct run_result *r, const char *key)
{
    long v = -1;
    cr_assert_eq(kv_long(r->out, key, &v), 0, "no %s in:\n%s\n%s", key, r->out, r->err);
    return v;
}

/* The lab run ended by itself, left nothing, exited 0 and showed every claim. */
static void clean_run(const struct run_result *r)
{
    ASSERT_RUN(r, 0);
    cr_assert(kv_is(r->out, "shown", "1"), "%s", r->out);
}

/* 1 when this process may load an SK_REUSEPORT program (CAP_BPF): one load, tried. */
static int can_bpf(void)
{
    struct rsteer s;
    int ok = rsteer_open(&s, 1, NULL, 0) == 0;
    cr_assert(ok || errno == EPERM, "rsteer_open: %s", strerror(errno));
    rsteer_close(&s); /* (safe after a failed open) */
    return ok;
}

/* A crash-looping slot 0 in its back-off (>= 800 ms): every request, with a 2 s
 * timeout, is answered — none waits on the dead slot's listener. */
static void dead_slot(const char *mode, long max_passed)
{
    struct run_result r = {0};
    cr_assert_eq(run_lab(&r, 100, LAB, "lab", "-s", "deadslot", "-a", mode, "-n", "1000", NULL), 0);
    clean_run(&r);
    char k[64];
    snprintf(k, sizeof k, "deadslot.%s.in_backoff", mode);
    cr_assert_eq(val(&r, k), 1, "%s", r.out);
    snprintf(k, sizeof k, "deadslot.%s.ok", mode);
    cr_assert_eq(val(&r, k), 200, "%s", r.out);
    snprintf(k, sizeof k, "deadslot.%s.errors", mode);
    cr_assert_eq(val(&r, k), 0, "no request timed out or failed:\n%s", r.out);
    snprintf(k, sizeof k, "deadslot.%s.master_passed", mode);
    if (max_passed >= 0)
        cr_assert_leq(val(&r, k), max_passed, "%s", r.out);
    run_result_free(&r);
}

Test(steered, reuseport_dead_slot_connections_reach_a_live_worker, .timeout = 120)
{
    dead_slot("reuseport", -1);
}

Test(steered, steered_dead_slot_is_skipped_and_served, .timeout = 120)
{
    if (!can_bpf())
        cr_skip_test("no CAP_BPF: the SK_REUSEPORT program cannot be loaded");
    dead_slot("steered", 20); /* the program skips the slot: the master has little to pass */
}

Test(steered, slow_worker_reuseport_queues_exclusive_and_steered_do_not, .timeout = 120)
{
    struct run_result r = {0};
    cr_assert_eq(run_lab(&r, 100, LAB, "lab", "-s", "slow", "-w", "4", NULL), 0);
    clean_run(&r);
    long re = val(&r, "slow.reuseport.slow_requests"), ex = val(&r, "slow.exclusive.slow_requests");
    cr_assert_geq(re, 2 * ex + 10, "reuseport: the slow worker's share waits behind it\n%s", r.out);
    cr_assert(kv_is(r.out, "slow.claim.reuseport_queues_behind_slow_worker", "yes"), "%s", r.out);
    if (can_bpf()) {
        long st = val(&r, "slow.steered.slow_requests");
        cr_assert_leq(st, 2 * ex + 10, "steered keeps slow requests few\n%s", r.out);
        cr_assert(kv_is(r.out, "slow.claim.steered_skips_slow_worker", "yes"), "%s", r.out);
    } else {
        cr_assert(kv_is(r.out, "slow.claim.steered_skips_slow_worker", "skipped"), "%s", r.out);
    }
    run_result_free(&r);
}

Test(steered, split_and_kill_under_steered, .timeout = 120)
{
    if (!can_bpf())
        cr_skip_test("no CAP_BPF: the SK_REUSEPORT program cannot be loaded");
    const char *scen[] = {"split", "kill"};
    for (int i = 0; i < 2; i++) {
        struct run_result r = {0};
        cr_assert_eq(run_lab(&r, 100, LAB, "lab", "-s", scen[i], "-a", "steered", "-w", "3", "-n", "1000", NULL), 0);
        clean_run(&r);
        run_result_free(&r);
    }
}

/* Without CAP_BPF and CAP_SYS_ADMIN (dropped from this test process's bounding set,
 * so the server exec'd from it starts without them even as root), steered is refused
 * at start with the reason, exit 1. */
Test(steered, steered_without_cap_bpf_is_refused_with_a_reason, .timeout = 120)
{
    int dropped = prctl(PR_CAPBSET_DROP, CAP_BPF, 0, 0, 0) == 0 && prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0) == 0;
    if (!dropped && can_bpf())
        cr_skip_test("cannot drop CAP_BPF for the server (prctl: %s)", strerror(errno));
    char *argv[] = {(char *)bin(), "-l", "127.0.0.1:0", "-w", "2", "-a", "steered", "--access-log", "off", NULL};
    struct run_result r = {0};
    cr_assert_eq(run_capture(argv, 30, &r), 0);
    cr_assert_eq(r.leftovers, 0);
    cr_assert_eq(run_exit_code(&r), 1, "started without CAP_BPF:\n%s\n%s", r.out, r.err);
    cr_assert(strstr(r.err, "CAP_BPF") != NULL, "the reason names CAP_BPF: %s", r.err);
    run_result_free(&r);
}

/* Each listening address is a reuseport group of its own and the program steers one:
 * steered with two addresses is refused at start with the reason, exit 1 (checked
 * before the program is loaded: no privilege needed to see it). */
Test(steered, steered_refuses_more_than_one_address, .timeout = 120)
{
    char *argv[] = {(char *)bin(), "-l", "127.0.0.1:0", "-l", "127.0.0.2:0", "-w", "2", "-a", "steered",
                    "--access-log", "off", NULL};
    struct run_result r = {0};
    cr_assert_eq(run_capture(argv, 30, &r), 0);
    cr_assert_eq(r.leftovers, 0);
    cr_assert_eq(run_exit_code(&r), 1, "started with two addresses:\n%s\n%s", r.out, r.err);
    cr_assert(strstr(r.err, "one --listen address") != NULL, "the reason: %s", r.err);
    run_result_free(&r);
}

Test(steered, options_know_steered_and_the_slow_slot, .timeout = 120)
{
    char *help[] = {(char *)bin(), "--help", NULL};
    struct run_result r = {0};
    cr_assert_eq(run_capture(help, 30, &r), 0);
    cr_assert_eq(run_exit_code(&r), 0);
    cr_assert(strstr(r.out, "steered") && strstr(r.out, "--slow-slot") && strstr(r.out, "--slow-ms"), "%s", r.out);
    run_result_free(&r);
    char *good[] = {(char *)bin(), "-t", "-w", "2", "-a", "steered", "--slow-slot", "1", "--slow-ms", "20", NULL};
    cr_assert_eq(run_capture(good, 30, &r), 0);
    cr_assert_eq(run_exit_code(&r), 0, "%s", r.err);
    run_result_free(&r);
    const char *bad[][2] = {{"--slow-slot", "2"}, {"--slow-slot", "x"}, {"--slow-ms", "0"}, {"-a", "steer"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[] = {(char *)bin(), "-t", "-w", "2", (char *)bad[i][0], (char *)bad[i][1], NULL};
        cr_assert_eq(run_capture(argv, 30, &r), 0);
        cr_assert_eq(run_exit_code(&r), 1, "%s %s accepted", bad[i][0], bad[i][1]);
        cr_assert(strstr(r.err, bad[i][0][1] == 'a' ? "steered" : bad[i][0]) != NULL, "a reason: %s", r.err);
        run_result_free(&r);
    }
}

/* A reload keeps the listeners, the group and the program: the new generation serves
 * through the same steering. An upgrade cannot move the socket array (a socket is in
 * one at most): the new master refuses with the reason, the old one serves on. */
Test(steered, steered_reloads_and_refuses_an_upgrade_with_a_reason, .timeout = 120)
{
    if (!can_bpf())
        cr_skip_test("no CAP_BPF: the SK_REUSEPORT program cannot be loaded");
    char *argv[] = {"fdhttpd", "-l", "127.0.0.1:0", "-w", "2", "-a", "steered", "--access-log", "off", NULL};
    struct fdh_srv s;
    cr_assert_eq(fdh_srv_start(&s, bin(), argv, 20), 0, "%s", s.err ? s.err : "");
    kill(s.pid, SIGHUP);
    for (int i = 0; i < 500 && !strstr(s.out, "reload=done"); i++)
        fdh_srv_pump(&s, 20);
    cr_assert(strstr(s.out, "reload=done generation=2") != NULL, "%s\n%s", s.out, s.err);
    char resp[4096];
    for (int i = 0; i < 20; i++) {
        cr_assert_gt(fdh_http(s.port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", resp, sizeof resp,
                              5000), 0);
        cr_assert(strncmp(resp, "HTTP/1.1 200", 12) == 0, "%s", resp);
    }
    kill(s.pid, SIGUSR2);
    for (int i = 0; i < 750 && !strstr(s.out, "upgrade=failed"); i++)
        fdh_srv_pump(&s, 20);
    cr_assert(strstr(s.out, "upgrade=failed") && strstr(s.out, "cannot be upgraded in place"), "%s\n%s", s.out,
              s.err);
    cr_assert_gt(fdh_http(s.port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", resp, sizeof resp, 5000),
                 0);
    cr_assert(strncmp(resp, "HTTP/1.1 200", 12) == 0, "the old master serves on: %s", resp);
    kill(s.pid, SIGTERM);
    cr_assert_eq(fdh_srv_wait(&s, 20), 0, "%s", s.err);
    cr_assert_eq(fdh_srv_leftovers(&s), 0);
    fdh_srv_free(&s);
}
