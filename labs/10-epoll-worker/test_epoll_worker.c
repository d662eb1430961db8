/* Tests for lab 10. Most run the lab binary (run_lab) and read its key=value
 * lines; the in-process ones call the scenario functions directly to check that
 * they leave no descriptor behind. Counts only, never timing: the stalls are made
 * deterministic by the programs (both connections queued / the whole request
 * received before the first epoll_wait), and a stall is bounded by the server's
 * 1 s quiet period, not measured. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "fdcount.h"
#include "kv.h"
#include "lib/ew.h"
#include "spawn.h"

#define LAB "10-epoll-worker"

static long kv_num(const char *text, const char *key)
{
    return KV_LONG(text, key);
}

static void run_ok(struct run_result *r, const char *scenario)
{
    cr_assert_eq(run_lab(r, 100, LAB, "lab", "-s", scenario, NULL), 0);
    ASSERT_RUN(r, 0);
    cr_assert(kv_is(r->out, "result", "shown"));
}

Test(epoll_worker, level_triggered_repeats_edge_triggered_notifies_once_per_arrival,
     .timeout = 120)
{
    struct run_result r;
    run_ok(&r, "ltet");
    long arrivals = kv_num(r.out, "ltet.arrivals");
    long per = kv_num(r.out, "ltet.per_arrival"), chunk = kv_num(r.out, "ltet.chunk");
    cr_assert_eq(kv_num(r.out, "lt.notifications"), arrivals * per / chunk,
                 "LT: one notification per chunk while data remains");
    cr_assert_eq(kv_num(r.out, "lt.bytes_left"), 0);
    cr_assert_eq(kv_num(r.out, "et.notifications"), arrivals, "ET: one per arrival");
    cr_assert_eq(kv_num(r.out, "et.bytes_read"), arrivals * chunk);
    cr_assert_eq(kv_num(r.out, "et.bytes_left"), arrivals * (per - chunk),
                 "ET: the rest stays unread and unannounced");
    cr_assert(kv_is(r.out, "claim.lt_repeats", "1"));
    cr_assert(kv_is(r.out, "claim.et_once_per_arrival", "1"));
    run_result_free(&r);
}

Test(epoll_worker, edge_triggered_without_draining_stalls, .timeout = 120)
{
    struct run_result r;
    run_ok(&r, "stall");
    /* one accept per edge: two queued connections, one edge, one served */
    cr_assert_eq(kv_num(r.out, "stall.accept.one.notifications"), 1);
    cr_assert_eq(kv_num(r.out, "stall.accept.one.accepted"), 1);
    cr_assert_eq(kv_num(r.out, "stall.accept.one.served"), 1);
    cr_assert_eq(kv_num(r.out, "stall.accept.one.queued_after"), 1,
                 "the second client waits in the accept queue, unannounced");
    /* accept until EAGAIN: both */
    cr_assert_eq(kv_num(r.out, "stall.accept.drain.accepted"), 2);
    cr_assert_eq(kv_num(r.out, "stall.accept.drain.served"), 2);
    cr_assert_eq(kv_num(r.out, "stall.accept.drain.queued_after"), 0);
    /* one read per edge: the request stays three quarters unread */
    long req = kv_num(r.out, "stall.read.one.req_bytes");
    long buf = kv_num(r.out, "stall.read.buf_bytes");
    cr_assert_eq(kv_num(r.out, "stall.read.one.notifications"), 1);
    cr_assert_eq(kv_num(r.out, "stall.read.one.bytes_read"), buf);
    cr_assert_eq(kv_num(r.out, "stall.read.one.bytes_left"), req - buf);
    cr_assert_eq(kv_num(r.out, "stall.read.one.served"), 0);
    cr_assert_eq(kv_num(r.out, "stall.read.drain.bytes_read"), req);
    cr_assert_eq(kv_num(r.out, "stall.read.drain.bytes_left"), 0);
    cr_assert_eq(kv_num(r.out, "stall.read.drain.served"), 1);
    run_result_free(&r);
}

