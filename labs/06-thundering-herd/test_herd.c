/* Tests for lab 06: qualitative claims only, with margins for a busy 2-core machine;
 * wake-up counts are asserted only in the synchronised mode (-S, see run_synced).
 * Each runs the lab binary (run_lab) and reads its key=value lines. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "spawn.h"

#define LAB "06-thundering-herd"

static double kv_double(const char *text, const char *key)
{
    char *v = kv_get(text, key);
    cr_assert_not_null(v, "key %s missing in:\n%s", key, text);
    double d = strtod(v, NULL);
    free(v);
    return d;
}

/* Run one scenario, with the option opt ("-B" gate or "-S" sync) set to val when opt
 * is not NULL; assert it ran cleanly (every connection served, every worker
 * reported, nothing left running). The caller frees r. */
static void run_opt(struct run_result *r, const char *mode, const char *workers,
                    const char *conns, const char *conc, const char *opt, const char *val)
{
    /* Without opt the NULL after "-c conc" ends the argument list. */
    cr_assert_eq(run_lab(r, 60, LAB, "lab", "-m", mode, "-w", workers, "-n", conns, "-c", conc,
                         opt, val, NULL),
                 0);
    ASSERT_RUN(r, 0);
    char key[64];
    long v;
    snprintf(key, sizeof key, "%s.n%s.conns", mode, workers);
    cr_assert_eq(kv_long(r->out, key, &v), 0);
    cr_assert_eq(v, atol(conns), "every connection accepted once");
    snprintf(key, sizeof key, "%s.n%s.errors", mode, workers);
    cr_assert_eq(kv_long(r->out, key, &v), 0);
    cr_assert_eq(v, 0);
    snprintf(key, sizeof key, "%s.n%s.reported", mode, workers);
    cr_assert_eq(kv_long(r->out, key, &v), 0);
    cr_assert_eq(v, atol(workers));
}

static void run_one(struct run_result *r, const char *mode, const char *workers,
                    const char *conns, const char *conc)
{
    run_opt(r, mode, workers, conns, conc, NULL, NULL);
}

static void run_gated(struct run_result *r, const char *mode, const char *workers,
                      const char *conns, const char *conc, const char *gate_ms)
{
    run_opt(r, mode, workers, conns, conc, "-B", gate_ms);
}

/* The synchronised mode (-S 200, one connection at a time): each connection is sent
 * only once every worker sleeps in accept/epoll_wait (or after 200 ms of waiting for
 * that). A worker that is runnable but not yet back asleep is not on the wait queue
 * and cannot be "woken", so how many are woken is only defined when they all sleep:
 * the claims hold for connections sent under that precondition, and the test
 * requires it for at least 90% of them (else it fails saying so, naming the count). */
static void run_synced(struct run_result *r, const char *mode, const char *workers,
                       const char *conns)
{
    run_opt(r, mode, workers, conns, "1", "-S", "200");
    char key[64];
    long asleep, not_asleep;
    snprintf(key, sizeof key, "%s.n%s.all_asleep_conns", mode, workers);
    cr_assert_eq(kv_long(r->out, key, &asleep), 0, "key %s missing in:\n%s", key, r->out);
    snprintf(key, sizeof key, "%s.n%s.not_asleep_conns", mode, workers);
    cr_assert_eq(kv_long(r->out, key, &not_asleep), 0, "key %s missing in:\n%s", key, r->out);
    cr_assert_eq(asleep + not_asleep, atol(conns), "every connection counted once");
    cr_assert_geq(asleep * 10, atol(conns) * 9,
                  "precondition failed: only %ld of %s connections (%s, %s workers) were sent "
                  "with every worker asleep in its blocking call; the wake-up count is not "
                  "defined for the others",
                  asleep, conns, mode, workers);
}

Test(herd, blocking_accept_wakes_about_one_worker_per_connection, .timeout = 120)
{
    struct run_result r;
    run_synced(&r, "accept", "8", "300");
    double w = kv_double(r.out, "accept.n8.wakeups_per_conn");
    cr_assert_leq(w, 1.5, "exclusive wait: one waiter woken per connection (got %.3f)", w);
    cr_assert_geq(w, 0.9, "the one sleeping in accept() is woken (got %.3f)", w);
    cr_assert_eq(kv_double(r.out, "accept.n8.eagain_per_conn"), 0,
                 "a blocking accept never sees EAGAIN");
    run_result_free(&r);
}

Test(herd, epoll_per_worker_wakes_more_workers_as_n_grows, .timeout = 120)
{
    struct run_result r1, r8;
    run_synced(&r1, "epoll", "1", "300");
    run_synced(&r8, "epoll", "8", "300");
    double w1 = kv_double(r1.out, "epoll.n1.wakeups_per_conn");
    double w8 = kv_double(r8.out, "epoll.n8.wakeups_per_conn");
    cr_assert_leq(w1, 1.5, "one worker: one wake-up (got %.3f)", w1);
    /* All 8 asleep: each of the 8 epoll instances on the listener's queue is woken,
     * so 8 per connection (a little less only for connections where the
     * precondition did not hold or a worker's 1 s epoll timeout fired in between). */
    cr_assert_geq(w8, 4.0, "eight sleeping epoll instances: all woken per connection (got %.3f)",
                  w8);
    cr_assert_geq(w8, w1 + 1.0, "N=8 (%.3f) clearly above N=1 (%.3f)", w8, w1);
    run_result_free(&r1);
    run_result_free(&r8);
}

