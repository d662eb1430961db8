/* Tests for lab 13: run the lab and assert on its key=value output. When io_uring
 * cannot be used here the lab exits RING_SKIP_EXIT (77) and every test that needs it
 * is reported as SKIPPED, never passed; one test checks that path itself. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdcount.h"
#include "kv.h"
#include "lib/ring.h"
#include "spawn.h"

#define LAB "13-io-uring"
#define TEST_TIMEOUT_S 120 /* one value for every test (see test_unrelated.c) */

static long num(const char *text, const char *key)
{
    long v;
    cr_assert_eq(kv_long(text, key, &v), 0, "key %s missing or not a number", key);
    return v;
}

static double dnum(const char *text, const char *key)
{
    char *s = kv_get(text, key);
    cr_assert_not_null(s, "key %s missing", key);
    double v = strtod(s, NULL);
    free(s);
    return v;
}

/* Runs the lab; a skip exit becomes a Criterion skip; otherwise asserts a clean run
 * with every claim shown. */
static void run13(struct run_result *r, const char *a1, const char *a2, const char *a3,
                  const char *a4)
{
    int before = fd_count();
    cr_assert_eq(run_lab(r, 90, LAB, "lab", a1, a2, a3, a4, NULL), 0);
    if (run_exit_code(r) == RING_SKIP_EXIT && !r->timed_out) {
        char *why = kv_get(r->out, "skipped");
        cr_skip_test("io_uring unavailable here: %s", why ? why : "?");
    }
    ASSERT_RUN(r, 0);
    cr_assert_eq(fd_count(), before, "running the lab leaked no fd into the test");
    cr_assert_eq(num(r->out, "claims_shown"), num(r->out, "claims_total"));
}

Test(io_uring, multishot_accept_delivers_n_connections_from_one_submission, .timeout = TEST_TIMEOUT_S)
{
    struct run_result r;
    run13(&r, "-p", "burst", "-n", "100");
    cr_assert_eq(num(r.out, "burst.uring.sqes_submitted"), 1);
    cr_assert_eq(num(r.out, "burst.uring.accepted"), 100);
    cr_assert_eq(num(r.out, "burst.uring.cqes_with_more"), 100, "still armed after every CQE");
    cr_assert_lt(num(r.out, "burst.uring.syscalls"), 100);
    cr_assert_eq(num(r.out, "burst.uring.fd_table_growth"), 100, "plain: real descriptors");
    cr_assert_eq(num(r.out, "burst.epoll.accepted"), 100);
    cr_assert_geq(num(r.out, "burst.epoll.syscalls"), 102, "epoll_wait + 100 accept4 + EAGAIN");
    run_result_free(&r);
}

Test(io_uring, direct_accept_fills_slots_not_the_fd_table, .timeout = TEST_TIMEOUT_S)
{
    struct run_result r;
    run13(&r, "-p", "burst", "-n", "50");
    cr_assert_eq(num(r.out, "burst.direct.sqes_submitted"), 1);
    cr_assert_eq(num(r.out, "burst.direct.accepted"), 50);
    cr_assert_eq(num(r.out, "burst.direct.distinct_slots"), 50);
    cr_assert_eq(num(r.out, "burst.direct.fd_table_growth"), 0);
    run_result_free(&r);
}

Test(io_uring, msg_ring_delivers_a_working_descriptor, .timeout = TEST_TIMEOUT_S)
{
    struct run_result r;
    run13(&r, "-p", "pass", "-n", "16");
    cr_assert_eq(num(r.out, "pass.n"), 64);
    cr_assert_eq(num(r.out, "pass.uring.ok"), 64, "every connection answered by a worker ring");
    cr_assert_eq(num(r.out, "pass.uring.failed"), 0);
    cr_assert(kv_is(r.out, "pass.uring.per_worker", "32,32"), "round-robin over two rings");
    cr_assert_eq(num(r.out, "pass.scm.ok"), 64);
    cr_assert_eq(num(r.out, "pass.fd_table_growth"), 0);
    cr_assert_lt(dnum(r.out, "pass.uring.acceptor_syscalls_per_conn"),
                 dnum(r.out, "pass.scm.acceptor_syscalls_per_conn"));
    cr_assert(kv_is(r.out, "pass.msg_ring.shown", "1"));
    run_result_free(&r);
}

