/* naive.c — see naive.h. */
#include "naive.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

#include "clock.h"
#include "err.h"

void *shared_anon(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("mmap(MAP_SHARED|MAP_ANONYMOUS, %zu)", size);
    return p;
}

void naive_mutex_init(pthread_mutex_t *m, int pshared)
{
    int rc;
    if (!pshared) {
        /* The seed's call: default attributes, i.e. PTHREAD_PROCESS_PRIVATE. */
        rc = pthread_mutex_init(m, NULL);
    } else {
        pthread_mutexattr_t a;
        if ((rc = pthread_mutexattr_init(&a)) == 0) {
            rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
            if (rc == 0)
                rc = pthread_mutex_init(m, &a);
            pthread_mutexattr_destroy(&a);
        }
    }
    if (rc != 0) {
        errno = rc;
        die("pthread_mutex_init(pshared=%d)", pshared);
    }
}

int lock_word(pthread_mutex_t *m)
{
    /* glibc keeps the futex word of every mutex kind in __data.__lock. */
    return __atomic_load_n(&m->__data.__lock, __ATOMIC_SEQ_CST);
}

int proc_asleep_in_futex(pid_t pid, const void *addr, struct proc_sleep *s)
{
    if (proc_sleep(pid, s) < 0)
        return 0;
    return s->state == 'S' && s->in_syscall && s->nr == SYS_futex &&
           s->arg[0] == (unsigned long)(uintptr_t)addr;
}

