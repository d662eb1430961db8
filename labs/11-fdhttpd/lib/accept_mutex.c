/* accept_mutex.c — one shared listener, taken in turns under a lock: nginx's
 * accept_mutex (labs 05 and 07).
 *
 * Before each wait a worker tries the robust process-shared mutex in the statistics
 * page (stats.h). The holder puts the listener in its epoll set and waits at most
 * FDH_MUTEX_HOLD_MS; the others take it out and try again after FDH_MUTEX_DELAY_MS.
 * After the wait the holder lets go: it accepts under the mutex and serves after
 * releasing it, so one busy worker does not keep the listener from the others.
 * A worker killed while holding it (kill -9) leaves the mutex EOWNERDEAD: the next one
 * to try repairs it (the only state it protects is `holder`).
 */
#include <errno.h>
#include <stdio.h>

#include "accept.h"
#include "err.h"
#include "pmutex.h"
#include "stats.h"
#include "worker.h"

#define FDH_MUTEX_DELAY_MS 20  /* a loser retries the accept mutex after this */
#define FDH_MUTEX_HOLD_MS 100  /* the holder waits at most this, then lets go */

static int shared_listener(int slot)
{
    (void)slot;
    return 0;
}

static void mutex_release(struct fdh_w *w)
{
    if (!w->held)
        return;
    atomic_store(&w->sh->holder, 0);
    int rc = pmutex_unlock(&w->sh->accept_mutex);
    if (rc != 0)
        die("worker %d: pmutex_unlock", w->slot);
    w->held = 0;
}

/* nginx's ngx_trylock_accept_mutex: returns the epoll wait bound for this round. */
static int mutex_round(struct fdh_w *w)
{
    if (w->draining)
        return -1;
    if (w->paused_full || w->paused_emfile) {
        fdh_listen_off(w); /* not accepting now: leave the mutex to the others */
        return FDH_MUTEX_DELAY_MS;
    }
    /* pthread_mutex_trylock rather than pmutex_timedlock(0): a probe must not mark the
     * futex contended. The ENOTRECOVERABLE caveat of pmutex.h cannot arise: every
     * EOWNERDEAD below is made consistent. */
    int rc = pthread_mutex_trylock(&w->sh->accept_mutex);
    if (rc == EOWNERDEAD) {
        warn_msg("worker %d: accept mutex owner (pid %d) died; recovered", w->slot,
                 atomic_load(&w->sh->holder));
        if (pmutex_consistent(&w->sh->accept_mutex) != 0)
            die("worker %d: pmutex_consistent", w->slot);
        rc = 0;
    }
    if (rc == 0) {
        w->held = 1;
        atomic_store(&w->sh->holder, w->pid);
        fdh_listen_on(w);
        return FDH_MUTEX_HOLD_MS;
    }
    if (rc != EBUSY) {
        errno = rc;
        die("worker %d: pthread_mutex_trylock", w->slot);
    }
    fdh_listen_off(w);
    return FDH_MUTEX_DELAY_MS;
}

static size_t mutex_status(const struct fdh_shared *sh, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "mutex.holder=%d\n", atomic_load(&sh->holder));
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* No worker_start or worker_resume: the listener is taken per round, under the mutex. */
const struct fdh_accept_ops fdh_accept_mutex = {
    .name = "mutex",
    .nlisteners = fdh_accept_one,
    .slot_listener = shared_listener,
    .listen_mask = EV_READ,
    .worker_round = mutex_round,
    .worker_release = mutex_release,
    .status = mutex_status,
};
