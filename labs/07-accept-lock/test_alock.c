/* Tests for lab 07: behaviour only (never timing). Each runs the lab's programs
 * (run_lab) and reads their key=value lines. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "kv.h"
#include "spawn.h"

#define LAB "07-accept-lock"

static long kvl(const struct run_result *r, const char *key)
{
    return KV_LONG(r->out, key);
}

static double kvd(const struct run_result *r, const char *key)
{
    char *v = kv_get(r->out, key);
    cr_assert_not_null(v, "key %s missing in:\n%s", key, r->out);
    double d = strtod(v, NULL);
    free(v);
    return d;
}

/* Run `alock` with the given arguments; assert it ran to the end, left nothing
 * running, and that every request was answered (exit 0). The caller frees r. */
#define ALOCK(r, ...)                                                                       \
    do {                                                                                    \
        cr_assert_eq(run_lab(r, 90, LAB, "alock", __VA_ARGS__, NULL), 0);                   \
        ASSERT_RUN(r, 0); \
        cr_assert_eq(kvl(r, "errors"), 0, "the load client saw every request answered");    \
        cr_assert_eq(kvl(r, "forced_kills"), 0, "every worker stopped when asked");         \
    } while (0)

Test(lab, runs_and_every_claim_holds, .timeout = 120)
{
    struct run_result r;
    cr_assert_eq(run_lab(&r, 110, LAB, "lab", "-q", NULL), 0);
    ASSERT_RUN(&r, 0);
    const char *claims[] = {"claim.herd_without_lock", "claim.one_waiter_with_lock",
                            "claim.holder_death_recovered", "claim.outside_kill_recovered",
                            "claim.ownerdead_only_for_mutex",
                            "claim.throttle"};
    for (size_t i = 0; i < sizeof claims / sizeof *claims; i++)
        cr_assert(kv_is(r.out, claims[i], "1"), "%s", claims[i]);
    cr_assert_eq(kvl(&r, "parent_fds_leaked"), 0, "alock_run closes all it opened");
    run_result_free(&r);
}

Test(lab, herd_without_lock_several_workers_wait_and_wake_per_connection, .timeout = 120)
{
    struct run_result r;
    ALOCK(&r, "-m", "none", "-w", "4", "-n", "300", "-c", "1");
    cr_assert_eq(kvl(&r, "accepted"), 300);
    cr_assert_geq(kvl(&r, "max_waiters"), 2, "every idle worker waits on the listener");
    double w = kvd(&r, "accept_wakeups_per_conn");
    cr_assert_gt(w, 1.0, "one connection wakes more than one worker (got %.3f)", w);
    run_result_free(&r);
}

/* With any lock: one waiter on the listener at a time, no wake-up finds it empty. */
static void one_waiter(const char *method)
{
    struct run_result r;
    ALOCK(&r, "-m", method, "-w", "4", "-n", "300", "-c", "1");
    cr_assert_eq(kvl(&r, "accepted"), 300, "every connection accepted exactly once");
    cr_assert_eq(kvl(&r, "max_waiters"), 1, "%s: never two workers on the listener", method);
    cr_assert_eq(kvl(&r, "empty_wakeups"), 0, "%s: no wake-up for nothing", method);
    cr_assert_geq(kvl(&r, "lock_taken"), 300, "every accept happened under the lock");
    cr_assert_eq(kvl(&r, "reported"), 4);
    run_result_free(&r);
}

Test(lock, fcntl_one_waiter, .timeout = 120) { one_waiter("fcntl"); }
Test(lock, ofd_one_waiter, .timeout = 120) { one_waiter("ofd"); }
Test(lock, pmutex_one_waiter, .timeout = 120) { one_waiter("pmutex"); }
Test(lock, nginx_one_waiter, .timeout = 120) { one_waiter("nginx"); }

Test(lock, blocking_accept_under_lock_never_sees_eagain, .timeout = 120)
{
    struct run_result r;
    ALOCK(&r, "-m", "pmutex", "-w", "4", "-n", "200", "-c", "4");
    cr_assert_eq(kvl(&r, "eagain"), 0);
    cr_assert_eq(kvl(&r, "max_waiters"), 1);
    run_result_free(&r);
}

