/* l05.h — what lab 05's programs and tests share.
 *
 * struct l05_shared lives in pshm_alloc() memory: the mutex under test, a counter, and
 * a two-field record whose invariant (a + b == L05_TOTAL) a holder breaks half-way.
 *
 * l05_count(s, procs, iters, locked)
 *   Forks procs children that start together (each waits, yielding, until all are
 *   running, at most 5 s), then each add 1 to
 *   s->counter iters times: under s->m when locked, else as a bare load + store (a
 *   read-modify-write that can lose updates). Reaps them all. Returns the final
 *   counter, or -1 when a child failed (or fork/pipe failed; errno tells).
 *
 * l05_holder_start(s, h)
 *   Forks a holder that locks s->m, does HALF of a transfer (a -= L05_MOVE, the
 *   matching b += L05_MOVE never comes), tells the parent it is holding, and then
 *   blocks until its hold pipe reaches EOF (the parent is meant to SIGKILL it; if the
 *   parent dies first, EOF ends the holder). Waits at most 5 s for "holding".
 *   Returns 0 with h filled, -1 with errno otherwise (ETIMEDOUT, EPROTO when the
 *   holder could not lock; the holder is then reaped).
 * l05_holder_kill(h)
 *   SIGKILLs and reaps the holder, closes its pipes. Returns the signal that ended
 *   it (SIGKILL), 0 when it exited by itself, -1 with errno on failure.
 *
 * l05_lock_elsewhere(s, timeout_ms)
 *   Forks a process that runs pmutex_timedlock(&s->m, timeout_ms) once, unlocks when
 *   it got 0, and reports the result. Returns that result (0, EOWNERDEAD,
 *   ENOTRECOVERABLE, ETIMEDOUT, ...) or -1 with errno when fork/wait failed.
 *
 * l05_lock_word(m), l05_owner_field(m)
 *   Read glibc's private view of a mutex (struct __pthread_mutex_s, glibc 2.36): the
 *   futex word __lock and the __owner field. For display only: a robust mutex keeps
 *   the owner's TID in the futex word (so the kernel can find it), a plain one keeps
 *   1/2 there and the TID in __owner.
 * l05_robust_list_len(pid)
 *   get_robust_list(2) of pid: the registered list head's size (24 on x86-64) when
 *   glibc registered one, 0 when none; -1 with errno on failure.
 */
#ifndef LAB05_L05_H
#define LAB05_L05_H

#include <pthread.h>
#include <sys/types.h>

enum { L05_TOTAL = 1000, L05_MOVE = 100 };

struct l05_record {
    long a, b; /* invariant: a + b == L05_TOTAL */
};

struct l05_shared {
    pthread_mutex_t m;
    long counter;
    int started; /* l05_count's start line: children that are ready to go */
    struct l05_record rec;
};

struct l05_holder {
    pid_t pid;
    int ready_fd; /* read end: the holder writes one byte once it holds the lock */
    int hold_fd;  /* write end: the holder blocks until it reads EOF from it */
};

long l05_count(struct l05_shared *s, int procs, long iters, int locked);
int l05_holder_start(struct l05_shared *s, struct l05_holder *h);
int l05_holder_kill(struct l05_holder *h);
int l05_lock_elsewhere(struct l05_shared *s, long timeout_ms);
unsigned l05_lock_word(pthread_mutex_t *m);
int l05_owner_field(pthread_mutex_t *m);
long l05_robust_list_len(pid_t pid);

#endif