/* In the plain epoll mode EAGAIN depends on a race (a loser must re-check the
 * listener before the winner accepts; most re-check later, inside epoll_wait, and
 * sleep again unseen — see the note), so no test asserts it there. With the gate
 * (-B) every woken worker reaches accept() while the connection is still queued and
 * nobody serves before all have tried, so with one connection at a time the N - 1
 * losers get EAGAIN for every connection: exactly N - 1 per connection when no gate
 * wait timed out (a worker kept off the CPU for 200 ms), and still at least 1 when
 * some did. Blocking accept never sees EAGAIN. */
Test(herd, epoll_losers_get_eagain, .timeout = 120)
{
    struct run_result r;
    run_gated(&r, "epoll", "4", "300", "1", "200");
    long timeouts;
    cr_assert_eq(kv_long(r.out, "epoll.n4.gate_timeouts", &timeouts), 0);
    double e = kv_double(r.out, "epoll.n4.eagain_per_conn");
    double w = kv_double(r.out, "epoll.n4.returns_per_conn");
    if (timeouts == 0) {
        cr_assert_eq(e, 3.0, "every one of the 3 losers got EAGAIN for every connection (%.3f)",
                     e);
        cr_assert_eq(w, 4.0, "all 4 workers returned from epoll_wait per connection (%.3f)", w);
    }
    cr_assert_geq(e, 1.0, "woken losers got EAGAIN (%.3f, %ld gate timeouts)", e, timeouts);
    run_result_free(&r);
    run_one(&r, "accept", "8", "1000", "4");
    cr_assert_eq(kv_double(r.out, "accept.n8.eagain_per_conn"), 0);
    run_result_free(&r);
}

Test(herd, concurrent_load_is_fully_served_in_both_modes, .timeout = 120)
{
    struct run_result r;
    run_one(&r, "accept", "4", "400", "4");
    run_result_free(&r);
    run_one(&r, "epoll", "4", "400", "4");
    run_result_free(&r);
}

/* The lab's sweep, synchronised (-S): its verdict (accept ~1, epoll growing with N)
 * must hold, and the precondition must have held for >= 90% of every scenario's
 * connections. */
Test(herd, the_sweep_shows_the_herd, .timeout = 120)
{
    struct run_result r;
    cr_assert_eq(run_lab(&r, 110, LAB, "lab", "-S", "200", "-n", "100", NULL), 0);
    ASSERT_RUN(&r, RUN_ANY_EXIT);
    static const char *const modes[] = {"accept", "epoll"};
    static const int ns[] = {1, 2, 4, 8, 16};
    for (int m = 0; m < 2; m++)
        for (int i = 0; i < 5; i++) {
            char key[64];
            long asleep;
            snprintf(key, sizeof key, "%s.n%d.all_asleep_conns", modes[m], ns[i]);
            cr_assert_eq(kv_long(r.out, key, &asleep), 0, "key %s missing in:\n%s", key, r.out);
            cr_assert_geq(asleep, 90,
                          "precondition failed: only %ld of 100 connections (%s, %d workers) "
                          "were sent with every worker asleep",
                          asleep, modes[m], ns[i]);
        }
    cr_assert_eq(run_exit_code(&r), 0, "out:\n%s\nerr:\n%s", r.out, r.err);
    cr_assert(kv_is(r.out, "result", "herd_shown"));
    cr_assert(kv_is(r.out, "claim.accept_wakes_one", "1"));
    cr_assert(kv_is(r.out, "claim.epoll_wakes_many", "1"));
    /* The explanation claims EAGAIN only when this run showed it. */
    if (!kv_is(r.out, "claim.epoll_losers_get_eagain", "1"))
        cr_assert_null(strstr(r.out, "failed with EAGAIN"), "out:\n%s", r.out);
    else
        cr_assert_not_null(strstr(r.out, "failed with EAGAIN"), "out:\n%s", r.out);
    run_result_free(&r);
}

/* The plain sweep (what `make lab-6` shows): how many workers are asleep when a
 * connection arrives depends on scheduling there, so only its consistency is asserted:
 * it runs cleanly, and its exit code matches its verdict. */
Test(herd, the_plain_sweep_runs_and_its_verdict_matches_its_exit_code, .timeout = 120)
{
    struct run_result r;
    cr_assert_eq(run_lab(&r, 110, LAB, "lab", NULL), 0);
    ASSERT_RUN(&r, RUN_ANY_EXIT);
    int rc = run_exit_code(&r);
    cr_assert(rc == 0 || rc == 1, "exit %d, err:\n%s", rc, r.err);
    cr_assert(kv_is(r.out, "result", rc == 0 ? "herd_shown" : "not_shown"), "out:\n%s", r.out);
    cr_assert_null(strstr(r.out, "all_asleep_conns"), "no synchronisation without -S");
    run_result_free(&r);
}

Test(herd, bad_usage_exits_2, .timeout = 120)
{
    cr_assert_eq(run_lab_exit(20, LAB, "lab", "-m", "select", NULL), 2);
    /* -S makes one connection at a time: it refuses -c > 1. */
    cr_assert_eq(run_lab_exit(20, LAB, "lab", "-m", "epoll", "-S", "200", "-c", "4", NULL), 2);
}
