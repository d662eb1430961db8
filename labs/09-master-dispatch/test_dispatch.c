/* Tests for lab 09. The policies are checked directly (no processes, exact; the
 * channel is common/runtime/channel.h, tested in common/runtime/test_channel.c); the lab's shapes
 * by running the lab binary and reading its key=value lines, with margins for a
 * busy 2-core machine — never timing. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdcount.h"
#include "fdpass.h"
#include "kv.h"
#include "lib/policy.h"
#include "spawn.h"

#define LAB "09-master-dispatch"

/* ------------------------------------------------------------------ policies */

static struct pick_state state(int n)
{
    struct pick_state s;
    memset(&s, 0, sizeof s);
    s.n = n;
    for (int i = 0; i < n; i++)
        s.alive[i] = 1;
    return s;
}

Test(policy, first_idle_scans_from_slot_0_and_waits_when_none_is_idle, .timeout = 120)
{
    struct pick_state s = state(4);
    cr_assert_eq(policy_pick(POL_FIRST_IDLE, &s), 0, "all idle: slot 0");
    cr_assert_eq(policy_pick(POL_FIRST_IDLE, &s), 0, "nothing recorded: still slot 0");
    s.active[0] = 1;
    s.active[1] = 2;
    cr_assert_eq(policy_pick(POL_FIRST_IDLE, &s), 2);
    s.alive[2] = 0;
    cr_assert_eq(policy_pick(POL_FIRST_IDLE, &s), 3, "a dead worker is skipped");
    s.active[3] = 1;
    cr_assert_eq(policy_pick(POL_FIRST_IDLE, &s), -1, "none idle: the master must wait");
}

Test(policy, round_robin_counts_differ_by_at_most_one, .timeout = 120)
{
    struct pick_state s = state(5);
    long count[5] = {0};
    srand(9);
    for (int k = 0; k < 1003; k++) {
        for (int i = 0; i < 5; i++) /* busy or not does not matter to round-robin */
            s.active[i] = rand() % 3;
        int slot = policy_pick(POL_ROUND_ROBIN, &s);
        cr_assert(slot >= 0 && slot < 5);
        cr_assert_eq(slot, k % 5, "strict rotation");
        count[slot]++;
        long max = count[0], min = count[0];
        for (int i = 1; i < 5; i++) {
            max = count[i] > max ? count[i] : max;
            min = count[i] < min ? count[i] : min;
        }
        cr_assert_leq(max - min, 1, "after %d picks", k + 1);
    }
    s.alive[1] = 0;
    s.next = 1;
    cr_assert_eq(policy_pick(POL_ROUND_ROBIN, &s), 2, "a dead worker is skipped");
    for (int i = 0; i < 5; i++)
        s.alive[i] = 0;
    cr_assert_eq(policy_pick(POL_ROUND_ROBIN, &s), -1);
}

Test(policy, least_loaded_takes_the_minimum_lowest_slot_on_ties, .timeout = 120)
{
    struct pick_state s = state(4);
    long active[4] = {3, 1, 2, 1};
    memcpy(s.active, active, sizeof active);
    cr_assert_eq(policy_pick(POL_LEAST_LOADED, &s), 1);
    s.alive[1] = 0;
    cr_assert_eq(policy_pick(POL_LEAST_LOADED, &s), 3);
    for (int i = 0; i < 4; i++)
        s.active[i] = 7;
    s.alive[1] = 1;
    cr_assert_eq(policy_pick(POL_LEAST_LOADED, &s), 0, "never -1 while a worker lives: it queues");
    /* Placing 8 connections on idle workers, recording each, spreads them 2 each. */
    memset(s.active, 0, sizeof s.active);
    for (int k = 0; k < 8; k++)
        s.active[policy_pick(POL_LEAST_LOADED, &s)]++;
    for (int i = 0; i < 4; i++)
        cr_assert_eq(s.active[i], 2);
}

Test(policy, names_round_trip, .timeout = 120)
{
    for (int p = 0; p < POL_COUNT; p++)
        cr_assert_eq(policy_parse(policy_name((enum policy)p)), p);
    cr_assert_eq(policy_parse("random"), -1);
    cr_assert_eq(policy_pick(POL_SELF, &(struct pick_state){.n = 1, .alive = {1}}), -1);
}

/* ------------------------------------------------------------------ the lab */

static long key(const char *out, const char *mode, const char *c, const char *name)
{
    char k[96];
    snprintf(k, sizeof k, "%s.c%s.%s", mode, c, name);
    return KV_LONG(out, k);
}

/* Run one scenario; assert it was clean (every request answered by the worker that
 * X-Worker names, every worker reported and exited on its own, no fd leaked, no
 * process left). The caller frees r. */
static void run_one(struct run_result *r, const char *mode, const char *workers,
                    const char *conns, const char *conc)
{
    cr_assert_eq(run_lab(r, 100, LAB, "lab", "-m", mode, "-w", workers, "-n", conns, "-c", conc,
                         NULL),
                 0);
    ASSERT_RUN(r, 0);
    cr_assert_eq(key(r->out, mode, conc, "clean"), 1);
    cr_assert_eq(key(r->out, mode, conc, "conns"), atol(conns));
    cr_assert_eq(key(r->out, mode, conc, "errors"), 0);
    cr_assert_eq(key(r->out, mode, conc, "reported"), atol(workers));
    cr_assert_eq(key(r->out, mode, conc, "worker_fd_leaks"), 0);
}

