/* lab 07 — the accept lock.
 *
 *   lab [-q]
 *
 * Runs three sets of scenarios (alock.h) and prints their keys with a prefix:
 *   <method>.n4.*    the herd baseline (none) and the four locks, 4 workers, 300
 *                    sequential connections (-c 1: every connection finds all idle
 *                    workers waiting, the herd's worst case).
 *   kill.<method>.*  3 workers, 300 requests, 4 in flight; the first holder after 100
 *                    accepted connections SIGKILLs itself holding the lock; the parent
 *                    respawns it.
 *   kill_outside.<method>.*  fcntl and pmutex, the same setup, but after 100 requests
 *                    the client pauses and the PARENT SIGKILLs the holder while it is
 *                    blocked in accept() holding the lock; then the other 200 come.
 *   throttle.*       nginx, 2 workers with a limit of 32 connections each; worker 0
 *                    first takes 29 idle connections (past 7/8 = 28 of its limit),
 *                    then 60 requests, 2 in flight: worker 0 holds at most 31, never
 *                    its limit.
 *   throttle_below.* the control: the same with 26 idle, so worker 0 holds at most
 *                    28 = exactly 7/8, which the rule does not throttle.
 * and claim.* lines. Exit 0 when every claim held:
 *   claim.herd_without_lock     none: several workers waited on the listener at once
 *                               and connections cost more than one wake-up each
 *   claim.one_waiter_with_lock  every lock: at most one worker ever waited on the
 *                               listener and no wake-up found it empty
 *   claim.holder_death_recovered every lock: the holder died holding it, the next
 *                               holder saw that, the others went on accepting, a
 *                               replacement was forked, and no request failed
 *   claim.outside_kill_recovered fcntl and pmutex: the holder killed from outside
 *                               while blocked in accept() was the recorded holder, the
 *                               next holder saw that, all 300 requests were answered
 *                               and every connection was accepted once (none lost)
 *   claim.ownerdead_only_for_mutex  EOWNERDEAD reached exactly one successor with the
 *                               robust mutex, none with the file locks (the kernel
 *                               released those silently)
 *   claim.throttle              the worker past 7/8 of its limit skipped the mutex
 *                               because of accept_disabled (disabled_skips > 0) while
 *                               below its hard limit (limit_skips == 0); at 7/8 exactly
 *                               it never did; every request was answered
 * -q: only the keys (no explanation).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "claim.h"
#include "err.h"
#include "fdcount.h"
#include "kv.h"
#include "lib/alock.h"
#include "lib/print.h"

/* The single context of this program. */
struct lab {
    int quiet;
    struct claims claims; /* printed as claim.<name>=1|0 */
};

static void say(const struct lab *l, const char *text)
{
    if (!l->quiet)
        printf("%s\n", text);
}

static void run(const char *prefix, const struct alock_opts *o, struct alock_result *r)
{
    if (alock_run(o, r) < 0)
        die("alock_run %s", prefix);
    alock_print(prefix, o, r);
}

static int clean(const struct alock_opts *o, const struct alock_result *r)
{
    return r->errors == 0 && r->ok == o->requests && r->accepted == o->requests + o->idle &&
           r->forced_kills == 0;
}

