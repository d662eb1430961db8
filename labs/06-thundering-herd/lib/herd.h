/* herd.h — one thundering-herd scenario: N pre-forked workers share one listener.
 *
 * Modes:
 *   HERD_ACCEPT  every worker blocks in accept(2) on the shared (blocking) listener.
 *   HERD_EPOLL   every worker has its OWN epoll instance watching the shared
 *                (non-blocking) listener, level-triggered, no EPOLLEXCLUSIVE; when
 *                epoll_wait returns it calls accept4(), which fails with EAGAIN when
 *                another worker took the connection first.
 * Every worker serves an accepted connection with lab_serve(fd, worker_id).
 *
 * Test option gate_ms > 0 (epoll mode only; lab -B): after epoll_wait() returns, a
 * worker waits at a shared gate (gate.h) until every worker has been woken, and only
 * then calls accept(); after accept() (connection or EAGAIN) it waits at a second
 * gate until every worker has called accept(), and only then serves. Each wait is
 * bounded by gate_ms. With one connection at a time (concurrency 1) and no gate
 * timeout, every woken worker reaches accept() while the connection is still queued
 * and before the next one can exist, so exactly N - 1 of them get EAGAIN per
 * connection: the race of the plain mode (see the note) is removed.
 *
 * Test option sync_ms > 0 (lab -S; concurrency must be 1): no loadgen; the parent
 * itself makes the connections one at a time (connect, request, read the reply to
 * EOF), and before EACH it waits, at most sync_ms, until every worker is asleep in
 * its blocking call: /proc/PID/stat state 'S' and /proc/PID/syscall naming
 * epoll_wait/epoll_pwait/epoll_pwait2 (epoll mode) or accept/accept4 (accept mode)
 * (common/kit/procinfo.h). Such a worker is on the wait queue the connection's wake-up walks
 * (its own epoll instance's queue, reached from the listener's; or the listener's
 * queue itself), so the number woken no longer depends on how fast the workers got
 * back to sleep: N per connection with N epoll instances, 1 with blocking accept.
 * result->all_asleep_conns / not_asleep_conns count the connections sent with the
 * precondition met / after the wait timed out.
 *
 * herd_run(opts, result):
 *   creates the listener on 127.0.0.1:0, forks opts->workers workers, waits until
 *   all of them sleep in accept/epoll_wait, drives opts->conns connections at them
 *   with loadgen (opts->concurrency in flight; with sync_ms, itself, see above), then stops them with shutdown(2) on
 *   the listener (which wakes every waiter: accept fails with EINVAL, also the one
 *   after epoll_wait returns) and reaps them (SIGKILL after 5 s). Workers report through a
 *   MAP_SHARED page that the parent reads only after reaping them.
 *   Returns 0 with *result filled, -1 with errno when the run could not be made.
 *
 * What a worker counts (struct herd_worker):
 *   wait_csw  voluntary context switches (getrusage ru_nvcsw) that happened INSIDE
 *             accept()/epoll_wait(): how often it went to sleep there and was woken
 *             for a connection, also the sleeps a woken epoll loser starts again
 *             inside the same epoll_wait (it re-checked and found nothing). The
 *             wake-ups by epoll_wait's 1 s timeout and by the final shutdown are
 *             not counted.
 *   csw       all its voluntary context switches from "ready" to its exit, but the
 *             one sleep the final shutdown ended (as wait_csw): so csw >= wait_csw;
 *             the rest is sleeping in lab_serve's poll while a request is on its way,
 *             at the gate, and the sleeps epoll_wait's 1 s timeout ended.
 *   eagain    accept() calls that failed with EAGAIN (epoll mode: lost the race).
 *   gate_timeouts  gate_ms mode: gate waits that timed out (a worker did not come).
 * Sleeps at the gate are not part of wait_csw (they are part of csw).
 */
#ifndef LAB06_HERD_H
#define LAB06_HERD_H

#define HERD_MAX_WORKERS 64

enum herd_mode { HERD_ACCEPT, HERD_EPOLL };

struct herd_opts {
    enum herd_mode mode;
    int workers;     /* 1..HERD_MAX_WORKERS */
    long conns;      /* connections to drive (> 0) */
    int concurrency; /* loadgen connections in flight (>= 1) */
    int gate_ms;     /* epoll mode: > 0 holds woken workers at a gate (see above) */
    int sync_ms;     /* > 0: send each connection only once all workers sleep (above) */
};

struct herd_worker {
    long accepted, eagain, wakes, wait_csw, csw, serve_errors, gate_timeouts;
    int reported; /* 1 when the worker finished its loop and wrote its numbers */
};

struct herd_result {
    long ok, errors;             /* loadgen: successful / failed requests */
    long accepted, eagain, wait_csw, csw, wakes, gate_timeouts; /* sums over workers */
    long all_asleep_conns;       /* sync_ms mode: connections sent with all workers asleep */
    long not_asleep_conns;       /* sync_ms mode: ... after the wait for that timed out */
    int busy_workers;            /* workers that accepted at least one connection */
    int reported;                /* workers that reported (should be all) */
    double elapsed_s;
    struct herd_worker w[HERD_MAX_WORKERS];
};

int herd_run(const struct herd_opts *opts, struct herd_result *result);
const char *herd_mode_name(enum herd_mode m);

#endif