static long worker(const char *out, const char *mode, const char *c, int i)
{
    char name[32];
    snprintf(name, sizeof name, "worker.%d", i);
    return key(out, mode, c, name);
}

Test(lab, first_idle_gives_worker_0_the_largest_share_at_low_load, .timeout = 120)
{
    struct run_result r;
    run_one(&r, "first_idle", "4", "300", "1");
    long w0 = worker(r.out, "first_idle", "1", 0);
    for (int i = 1; i < 4; i++)
        cr_assert_geq(w0, worker(r.out, "first_idle", "1", i), "worker 0 >= worker %d", i);
    cr_assert_gt(w0 * 4, 300, "more than an even share (got %ld of 300)", w0);
    run_result_free(&r);
}

Test(lab, round_robin_is_even_by_construction, .timeout = 120)
{
    const char *concs[] = {"1", "8"};
    for (int k = 0; k < 2; k++) {
        struct run_result r;
        run_one(&r, "round_robin", "4", "301", concs[k]);
        cr_assert_leq(key(r.out, "round_robin", concs[k], "spread"), 1);
        cr_assert_eq(key(r.out, "round_robin", concs[k], "used"), 4);
        run_result_free(&r);
    }
}

Test(lab, least_loaded_uses_every_worker_under_concurrency, .timeout = 120)
{
    struct run_result r;
    run_one(&r, "least_loaded", "4", "300", "8");
    cr_assert_eq(key(r.out, "least_loaded", "8", "used"), 4);
    for (int i = 0; i < 4; i++)
        cr_assert_gt(worker(r.out, "least_loaded", "8", i), 0);
    run_result_free(&r);
}

Test(lab, the_master_fd_count_is_unchanged_after_all_connections, .timeout = 120)
{
    const char *modes[] = {"first_idle", "round_robin", "least_loaded"};
    for (int k = 0; k < 3; k++) {
        struct run_result r;
        run_one(&r, modes[k], "3", "500", "4");
        long before = key(r.out, modes[k], "4", "master_fds_before");
        long after = key(r.out, modes[k], "4", "master_fds_after");
        /* at least listener + control socket + epoll + one channel per worker (plus
         * whatever the master inherited, e.g. stdio) */
        cr_assert_geq(before, 3 + 3, "%s: %ld", modes[k], before);
        cr_assert_eq(after, before, "%s: every passed descriptor closed", modes[k]);
        run_result_free(&r);
    }
}

Test(lab, first_idle_stops_accepting_when_no_worker_is_idle, .timeout = 120)
{
    struct run_result r;
    run_one(&r, "first_idle", "1", "200", "4");
    cr_assert_gt(key(r.out, "first_idle", "4", "paused"), 0);
    cr_assert_eq(worker(r.out, "first_idle", "4", 0), 200);
    run_result_free(&r);
}

Test(lab, the_self_accept_baseline_serves_everything, .timeout = 120)
{
    struct run_result r;
    run_one(&r, "self", "4", "300", "4");
    run_result_free(&r);
}

Test(lab, the_sweep_shows_every_claim, .timeout = 120)
{
    struct run_result r;
    cr_assert_eq(run_lab(&r, 110, LAB, "lab", NULL), 0);
    ASSERT_RUN(&r, 0);
    cr_assert(kv_is(r.out, "result", "dispatch_shown"));
    cr_assert(kv_is(r.out, "claim.first_idle_skews_to_worker0", "1"));
    cr_assert(kv_is(r.out, "claim.round_robin_even", "1"));
    cr_assert(kv_is(r.out, "claim.least_loaded_uses_all", "1"));
    cr_assert(kv_is(r.out, "claim.master_fds_unchanged", "1"));
    run_result_free(&r);
}

Test(lab, bad_usage_exits_2, .timeout = 120)
{
    cr_assert_eq(run_lab_exit(20, LAB, "lab", "-m", "random", NULL), 2);
    cr_assert_eq(run_lab_exit(20, LAB, "lab", "-w", "0", NULL), 2);
}

/* FDLAB_DRAW (make lab-9 DRAW=1): worker 1 pauses once for the master to draw it, the
 * run stays clean, and the picture shows the connection in both tables. */
Test(lab, picture_of_a_hand_over, .timeout = 120)
{
    char dir[] = "/tmp/fdlab-09-draw-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(setenv("FDLAB_DRAW", dir, 1), 0);
    struct run_result r;
    run_one(&r, "round_robin", "4", "40", "1");
    run_result_free(&r);
    char path[128];
    snprintf(path, sizeof path, "%s/09-master-dispatch-handover.dot", dir);
    FILE *f = fopen(path, "re");
    cr_assert_not_null(f, "no %s", path);
    char *text = calloc(1, 1 << 16);
    cr_assert_not_null(text);
    cr_assert_gt(fread(text, 1, (1 << 16) - 1, f), 0);
    fclose(f);
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(rmdir(dir), 0);
    cr_assert_not_null(strstr(text, "fd table of worker 1"));
    cr_assert_not_null(strstr(text, "received over the channel"), "the passed connection is found in the worker");
    free(text);
}