/* Kill the holder mid-run (respawn on): it died holding the lock, the next holder
 * saw it, the others went on, and the client lost nothing. */
static void kill_holder(const char *method, const char *workers, int robust)
{
    struct run_result r;
    ALOCK(&r, "-m", method, "-w", workers, "-n", "300", "-c", "4", "-k", "100", "-r");
    cr_assert_eq(kvl(&r, "ok"), 300);
    cr_assert_eq(kvl(&r, "killed"), 1, "%s: exactly one worker died by SIGKILL", method);
    cr_assert_eq(kvl(&r, "victim_held_lock"), 1, "%s: it died holding the lock", method);
    cr_assert_eq(kvl(&r, "successor_saw_dead_holder"), 1, "%s: the lock came back", method);
    long after = kvl(&r, "accepted_after_kill");
    cr_assert(after > 0 && after <= 200, "%s: the others accepted the rest (%ld)", method, after);
    cr_assert_eq(kvl(&r, "respawned"), 1);
    cr_assert_eq(kvl(&r, "started"), atoi(workers) + 1);
    cr_assert_eq(kvl(&r, "reported"), atoi(workers), "all but the victim finished cleanly");
    cr_assert_eq(kvl(&r, "ownerdead"), robust,
                 "%s: EOWNERDEAD %s", method, robust ? "reaches one successor" : "never (kernel lock)");
    cr_assert_eq(kvl(&r, "serve_errors"), 0, "nothing accepted was left unserved");
    run_result_free(&r);
}

Test(kill, fcntl_holder_dies, .timeout = 120) { kill_holder("fcntl", "3", 0); }
Test(kill, ofd_holder_dies, .timeout = 120) { kill_holder("ofd", "3", 0); }
Test(kill, pmutex_holder_dies, .timeout = 120) { kill_holder("pmutex", "3", 1); }
Test(kill, nginx_holder_dies, .timeout = 120) { kill_holder("nginx", "3", 1); }

/* A single worker dies holding the lock: only its replacement can take it over. */
Test(kill, sole_worker_replacement_takes_the_dead_lock_fcntl, .timeout = 120)
{
    kill_holder("fcntl", "1", 0);
}
Test(kill, sole_worker_replacement_takes_the_dead_lock_pmutex, .timeout = 120)
{
    kill_holder("pmutex", "1", 1);
}

/* Killed from outside, at a moment the victim did not choose: the client pauses after
 * 100 requests (all answered, so nothing is queued), the parent SIGKILLs the lock
 * holder while it sleeps in accept() holding the lock, then the client sends the other
 * 200. Not one connection is lost: every one of the 300 was accepted exactly once
 * and answered, the successor took the dead holder's lock and accepted the rest. */
static void outside_kill(const char *method, int robust)
{
    struct run_result r;
    ALOCK(&r, "-m", method, "-w", "3", "-n", "300", "-c", "4", "-k", "100", "-K", "-r");
    cr_assert_eq(kvl(&r, "ok"), 300);
    cr_assert_eq(kvl(&r, "accepted"), 300, "%s: every connection accepted once", method);
    cr_assert_eq(kvl(&r, "killed"), 1, "%s: exactly one worker died by SIGKILL", method);
    cr_assert_eq(kvl(&r, "victim_in_accept"), 1, "%s: killed blocked in accept()", method);
    cr_assert_eq(kvl(&r, "victim_held_lock"), 1, "%s: it held the lock", method);
    cr_assert_eq(kvl(&r, "successor_saw_dead_holder"), 1, "%s: the lock came back", method);
    cr_assert_eq(kvl(&r, "accepted_after_kill"), 200, "%s: the others took the rest", method);
    cr_assert_eq(kvl(&r, "respawned"), 1);
    cr_assert_eq(kvl(&r, "reported"), 3, "all but the victim finished cleanly");
    cr_assert_eq(kvl(&r, "ownerdead"), robust, "%s", method);
    cr_assert_eq(kvl(&r, "serve_errors"), 0, "nothing accepted was left unserved");
    cr_assert_eq(kvl(&r, "max_waiters"), 1, "still one waiter at a time");
    run_result_free(&r);
}