int main(int argc, char **argv)
{
    struct lab l = {.claims = {.prefix = "claim."}};
    int opt;
    while ((opt = getopt(argc, argv, "q")) != -1) {
        if (opt != 'q') {
            fprintf(stderr, "usage: lab [-q]\n");
            return 2;
        }
        l.quiet = 1;
    }
    int fds_before = fd_count();

    say(&l, "# Lab 07: the accept lock. N pre-forked workers share one listener; a lock lets\n"
            "# only one of them wait for the next connection at a time.\n"
            "# 1) The herd (no lock, epoll per worker) versus four locks, 4 workers, c=1.\n"
            "#    Look at max_waiters (workers waiting on the listener at once), wakeups_per_conn\n"
            "#    (sleeps that ended in the accept path, split into accept_ and lock_) and\n"
            "#    empty_wakeups (woken for a connection someone else took).");
    int herd = 0, one = 1;
    for (int m = 0; m < ALOCK_NMETHODS; m++) {
        struct alock_opts o = {.method = m, .workers = 4, .requests = 300, .concurrency = 1};
        struct alock_result r;
        char prefix[32];
        snprintf(prefix, sizeof prefix, "%s.n4.", alock_method_name(m));
        run(prefix, &o, &r);
        double wake = r.accepted ? (double)r.accept_csw / (double)r.accepted : 0;
        if (m == ALOCK_NONE)
            herd = clean(&o, &r) && r.max_waiters >= 2 && wake > 1.0;
        else
            one &= clean(&o, &r) && r.max_waiters == 1 && r.empty_wakes == 0;
    }
    claim(&l.claims, "herd_without_lock", herd);
    claim(&l.claims, "one_waiter_with_lock", one);

    say(&l, "# 2) Kill the lock holder: after 100 connections the next holder SIGKILLs itself\n"
            "#    while holding the lock (with nothing accepted and unserved); 3 workers, the\n"
            "#    parent forks a replacement. Look at victim_held_lock, successor_saw_dead_holder,\n"
            "#    ownerdead (robust mutex only), accepted_after_kill and errors.");
    int recovered = 1, od = 1;
    for (int m = ALOCK_FCNTL; m < ALOCK_NMETHODS; m++) {
        struct alock_opts o = {.method = m, .workers = 3, .requests = 300, .concurrency = 4,
                               .kill_after = 100, .respawn = 1};
        struct alock_result r;
        char prefix[32];
        snprintf(prefix, sizeof prefix, "kill.%s.", alock_method_name(m));
        run(prefix, &o, &r);
        recovered &= clean(&o, &r) && r.killed == 1 && r.victim_held_lock &&
                     r.successor_saw_dead_holder && r.accepted_after_kill > 0 && r.respawned == 1;
        int mutex = m == ALOCK_PMUTEX || m == ALOCK_NGINX;
        od &= r.ownerdead == (mutex ? 1 : 0);
    }
    claim(&l.claims, "holder_death_recovered", recovered);

    say(&l, "# 2b) The same, killed from outside: after 100 requests the client pauses; the\n"
            "#    parent SIGKILLs the lock holder while it sleeps in accept() (victim_in_accept)\n"
            "#    holding the lock, then the client sends the other 200. Nothing is lost:\n"
            "#    the connections wait in the listener's queue, not in the victim.");
    int outside = 1;
    const int outside_methods[] = {ALOCK_FCNTL, ALOCK_PMUTEX};
    for (int i = 0; i < 2; i++) {
        int m = outside_methods[i];
        struct alock_opts o = {.method = m, .workers = 3, .requests = 300, .concurrency = 4,
                               .kill_after = 100, .outside_kill = 1, .respawn = 1};
        struct alock_result r;
        char prefix[32];
        snprintf(prefix, sizeof prefix, "kill_outside.%s.", alock_method_name(m));
        run(prefix, &o, &r);
        outside &= clean(&o, &r) && r.killed == 1 && r.victim_held_lock && r.victim_in_accept &&
                   r.successor_saw_dead_holder && r.accepted_after_kill == 200 &&
                   r.respawned == 1 && r.serve_errors == 0;
        od &= r.ownerdead == (m == ALOCK_PMUTEX ? 1 : 0);
    }
    claim(&l.claims, "outside_kill_recovered", outside);
    claim(&l.claims, "ownerdead_only_for_mutex", od);

    say(&l, "# 3) nginx's throttle: 2 workers, limit 32 each; worker 0 first takes 29 idle\n"
            "#    connections, past 7/8 (28) of its limit, so after each accept\n"
            "#    accept_disabled = 32/8 - free > 0 and it skips the mutex (disabled_skips),\n"
            "#    though with at most 31 connections it never reaches its limit (limit_skips).\n"
            "#    Control (throttle_below): 26 idle, at most 28 = 7/8 exactly: no skip.");
    {
        struct alock_opts o = {.method = ALOCK_NGINX, .workers = 2, .requests = 60,
                               .concurrency = 2, .conn_limit = 32, .delay_ms = 5, .idle = 29};
        struct alock_result r, rb;
        run("throttle.", &o, &r);
        struct alock_opts ob = o;
        ob.idle = 26;
        run("throttle_below.", &ob, &rb);
        claim(&l.claims, "throttle",
              clean(&o, &r) && r.disabled_skips > 0 && r.limit_skips == 0 && r.max_active <= 32 &&
                  clean(&ob, &rb) && rb.disabled_skips == 0 && rb.limit_skips == 0);
    }

    int fds_after = fd_count();
    kv_print("parent_fds_leaked", "%d", fds_after - fds_before);
    claim_quiet(&l.claims, fds_after == fds_before, "no descriptor leaked in the parent");
    say(&l, claims_held(&l.claims) ? "# every claim held" : "# some claim did NOT hold");
    return claims_held(&l.claims) ? 0 : 1;
}
