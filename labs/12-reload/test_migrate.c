/* test_migrate.c — lab 12's reuseport reload loss: the program migrate (reset without
 * net.ipv4.tcp_migrate_req, moved with it, in a namespace of its own) and the program
 * netns. Counts only: every connection reset, or every one served, and the kernel's
 * own counters agreeing. Skipped, and said so, where a network namespace may not be
 * created (no CAP_SYS_ADMIN). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kv.h"
#include "lib/netns.h"
#include "spawn.h"

#define LAB "12-reload"

static long val(const struct run_result *r, const char *key)
{
    long v;
    cr_assert_eq(kv_long(r->out, key, &v), 0, "missing %s in:\n%s\nstderr:\n%s", key, r->out, r->err);
    return v;
}

static void skip_when_skipped(struct run_result *r)
{
    if (kv_is(r->out, "skipped", "yes")) {
        cr_assert_eq(run_exit_code(r), 0);
        cr_skip_test("%s", kv_get(r->out, "reason"));
    }
}

/* The host's value of the sysctl, "" when it does not exist. */
static void host_sysctl(char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *f = fopen(NETNS_MIGRATE_SYSCTL, "r");
    if (!f)
        return;
    if (!fgets(buf, (int)cap, f))
        buf[0] = '\0';
    fclose(f);
}

Test(migrate, queued_connections_are_reset_then_moved, .timeout = 120)
{
    char before[16], after[16];
    host_sysctl(before, sizeof before);
    struct run_result r;
    cr_assert_eq(run_lab(&r, 60, LAB, "migrate", "-n", "12", NULL), 0);
    ASSERT_RUN(&r, 0);
    skip_when_skipped(&r);
    /* Without migration: all 12 completed handshakes sat in A's queue, and closing A
     * reset each (the client read ECONNRESET; the kernel counted the RSTs it sent). */
    cr_assert_eq(val(&r, "off.queued.in_accept_queue"), 12);
    cr_assert_eq(val(&r, "off.queued.reset"), 12, "%s", r.out);
    cr_assert_eq(val(&r, "off.queued.served"), 0);
    cr_assert_geq(val(&r, "off.queued.nstat.TcpOutRsts"), 12);
    /* The same for connections still in the handshake (TCP_DEFER_ACCEPT). */
    cr_assert_eq(val(&r, "off.handshake.reset"), 12, "%s", r.out);
    cr_assert_eq(val(&r, "off.handshake.served"), 0);
    host_sysctl(after, sizeof after);
    cr_assert_str_eq(before, after, "the host's tcp_migrate_req is untouched");
    if (kv_is(r.out, "on.skipped", "yes"))
        cr_skip_test("%s", kv_get(r.out, "on.reason"));
    /* With tcp_migrate_req=1: every one moved to B and was served, none reset. */
    cr_assert_eq(val(&r, "on.queued.in_accept_queue"), 12);
    cr_assert_eq(val(&r, "on.queued.served"), 12, "%s", r.out);
    cr_assert_eq(val(&r, "on.queued.reset"), 0);
    cr_assert_geq(val(&r, "on.queued.nstat.TcpExtTCPMigrateReqSuccess"), 12);
    cr_assert_eq(val(&r, "on.handshake.served"), 12, "%s", r.out);
    cr_assert_eq(val(&r, "on.handshake.reset"), 0);
    cr_assert_geq(val(&r, "on.handshake.nstat.TcpExtTCPMigrateReqSuccess"), 12);
    cr_assert(kv_is(r.out, "result", "ok"));
    run_result_free(&r);
}

Test(migrate, lab_runs_it_as_a_scenario, .timeout = 120)
{
    struct run_result r;
    cr_assert_eq(run_lab(&r, 60, LAB, "lab", "-s", "migrate", NULL), 0);
    ASSERT_RUN(&r, 0);
    if (kv_is(r.out, "migrate.shown", "skipped"))
        cr_skip_test("%s", kv_get(r.out, "migrate.reason"));
    cr_assert(kv_is(r.out, "migrate.shown", "1"), "%s", r.out);
    cr_assert(kv_is(r.out, "migrate.claim.queued_reset_without_migration", "yes"));
    cr_assert(kv_is(r.out, "shown", "1"));
    run_result_free(&r);
}

Test(migrate, bad_options_exit_2, .timeout = 120)
{
    struct run_result r;
    cr_assert_eq(run_lab(&r, 10, LAB, "migrate", "-n", "0", NULL), 0);
    cr_assert_eq(run_exit_code(&r), 2);
    run_result_free(&r);
    cr_assert_eq(run_lab(&r, 10, LAB, "migrate", "extra", NULL), 0);
    cr_assert_eq(run_exit_code(&r), 2);
    run_result_free(&r);
}

Test(migrate, netns_runs_the_command_in_a_namespace_of_its_own, .timeout = 120)
{
    char mine[64] = "";
    ssize_t n = readlink("/proc/self/ns/net", mine, sizeof mine - 1);
    cr_assert_gt(n, 0);
    mine[n] = '\0';
    struct run_result r;
    cr_assert_eq(run_lab(&r, 10, LAB, "netns", "readlink", "/proc/self/ns/net", NULL), 0);
    if (run_exit_code(&r) == 77)
        cr_skip_test("no CAP_SYS_ADMIN: %s", r.err);
    ASSERT_RUN(&r, 0);
    cr_assert(strncmp(r.out, "net:[", 5) == 0, "%s", r.out);
    cr_assert(strncmp(r.out, mine, strlen(mine)) != 0, "a new namespace: %s vs %s", r.out, mine);
    run_result_free(&r);
    cr_assert_eq(run_lab(&r, 10, LAB, "netns", "sh", "-c", "exit 3", NULL), 0);
    cr_assert_eq(run_exit_code(&r), 3, "the command's status passes through");
    run_result_free(&r);
    cr_assert_eq(run_lab(&r, 10, LAB, "netns", NULL), 0);
    cr_assert_eq(run_exit_code(&r), 2);
    run_result_free(&r);
}
