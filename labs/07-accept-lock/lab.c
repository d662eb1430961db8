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
 *   throttle.*       nginx, 2 workers with a limit of 8 connections each, 15 idle
 *                    connections first (so one worker is past 7/8 of its limit), then
 *                    60 requests.
 * and claim.* lines. Exit 0 when every claim held:
 *   claim.herd_without_lock     none: several workers waited on the listener at once
 *                               and connections cost more than one wake-up each
 *   claim.one_waiter_with_lock  every lock: at most one worker ever waited on the
 *                               listener and no wake-up found it empty
 *   claim.holder_death_recovered every lock: the holder died holding it, the next
 *                               holder saw that, the others went on accepting, a
 *                               replacement was forked, and no request failed
 *   claim.ownerdead_only_for_mutex  EOWNERDEAD reached exactly one successor with the
 *                               robust mutex, none with the file locks (the kernel
 *                               released those silently)
 *   claim.throttle              a worker past 7/8 of its limit skipped the mutex, no
 *                               worker exceeded its limit, every request was answered
 * -q: only the keys (no explanation).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "err.h"
#include "fdcount.h"
#include "kv.h"
#include "lib/alock.h"
#include "lib/print.h"

/* The single context of this program. */
struct lab {
    int quiet;
    int ok; /* every claim so far held */
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

static void claim(struct lab *l, const char *name, int held)
{
    char key[64];
    snprintf(key, sizeof key, "claim.%s", name);
    kv_print(key, "%d", held);
    l->ok &= held;
}

static int clean(const struct alock_opts *o, const struct alock_result *r)
{
    return r->errors == 0 && r->ok == o->requests && r->accepted == o->requests + o->idle &&
           r->forced_kills == 0;
}

int main(int argc, char **argv)
{
    struct lab l = {.ok = 1};
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
    claim(&l, "herd_without_lock", herd);
    claim(&l, "one_waiter_with_lock", one);

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
    claim(&l, "holder_death_recovered", recovered);
    claim(&l, "ownerdead_only_for_mutex", od);

    say(&l, "# 3) nginx's throttle: 2 workers, limit 8 each, 15 idle connections first, so one\n"
            "#    worker holds 8, past 7/8 of its limit: it skips the mutex (throttle_skips) and\n"
            "#    the other one serves the requests.");
    {
        struct alock_opts o = {.method = ALOCK_NGINX, .workers = 2, .requests = 60,
                               .concurrency = 2, .conn_limit = 8, .delay_ms = 5, .idle = 15};
        struct alock_result r;
        run("throttle.", &o, &r);
        claim(&l, "throttle", clean(&o, &r) && r.throttle_skips > 0 && r.max_active <= 8);
    }

    int fds_after = fd_count();
    kv_print("parent_fds_leaked", "%d", fds_after - fds_before);
    if (fds_after != fds_before)
        l.ok = 0;
    say(&l, l.ok ? "# every claim held" : "# some claim did NOT hold");
    return l.ok ? 0 : 1;
}