Test(epoll_worker, large_response_survives_partial_writes, .timeout = 120)
{
    struct run_result r;
    run_ok(&r, "bigwrite");
    long big = kv_num(r.out, "bigwrite.bytes");
    cr_assert_eq(big, 8L << 20);
    cr_assert_eq(kv_num(r.out, "bigwrite.bytes_received"), big, "every byte arrived");
    char *s1 = kv_get(r.out, "bigwrite.sum_sent"), *s2 = kv_get(r.out, "bigwrite.sum_received");
    cr_assert_not_null(s1);
    cr_assert_not_null(s2);
    cr_assert_str_eq(s1, s2, "same bytes in the same order");
    free(s1);
    free(s2);
    cr_assert_geq(kv_num(r.out, "bigwrite.short_writes") + kv_num(r.out, "bigwrite.eagain"), 1);
    cr_assert_geq(kv_num(r.out, "bigwrite.eagain"), 1, "8 MiB never fits an 8 KiB buffer");
    cr_assert_geq(kv_num(r.out, "bigwrite.epollout_wakeups"), 1);
    cr_assert_lt(kv_num(r.out, "bigwrite.sndbuf_got"), big);
    run_result_free(&r);
}

Test(epoll_worker, ten_thousand_idle_connections, .timeout = 120)
{
    struct run_result r;
    run_ok(&r, "idle");
    long n = kv_num(r.out, "idle.n");
    long limited = kv_num(r.out, "idle.limited");
    if (!limited)
        cr_assert_eq(n, 10000, "not limited: all 10,000");
    else
        cr_assert_lt(n, 10000);
    cr_assert_eq(kv_num(r.out, "idle.connected"), n);
    cr_assert_eq(kv_num(r.out, "idle.accepted"), n, "every connection accepted");
    cr_assert_eq(kv_num(r.out, "idle.served"), n, "every connection served its ping");
    long base = kv_num(r.out, "idle.fd_baseline");
    cr_assert_geq(kv_num(r.out, "idle.fd_peak"), base + n, "all open at once");
    cr_assert_eq(kv_num(r.out, "idle.fd_after"), base, "fd count back to baseline");
    cr_assert_eq(kv_num(r.out, "idle.client_status"), 0);
    /* memory is printed; its value depends on the machine: only that it is there */
    kv_num(r.out, "idle.rss_per_conn_bytes");
    kv_num(r.out, "idle.slab_per_conn_pair_bytes");
    run_result_free(&r);
}

Test(epoll_worker, idle_with_fewer_connections, .timeout = 120)
{
    /* A smaller count exercises the same path quickly (and the -n option). */
    struct run_result r;
    cr_assert_eq(run_lab(&r, 100, LAB, "lab", "-s", "idle", "-n", "300", NULL), 0);
    ASSERT_RUN(&r, 0);
    cr_assert_eq(kv_num(r.out, "idle.accepted"), 300);
    cr_assert_eq(kv_num(r.out, "idle.served"), 300);
    run_result_free(&r);
}

Test(epoll_worker, scenarios_leave_no_descriptor_behind, .timeout = 120)
{
    int before = fd_count();
    cr_assert_geq(before, 0);
    struct ltet_result lt;
    ew_ltet(1, &lt);
    cr_assert_eq(fd_count(), before);
    struct stall_result st;
    ew_stall_accept(0, &st); /* the stalled client is closed too */
    cr_assert_eq(st.queued_after, 1);
    cr_assert_eq(fd_count(), before);
    ew_stall_read(0, &st);
    cr_assert_eq(fd_count(), before);
    struct bigwrite_result bw;
    ew_bigwrite(&bw);
    cr_assert_eq(bw.completed, 1);
    cr_assert_eq(fd_count(), before);
}

Test(epoll_worker, whole_lab_shows_its_claims, .timeout = 120)
{
    struct run_result r;
    cr_assert_eq(run_lab(&r, 110, LAB, "lab", NULL), 0);
    ASSERT_RUN(&r, 0);
    cr_assert(kv_is(r.out, "result", "shown"));
    const char *claims[] = {"lt_repeats",        "et_once_per_arrival", "accept_one_stalls",
                            "accept_drain_serves", "read_one_stalls",   "read_drain_serves",
                            "bigwrite_partial",  "bigwrite_exact",      "idle_all_served",
                            "idle_fds_back"};
    for (size_t i = 0; i < sizeof claims / sizeof claims[0]; i++) {
        char key[64];
        snprintf(key, sizeof key, "claim.%s", claims[i]);
        cr_assert(kv_is(r.out, key, "1"), "%s", key);
    }
    run_result_free(&r);
}

Test(epoll_worker, bad_usage_exits_2, .timeout = 120)
{
    cr_assert_eq(run_lab_exit(20, LAB, "lab", "-s", "select", NULL), 2);
    cr_assert_eq(run_lab_exit(20, LAB, "lab", "-n", "0", NULL), 2);
}