Test(kill, fcntl_holder_killed_from_outside_in_accept, .timeout = 120)
{
    outside_kill("fcntl", 0);
}

Test(kill, pmutex_holder_killed_from_outside_in_accept, .timeout = 120)
{
    outside_kill("pmutex", 1);
}

Test(kill, without_respawn_the_others_serve_everything, .timeout = 120)
{
    struct run_result r;
    ALOCK(&r, "-m", "pmutex", "-w", "2", "-n", "300", "-c", "4", "-k", "50");
    cr_assert_eq(kvl(&r, "ok"), 300);
    cr_assert_eq(kvl(&r, "killed"), 1);
    cr_assert_eq(kvl(&r, "respawned"), 0);
    cr_assert_eq(kvl(&r, "started"), 2);
    cr_assert_eq(kvl(&r, "ownerdead"), 1);
    run_result_free(&r);
}

/* nginx's 7/8 rule, apart from the hard limit. Worker 0 takes all the idle
 * connections (the others start once it has them), then 60 requests come, 2 in flight,
 * so worker 0 holds at most idle + 2 connections: never its limit of 32. With 29 idle
 * it holds more than 7/8 (28) of it after its 29th accept, so accept_disabled =
 * 32/8 - free > 0 and it must skip the mutex for that reason alone: disabled_skips > 0,
 * limit_skips == 0. With 26 idle it never holds more than 28 (7/8 exactly, where
 * accept_disabled = 0): no skip at all. Removing the formula fails the first case,
 * a threshold below 7/8 fails the second. */
static void throttle(const char *idle, int throttled)
{
    struct run_result r;
    ALOCK(&r, "-m", "nginx", "-w", "2", "-n", "60", "-c", "2", "-L", "32", "-D", "5", "-i",
          idle);
    cr_assert_eq(kvl(&r, "ok"), 60);
    cr_assert_eq(kvl(&r, "accepted"), 60 + atol(idle));
    if (throttled)
        cr_assert_gt(kvl(&r, "disabled_skips"), 0, "past 7/8 of its limit worker 0 held back");
    else
        cr_assert_eq(kvl(&r, "disabled_skips"), 0, "at 7/8 exactly nobody is throttled");
    cr_assert_eq(kvl(&r, "limit_skips"), 0, "nobody ever reached the hard limit");
    cr_assert_leq(kvl(&r, "max_active"), atol(idle) + 2, "worker 0: the idle ones + 2 at most");
    cr_assert_geq(kvl(&r, "max_active"), atol(idle), "worker 0 held every idle connection");
    cr_assert_eq(kvl(&r, "max_waiters"), 1);
    cr_assert_eq(kvl(&r, "serve_errors"), 0, "an idle connection closed is not an error");
    cr_assert_leq(kvl(&r, "closed_unasked"), atol(idle), "only the idle ones close unasked");
    run_result_free(&r);
}

Test(lock, nginx_throttle_past_seven_eighths_skips_the_mutex, .timeout = 120)
{
    throttle("29", 1);
}

Test(lock, nginx_throttle_not_at_seven_eighths, .timeout = 120)
{
    throttle("26", 0);
}

Test(lock, nginx_idle_beyond_the_limit_is_refused, .timeout = 120)
{
    cr_assert_eq(run_lab_exit(20, LAB, "alock", "-m", "nginx", "-w", "2", "-L", "8", "-i", "9", NULL), 2,
                 "worker 0 could not hold 9 of a limit of 8");
}

Test(lab, bad_arguments_exit_2, .timeout = 120)
{
    cr_assert_eq(run_lab_exit(20, LAB, "alock", "-m", "bogus", NULL), 2);
    cr_assert_eq(run_lab_exit(20, LAB, "alock", "-m", "none", "-k", "5", NULL), 2,
                 "no lock, nothing to die holding");
    cr_assert_eq(run_lab_exit(20, LAB, "alock", "-m", "nginx", "-k", "5", "-K", NULL), 2,
                 "nginx's holder never blocks in accept()");
}
