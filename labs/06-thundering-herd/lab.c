/* lab 06 — the thundering herd.
 *
 *   lab [-m accept|epoll] [-w WORKERS] [-n CONNS] [-c CONCURRENCY] [-B GATE_MS] [-S SYNC_MS]
 *
 * Without -m and -w: the sweep — both modes, N = 1, 2, 4, 8, 16 workers, CONNS
 * sequential connections each (-c 1) — and a verdict: exit 0 when blocking accept()
 * woke about one worker per connection at every N while the per-worker epoll
 * instances woke more and more workers as N grew (claim.epoll_losers_get_eagain,
 * that some woken worker's accept() failed with EAGAIN, is printed but not
 * required). With -m and/or -w: only those scenarios, exit 0 when every connection
 * was served and every worker reported.
 *
 * -B GATE_MS (test option, epoll mode): every woken worker waits at a shared gate,
 * at most GATE_MS, until all N have been woken, and only then calls accept(), so
 * with -c 1 the N - 1 losers of each connection deterministically get EAGAIN
 * (herd.h). Adds the key gate_timeouts (gate waits that timed out).
 *
 * -S SYNC_MS (test option, needs -c 1): the lab makes the connections itself, one at
 * a time, and before each waits (at most SYNC_MS) until every worker is asleep in
 * accept/epoll_wait (herd.h), so each connection finds all N on the wait queue:
 * wake-ups per connection are then N for epoll, 1 for accept, whatever the load on
 * the machine. Adds the keys all_asleep_conns (connections sent with every worker
 * asleep) and not_asleep_conns (sent after that wait timed out).
 *
 * Keys, per scenario, prefixed "<mode>.n<N>.": conns (connections the workers
 * accepted), errors (failed requests), wakeups_per_conn (voluntary context switches
 * inside accept/epoll_wait per connection: workers put to sleep and woken),
 * returns_per_conn (how often accept/epoll_wait returned to the worker per
 * connection), eagain_per_conn (accept calls that lost the race), csw_per_conn (all voluntary
 * switches of all workers per connection but each one's last sleep, which the final
 * shutdown ended: never below wakeups_per_conn), busy_workers, reported.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "lib/herd.h"
#include "kv.h"

static double per(long x, long conns)
{
    return conns > 0 ? (double)x / (double)conns : 0.0;
}

/* Run one scenario and print its keys. Returns 0 when it ran cleanly. */
static int scenario(enum herd_mode mode, int n, long conns, int conc, int gate_ms,
                    int sync_ms, struct herd_result *r)
{
    struct herd_opts o = {.mode = mode, .workers = n, .conns = conns, .concurrency = conc,
                          .gate_ms = mode == HERD_EPOLL ? gate_ms : 0, .sync_ms = sync_ms};
    if (herd_run(&o, r) < 0)
        die("herd_run %s n=%d", herd_mode_name(mode), n);
    char pfx[64];
    snprintf(pfx, sizeof pfx, "%s.n%d.", herd_mode_name(mode), n);
#define KV(name, fmt, val) kv_print_in(pfx, name, fmt, val)
    KV("conns", "%ld", r->accepted);
    KV("errors", "%ld", r->errors);
    KV("wakeups_per_conn", "%.3f", per(r->wait_csw, r->accepted));
    KV("returns_per_conn", "%.3f", per(r->wakes, r->accepted));
    KV("eagain_per_conn", "%.3f", per(r->eagain, r->accepted));
    KV("csw_per_conn", "%.3f", per(r->csw, r->accepted));
    KV("busy_workers", "%d", r->busy_workers);
    KV("reported", "%d", r->reported);
    if (o.gate_ms > 0)
        KV("gate_timeouts", "%ld", r->gate_timeouts);
    if (o.sync_ms > 0) {
        KV("all_asleep_conns", "%ld", r->all_asleep_conns);
        KV("not_asleep_conns", "%ld", r->not_asleep_conns);
    }
#undef KV
    return r->errors == 0 && r->reported == n && r->accepted == conns ? 0 : 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: lab [-m accept|epoll] [-w WORKERS] [-n CONNS] [-c CONCURRENCY]"
                    " [-B GATE_MS] [-S SYNC_MS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int mode = -1, workers = 0, conc = 1, gate_ms = 0, sync_ms = 0;
    long conns = 400;
    int opt;
    while ((opt = getopt(argc, argv, "m:w:n:c:B:S:")) != -1) {
        switch (opt) {
        case 'm':
            if (strcmp(optarg, "accept") == 0)
                mode = HERD_ACCEPT;
            else if (strcmp(optarg, "epoll") == 0)
                mode = HERD_EPOLL;
            else
                usage();
            break;
        case 'w': workers = atoi(optarg); break;
        case 'n': conns = atol(optarg); break;
        case 'c': conc = atoi(optarg); break;
        case 'B': gate_ms = atoi(optarg); break;
        case 'S': sync_ms = atoi(optarg); break;
        default: usage();
        }
    }
    if (optind != argc || conns < 1 || conc < 1 || workers < 0 || workers > HERD_MAX_WORKERS ||
        gate_ms < 0 || gate_ms > 10000 || sync_ms < 0 || sync_ms > 10000 ||
        (sync_ms > 0 && conc != 1))
        usage();

    static const int sweep[] = {1, 2, 4, 8, 16};
    static struct herd_result res[2][5];
    int bad = 0;
    if (mode >= 0 || workers > 0) {
        for (int m = 0; m < 2; m++) {
            if (mode >= 0 && m != mode)
                continue;
            for (int i = 0; i < 5; i++) {
                int n = workers > 0 ? workers : sweep[i];
                bad |= scenario((enum herd_mode)m, n, conns, conc, gate_ms, sync_ms, &res[m][i]);
                if (workers > 0)
                    break;
            }
        }
        return bad ? 1 : 0;
    }

    printf("Lab 06: N pre-forked workers share one listening socket. How many of them\n"
           "does the kernel wake for one incoming connection?\n"
           "  accept: each worker sleeps in accept(2) on the shared socket\n"
           "  epoll:  each worker has its own epoll instance (level-triggered) on it\n"
           "%ld sequential connections per scenario (-c %d).\n",
           conns, conc);
    if (sync_ms > 0)
        printf("Synchronised (-S %d): each connection is made only once every worker sleeps\n"
               "in accept/epoll_wait (all_asleep_conns counts when that held).\n",
               sync_ms);
    for (int m = 0; m < 2; m++)
        for (int i = 0; i < 5; i++)
            bad |= scenario((enum herd_mode)m, sweep[i], conns, conc, gate_ms, sync_ms, &res[m][i]);

    /* The claims, with margins wide enough for a busy 2-core machine. */
    int accept_ok = 1;
    long eagain = 0;
    for (int i = 0; i < 5; i++) {
        if (per(res[HERD_ACCEPT][i].wait_csw, res[HERD_ACCEPT][i].accepted) > 1.5)
            accept_ok = 0;
        if (sweep[i] >= 2)
            eagain += res[HERD_EPOLL][i].eagain;
    }
    /* EAGAIN undercounts the herd (a late loser re-checks readiness inside
     * epoll_wait and sleeps again without returning), so only ask that it happens. */
    int eagain_ok = eagain > 0;
    /* Index 3 is N=8, 4 is N=16: take the larger, since with 16 runnable losers on
     * 2 cores some are still waiting for a CPU (so cannot be woken again) when the
     * next connection arrives. */
    double e1 = per(res[HERD_EPOLL][0].wait_csw, res[HERD_EPOLL][0].accepted);
    double e8 = per(res[HERD_EPOLL][3].wait_csw, res[HERD_EPOLL][3].accepted);
    double e16 = per(res[HERD_EPOLL][4].wait_csw, res[HERD_EPOLL][4].accepted);
    double emax = e8 > e16 ? e8 : e16;
    double a8 = per(res[HERD_ACCEPT][3].wait_csw, res[HERD_ACCEPT][3].accepted);
    int grows = emax >= 2.0 && emax >= e1 + 1.0 && emax >= a8 + 1.0;
    kv_print("claim.accept_wakes_one", "%d", accept_ok);
    kv_print("claim.epoll_wakes_many", "%d", grows);
    kv_print("claim.epoll_losers_get_eagain", "%d", eagain_ok);
    printf("# blocking accept: ~1 wake-up per connection at every N (exclusive wait).\n"
           "# epoll per worker: wake-ups per connection grow with N (every instance is\n"
           "# woken).\n");
    /* Say it only when this run showed it. */
    if (eagain_ok)
        printf("# Some woken losers reached accept() before the winner took the connection:\n"
               "# their accept() failed with EAGAIN (most losers re-check inside epoll_wait\n"
               "# and go back to sleep unseen, so EAGAIN undercounts the herd).\n");
    else
        printf("# No woken loser reached accept() in time in this run (eagain_per_conn 0):\n"
               "# each re-checked inside epoll_wait and went back to sleep unseen.\n");
    /* The verdict rests on the wake-ups (the kernel's count); EAGAIN is shown but,
     * being a lower bound that a busy CPU can push to 0, not required. */
    int shown = !bad && accept_ok && grows;
    kv_print("result", "%s", shown ? "herd_shown" : "not_shown");
    return shown ? 0 : 1;
}
