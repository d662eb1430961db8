/* shared.h — what the parent, the workers and the load client of alock_run share.
 *
 * One struct alock_shm lives in a MAP_SHARED page (pshm.h) made before any fork.
 * Ownership rules:
 *   slot[i]        written only by the worker in slot i; read by the parent after
 *                  that worker is reaped (and polled for `ready`).
 *   holder, kill_* protected by the accept lock (for ALOCK_NONE there is no lock and
 *                  they are unused). Exception, the outside kill: the parent writes
 *                  victim, accepted_at_kill and kill_done while the holder is blocked
 *                  in accept() holding the lock, just before killing it; nobody reads
 *                  them until the next holder has the lock, after that death.
 *   atomics        anyone.
 *   client         written only by the load client, read by the parent after reaping it.
 */
#ifndef LAB07_SHARED_H
#define LAB07_SHARED_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "alock.h"
#include "loadgen.h"

struct alock_slot {
    pid_t pid;
    int id;
    int ready, reported, died_holding;
    atomic_int in_accept; /* inside the blocking accept(), holding the lock (polled) */
    long accepted, served, serve_errors, closed_unasked;
    long accept_csw, lock_csw, empty_wakes, eagain;
    long lock_taken, disabled_skips, limit_skips, ownerdead, max_active;
    long saw_dead_holder; /* took the lock and found another pid recorded as holder */
    pid_t dead_holder;    /* that pid */
};

struct alock_client {
    int done;
    atomic_int paused;    /* outside kill: the first K requests are answered */
    long ok, errors, idle_opened;
    double elapsed_s;
};

struct alock_shm {
    pthread_mutex_t mutex; /* pmutex and nginx methods: robust, process-shared */
    /* Under the accept lock: */
    pid_t holder;          /* pid of the lock holder, 0 when free (a dead holder stays) */
    int kill_done;
    pid_t victim;
    long accepted_at_kill;
    /* Lock-free: */
    atomic_int stop;        /* the parent asks the workers to finish */
    atomic_long accepted;   /* connections accepted by all workers */
    atomic_int waiters;     /* workers waiting on the listener right now */
    atomic_int max_waiters; /* the largest value waiters ever had */
    atomic_int resume;      /* outside kill: the parent lets the client go on */
    struct alock_client client;
    struct alock_slot slot[ALOCK_MAX_SLOTS];
};

/* What a worker needs; filled by the parent before fork. */
struct alock_wenv {
    const struct alock_opts *o;
    struct alock_shm *sh;
    int slot;
    int lfd;    /* the shared listener */
    int lockfd; /* fcntl/ofd: the lock file (inherited), else -1 */
    int stopfd; /* read end of the stop pipe: hangs up when the parent closes its end */
    pid_t parent; /* the parent's pid, read before fork (pdeath.h) */
};

/* The worker's whole life (worker.c). Never returns. */
__attribute__((noreturn)) void alock_worker(const struct alock_wenv *env);

#endif
