/* pmutex.h — a mutex shared by processes, optionally robust against a dying owner.
 *
 * The pthread_mutex_t must live in memory every user maps shared (pshm.h), and is
 * initialised once, by one process, before the others use it (typically before fork).
 *
 * Return convention of every function: 0 on success, otherwise a positive error
 * number (the pthreads convention; never -1). errno is ALSO set to that number on
 * every non-zero return, so die()/warn_errno() (err.h) report it.
 *
 * pmutex_init(m, flags)
 *   pthread_mutex_init with PTHREAD_PROCESS_SHARED and, per flags:
 *     PMUTEX_ROBUST      PTHREAD_MUTEX_ROBUST: when the owner dies holding the lock
 *                        (exit, SIGKILL, crash), the next locker gets EOWNERDEAD
 *                        instead of waiting forever (see pmutex_lock).
 *     PMUTEX_ERRORCHECK  PTHREAD_MUTEX_ERRORCHECK: relocking by the owner gives
 *                        EDEADLK and unlocking by a non-owner EPERM (debug aid).
 *   Without PMUTEX_ROBUST the mutex is "stalled" for good when its owner dies: every
 *   later lock waits forever (pmutex_timedlock: ETIMEDOUT).
 *   Returns 0; EINVAL for unknown flags; ENOTSUP when robust mutexes are not
 *   available (no set_robust_list(2)); ENOMEM/EAGAIN from pthread_mutex_init(3).
 *
 * pmutex_lock(m)
 *   Blocks until the caller holds m. Returns:
 *     0               held.
 *     EOWNERDEAD      held, BUT the previous owner died holding it (robust only): the
 *                     data it protects may be half-updated. The caller must repair the
 *                     invariant, then pmutex_consistent(m), then pmutex_unlock(m).
 *                     Unlocking without pmutex_consistent makes m ENOTRECOVERABLE.
 *     ENOTRECOVERABLE NOT held: an earlier EOWNERDEAD holder unlocked without
 *                     pmutex_consistent; m is unusable until destroyed and re-inited.
 *     EDEADLK         NOT held again: the caller already holds m (PMUTEX_ERRORCHECK).
 *   A non-errorcheck mutex relocked by its owner deadlocks (POSIX), as does a
 *   non-robust mutex whose owner died: use pmutex_timedlock to bound the wait.
 *
 * pmutex_timedlock(m, timeout_ms)
 *   As pmutex_lock, but gives up after timeout_ms >= 0 milliseconds, measured on
 *   CLOCK_MONOTONIC (pthread_mutex_clocklock, the monotonic form of
 *   pthread_mutex_timedlock, so setting the wall clock cannot stretch the wait).
 *   Returns 0, EOWNERDEAD, ENOTRECOVERABLE, EDEADLK as pmutex_lock; ETIMEDOUT when
 *   the time passed without getting m; EINVAL when timeout_ms < 0.
 *   pmutex_timedlock(m, 0) is the non-blocking probe ("try"): ETIMEDOUT means held.
 *   There is deliberately no trylock wrapper: on Debian 12's glibc 2.36,
 *   pthread_mutex_trylock on an ENOTRECOVERABLE robust mutex returns
 *   ENOTRECOVERABLE yet leaves the futex word holding the caller's TID, so every later
 *   lock of any process waits forever. lock and timedlock release it correctly.
 *
 * pmutex_consistent(m)
 *   pthread_mutex_consistent(3): the caller, having got EOWNERDEAD and repaired the
 *   data, declares m consistent again; m stays held (unlock it next).
 *   Returns 0; EINVAL when m is not robust or not in the owner-died state.
 *
 * pmutex_unlock(m)
 *   Returns 0; EPERM when m is robust or errorcheck and the caller does not hold it.
 *
 * pmutex_lock_repair(m, repair, arg, &repaired)
 *   pmutex_lock, and on EOWNERDEAD: repair(arg) (when repair is not NULL), then
 *   pmutex_consistent. *repaired (when not NULL) is set to 1 when that happened, else 0.
 *   Returns 0 when m is held and consistent; otherwise m is not held:
 *   ENOTRECOVERABLE or EDEADLK as pmutex_lock, or EINVAL when pmutex_consistent
 *   refused (cannot happen after EOWNERDEAD; m was then unlocked and is unrecoverable).
 *
 * pmutex_destroy(m)
 *   pthread_mutex_destroy(3). Returns 0; EBUSY when m is still held (glibc only sees
 *   that for a non-robust mutex). No process may use m afterwards until re-inited.
 */
#ifndef FDLAB_PMUTEX_H
#define FDLAB_PMUTEX_H

#include <pthread.h>

enum {
    PMUTEX_ROBUST = 1 << 0,
    PMUTEX_ERRORCHECK = 1 << 1,
};

int pmutex_init(pthread_mutex_t *m, int flags);
int pmutex_lock(pthread_mutex_t *m);
int pmutex_timedlock(pthread_mutex_t *m, long timeout_ms);
int pmutex_consistent(pthread_mutex_t *m);
int pmutex_unlock(pthread_mutex_t *m);
int pmutex_lock_repair(pthread_mutex_t *m, void (*repair)(void *arg), void *arg, int *repaired);
int pmutex_destroy(pthread_mutex_t *m);

#endif
