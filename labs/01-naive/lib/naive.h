/* naive.h — pieces shared by lab 01's programs (server, client, mutex, lab).
 *
 * Shared memory and the seed's mutex:
 *   shared_anon(size)          MAP_SHARED|MAP_ANONYMOUS, zero-filled, survives fork() as
 *                              the SAME pages in parent and children. Dies on failure.
 *   naive_mutex_init(m, pshared)
 *                              pshared == 0: pthread_mutex_init(m, NULL), exactly what the
 *                              seed did (process-private); pshared == 1: with
 *                              PTHREAD_PROCESS_SHARED. Dies on failure.
 *   lock_word(m)               glibc's futex word of a default mutex (m->__data.__lock):
 *                              0 unlocked, 1 locked, 2 locked with (possible) waiters.
 *                              glibc-specific; read atomically.
 *
 * Watching another process sleep (proc_sleep() from common/kit/procinfo.h):
 *   proc_asleep_in_futex(pid, addr, &s)
 *                              1 when pid is in state 'S', blocked in SYS_futex, and the
 *                              futex word it waits on is addr; else 0 (s is filled anyway).
 *
 * Time: mono_s() and sleep_ms() come from common/runtime/clock.h.
 */
#ifndef FDLAB_LAB01_NAIVE_H
#define FDLAB_LAB01_NAIVE_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#include "clock.h"
#include "procinfo.h"

/* What a worker tries to send to the client. */
#define NAIVE_PAYLOAD "hello client, this is worker 0\n"

void *shared_anon(size_t size);
void naive_mutex_init(pthread_mutex_t *m, int pshared);
int lock_word(pthread_mutex_t *m);

int proc_asleep_in_futex(pid_t pid, const void *addr, struct proc_sleep *s);


#endif
