/* alock.h — one accept-lock scenario: N pre-forked workers share one listener and
 * take turns accepting from it, serialised by an accept lock.
 *
 * Methods (enum alock_method, names as printed and as given to -m):
 *   none    baseline, lab 06's herd: every worker has its own epoll instance watching
 *           the shared non-blocking listener (level-triggered, no EPOLLEXCLUSIVE), no
 *           lock; a woken worker calls accept4() once, EAGAIN when it lost the race.
 *   fcntl   UNP's serv03 design: a blocking accept() under a whole-file write lock
 *           (fcntl F_SETLKW) on one lock file whose descriptor every worker inherits.
 *           POSIX record locks belong to the PROCESS, so the shared descriptor is fine,
 *           and the kernel drops a process's locks when it dies.
 *   ofd     the same with open-file-description locks (F_OFD_SETLKW): they belong to
 *           the open file description, so each worker re-opens the lock file
 *           (/proc/self/fd/N) to get its own; released when the last descriptor of that
 *           description is closed — also at process death.
 *   pmutex  UNP's serv04 design: a blocking accept() under a robust, process-shared
 *           pthread mutex in shared memory (pmutex.h). A dead holder's successor gets
 *           EOWNERDEAD, repairs, calls pthread_mutex_consistent and goes on.
 *   nginx   nginx's accept_mutex: every worker runs its own epoll loop over its own
 *           connections; once per loop it tries the robust mutex (pthread_mutex_trylock).
 *           The winner adds the listener to its epoll set, waits, drains accept4() to
 *           EAGAIN, releases the mutex and then serves; a loser removes the listener
 *           from its set if it was there and waits at most delay_ms for its own
 *           connections before trying again. Throttle: after each accept
 *           accept_disabled = limit/8 - (limit - active); while it is > 0 the worker
 *           skips that many loops without trying the mutex (and without the listener):
 *           counted in disabled_skips. Separately, a worker at its hard limit never
 *           accepts: such loops (accept_disabled already 0) count in limit_skips.
 *           With idle > 0 only worker 0 runs until the idle connections have been
 *           accepted (the others wait, bounded), so worker 0 holds all of them.
 * Every accepted connection is answered with lab_serve(fd, worker_id) (labreply.h).
 *
 * alock_run(opts, result):
 *   Creates the listener (127.0.0.1, kernel-chosen port), the lock, and forks
 *   opts->workers workers; when they are ready, forks a load client (loadgen.h) that
 *   first opens opts->idle idle connections (sending nothing) and waits until the
 *   workers have accepted them, then sends opts->requests requests with
 *   opts->concurrency in flight, then closes the idle ones. Meanwhile the parent
 *   supervises through signalfd(SIGCHLD): a worker that dies by a signal is replaced
 *   by a fresh one in a new slot when opts->respawn is set. Kill test: with
 *   opts->kill_after = K > 0, the first worker to take the lock once K connections
 *   have been accepted finishes the connections it holds, records itself as the
 *   holder and SIGKILLs itself while holding the lock (never with an accepted,
 *   unserved connection). Outside kill (opts->outside_kill, fcntl/ofd/pmutex, with
 *   0 < K < requests): instead the client sends K requests, then pauses; once every
 *   one is answered, the parent finds the lock holder blocked in accept() (its slot
 *   says in_accept and /proc/PID/stat says sleeping; nothing else can wake it, since
 *   no connection comes) and SIGKILLs it from outside; when it has been reaped (and
 *   replaced, with respawn) the client sends the remaining requests. At the end the parent stops the workers (stop flag,
 *   shutdown(2) of the listener, hang-up of a stop pipe in every epoll set) and reaps
 *   them with wait4(2), summing their CPU time (SIGKILL after 5 s). Every wait is
 *   bounded; the whole run by opts->timeout_s (default 60).
 *   Returns 0 with *result filled, -1 with errno (EINVAL for bad options,
 *   ETIMEDOUT when the client did not finish in time, others from setup).
 *
 * Counting (per worker, summed in the result):
 *   accept_csw  voluntary context switches (getrusage ru_nvcsw) that ended inside the
 *               wait for the listener: a blocking accept(), or an epoll_wait() that
 *               returned the listener — wake-ups to take a connection.
 *   lock_csw    the same inside the lock: F_SETLKW / mutex wait, or (nginx) an
 *               epoll_wait of a worker without the mutex that only timed out to retry.
 *   empty_wakes wake-ups for the listener whose first accept() found nothing (EAGAIN):
 *               the herd's wasted wake-ups. eagain counts every EAGAIN (nginx's drain
 *               ends with one by design).
 *   max_waiters the most workers ever waiting on the listener at the same moment
 *               (inside accept() or inside epoll_wait() with the listener in the set).
 */
