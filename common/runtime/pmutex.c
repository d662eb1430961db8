/* pmutex.c — see pmutex.h. */
#include "pmutex.h"

#include <errno.h>
#include <time.h>

/* Every pthread call returns its error number; we also put it in errno (see header). */
static int ret(int rc)
{
    if (rc != 0)
        errno = rc;
    return rc;
}

int pmutex_init(pthread_mutex_t *m, int flags)
{
    if (flags & ~(PMUTEX_ROBUST | PMUTEX_ERRORCHECK))
        return ret(EINVAL);
    pthread_mutexattr_t a;
    int rc = pthread_mutexattr_init(&a);
    if (rc != 0)
        return ret(rc);
    rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (rc == 0 && (flags & PMUTEX_ROBUST))
        rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (rc == 0 && (flags & PMUTEX_ERRORCHECK))
        rc = pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
    if (rc == 0)
        rc = pthread_mutex_init(m, &a);
    pthread_mutexattr_destroy(&a);
    return ret(rc);
}

int pmutex_lock(pthread_mutex_t *m)
{
    return ret(pthread_mutex_lock(m));
}

int pmutex_timedlock(pthread_mutex_t *m, long timeout_ms)
{
    if (timeout_ms < 0)
        return ret(EINVAL);
    struct timespec t;
    if (clock_gettime(CLOCK_MONOTONIC, &t) < 0)
        return ret(errno);
    t.tv_sec += timeout_ms / 1000;
    t.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return ret(pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &t));
}

int pmutex_consistent(pthread_mutex_t *m)
{
    return ret(pthread_mutex_consistent(m));
}

int pmutex_unlock(pthread_mutex_t *m)
{
    return ret(pthread_mutex_unlock(m));
}

int pmutex_lock_repair(pthread_mutex_t *m, void (*repair)(void *arg), void *arg, int *repaired)
{
    if (repaired)
        *repaired = 0;
    int rc = pmutex_lock(m);
    if (rc != EOWNERDEAD)
        return rc;
    if (repair)
        repair(arg);
    rc = pmutex_consistent(m);
    if (rc != 0) {
        /* Leave m as the failed consistent found it; the caller does not hold it. */
        int e = rc;
        pthread_mutex_unlock(m);
        return ret(e);
    }
    if (repaired)
        *repaired = 1;
    return 0;
}

int pmutex_destroy(pthread_mutex_t *m)
{
    return ret(pthread_mutex_destroy(m));
}