Test(io_uring, msg_ring_reaches_a_process_through_an_inherited_ring, .timeout = TEST_TIMEOUT_S)
{
    struct run_result r;
    run13(&r, "-p", "pass", "-n", "4");
    cr_assert_gt(num(r.out, "pass.process.child_pid"), 0);
    cr_assert_eq(num(r.out, "pass.process.served_by_child"), 1, "the reply named the child");
    run_result_free(&r);
}

Test(io_uring, scm_rights_refuses_a_ring_fd, .timeout = TEST_TIMEOUT_S)
{
    struct run_result r;
    run13(&r, "-p", "pass", "-n", "4");
    cr_assert(kv_is(r.out, "pass.scm_ring.sendmsg", "EINVAL"));
    cr_assert(kv_is(r.out, "pass.scm_eventfd.sendmsg", "ok"), "the control passes");
    cr_assert_eq(num(r.out, "pass.scm_eventfd.arrived"), 1, "and only the control arrives");
    run_result_free(&r);
}

Test(io_uring, ledger_counts_fewer_syscalls_for_io_uring, .timeout = TEST_TIMEOUT_S)
{
    struct run_result r;
    run13(&r, "-p", "ledger", NULL, NULL);
    const char *cases[] = {"epoll.keep", "uring.keep", "epoll.close", "uring.close"};
    for (size_t i = 0; i < 4; i++) {
        char k1[64], k2[64], k3[64];
        snprintf(k1, sizeof k1, "ledger.%s.server_requests", cases[i]);
        snprintf(k2, sizeof k2, "ledger.%s.requests", cases[i]);
        snprintf(k3, sizeof k3, "ledger.%s.cpu_us_per_req", cases[i]);
        cr_assert_eq(num(r.out, k1), num(r.out, k2), "%s: the server saw every request", cases[i]);
        cr_assert_gt(dnum(r.out, k3), 0);
    }
    /* epoll needs a read and a write per kept-alive request at least. */
    cr_assert_geq(dnum(r.out, "ledger.epoll.keep.syscalls_per_req"), 2.0);
    cr_assert_lt(dnum(r.out, "ledger.uring.keep.syscalls_per_req"),
                 dnum(r.out, "ledger.epoll.keep.syscalls_per_req"));
    cr_assert_lt(dnum(r.out, "ledger.uring.close.syscalls_per_req"),
                 dnum(r.out, "ledger.epoll.close.syscalls_per_req"));
    run_result_free(&r);
}

Test(io_uring, one_ledger_case_for_the_bench, .timeout = TEST_TIMEOUT_S)
{
    struct run_result r;
    cr_assert_eq(run_lab(&r, 60, LAB, "lab", "-m", "uring", "-k", "0", "-r", "500", "-c", "4",
                         NULL), 0);
    if (run_exit_code(&r) == RING_SKIP_EXIT)
        cr_skip_test("io_uring unavailable here");
    ASSERT_RUN(&r, 0);
    cr_assert_eq(num(r.out, "ledger.uring.close.requests"), 500);
    cr_assert_eq(num(r.out, "ledger.uring.close.server_requests"), 500);
    cr_assert_null(kv_get(r.out, "ledger.epoll.close.requests"), "only the case asked for");
    run_result_free(&r);
}

/* kernel.io_uring_disabled=2 (read from a file of ours): exit 77, said plainly, no claim. */
Test(io_uring, disabled_io_uring_is_a_skip_not_a_pass, .timeout = TEST_TIMEOUT_S)
{
    char path[] = "/tmp/fdlab13-sysctl-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "2\n", 2), 2);
    cr_assert_eq(close(fd), 0);
    cr_assert_eq(setenv("FDLAB13_SYSCTL", path, 1), 0);
    struct run_result r;
    cr_assert_eq(run_lab(&r, 20, LAB, "lab", NULL), 0);
    cr_assert_eq(unlink(path), 0);
    ASSERT_RUN(&r, RING_SKIP_EXIT);
    cr_assert(kv_is(r.out, "io_uring", "unavailable"));
    char *why = kv_get(r.out, "skipped");
    cr_assert_not_null(why);
    cr_assert_not_null(strstr(why, "io_uring_disabled=2"), "%s", why);
    free(why);
    cr_assert_null(kv_get(r.out, "claims_shown"), "nothing shown, nothing claimed");
    run_result_free(&r);
}