#ifndef LAB07_ALOCK_H
#define LAB07_ALOCK_H

#include <sys/types.h>

#define ALOCK_MAX_WORKERS 16
#define ALOCK_MAX_SLOTS 24 /* workers plus respawned replacements */
#define ALOCK_MAX_CONNS 256 /* nginx: the largest per-worker connection limit */

enum alock_method { ALOCK_NONE, ALOCK_FCNTL, ALOCK_OFD, ALOCK_PMUTEX, ALOCK_NGINX, ALOCK_NMETHODS };

struct alock_opts {
    enum alock_method method;
    int workers;      /* 1..ALOCK_MAX_WORKERS */
    long requests;    /* > 0 */
    int concurrency;  /* >= 1 */
    long kill_after;  /* 0: nobody dies; K > 0: see above (not with ALOCK_NONE) */
    int outside_kill; /* 1: the parent kills the holder blocked in accept() (see above) */
    int respawn;      /* 1: replace a worker that died by a signal */
    int conn_limit;   /* nginx: per-worker connection limit, 8..ALOCK_MAX_CONNS; 0 = 64 */
    int delay_ms;     /* nginx: a loser's wait before retrying the mutex; 0 = 20 */
    int idle;         /* idle connections the client opens first (nginx throttle demo);
                         nginx: all taken by worker 0 (see above) */
    double timeout_s; /* whole run; 0 = 60 */
};

struct alock_result {
    long ok, errors;              /* load client: answered / failed requests */
    double elapsed_s, rps;        /* load client: run time, answered requests per second */
    long accepted, served, serve_errors;
    long closed_unasked;          /* connections the client closed without a request
                                     (the idle ones): not served, not errors */
    long accept_csw, lock_csw, empty_wakes, eagain;
    long lock_taken, ownerdead;
    long disabled_skips;          /* nginx: loops skipped because accept_disabled > 0 */
    long limit_skips;             /* nginx: loops skipped at the hard connection limit */
    long max_active;              /* the most connections one worker held at once */
    int max_waiters;
    double worker_cpu_s;          /* user + system time of every worker, from wait4 */
    int started, reported;        /* workers forked (with replacements) / finished cleanly */
    int busy_workers;             /* workers that accepted at least one connection */
    int forced_kills;             /* workers the parent had to SIGKILL at the end */
    /* kill test */
    int killed;                   /* workers that died by SIGKILL during the run */
    pid_t victim;                 /* the worker that killed itself holding the lock */
    int victim_held_lock;         /* it recorded itself as holder just before dying
                                     (outside kill: it was the recorded holder) */
    int victim_in_accept;         /* outside kill: it was blocked in accept() */
    int successor_saw_dead_holder;/* the next holder found the victim still recorded */
    long accepted_after_kill;     /* connections accepted by the others afterwards */
    int respawned;                /* replacements forked */
};

int alock_run(const struct alock_opts *opts, struct alock_result *result);
const char *alock_method_name(enum alock_method m);
/* The method called name, or -1 (errno = EINVAL). */
int alock_method_parse(const char *name);

#endif
