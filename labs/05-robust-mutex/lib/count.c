/* count.c — N processes x M increments of one shared counter (see l05.h). */
#include "l05.h"

#include <errno.h>
#include <sched.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pmutex.h"

/* Start together, so that the increments really overlap: count in, then yield until
 * every sibling has counted in (bounded, should one of them never arrive). */
static void start_line(struct l05_shared *s, int procs)
{
    __atomic_add_fetch(&s->started, 1, __ATOMIC_SEQ_CST);
    time_t give_up = time(NULL) + 5;
    while (__atomic_load_n(&s->started, __ATOMIC_SEQ_CST) < procs && time(NULL) < give_up)
        sched_yield();
}

static void child(struct l05_shared *s, int procs, long iters, int locked)
{
    start_line(s, procs);
    volatile long *ctr = &s->counter;
    for (long i = 0; i < iters; i++) {
        if (locked && pmutex_lock(&s->m) != 0)
            _exit(3);
        /* A separate load and store: two processes that load the same value both
         * store value+1, and one increment is lost — unless the mutex serialises. */
        long v = *ctr;
        *ctr = v + 1;
        if (locked && pmutex_unlock(&s->m) != 0)
            _exit(4);
    }
    _exit(0);
}

long l05_count(struct l05_shared *s, int procs, long iters, int locked)
{
    s->counter = 0;
    s->started = 0;
    int started = 0, failed = 0;
    for (; started < procs; started++) {
        pid_t pid = fork();
        if (pid < 0)
            break;
        if (pid == 0)
            child(s, procs, iters, locked);
    }
    int e = errno;
    if (started < procs)
        failed = 1;
    for (int i = 0; i < started; i++) {
        int st;
        if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            e = errno ? errno : EPROTO;
            failed = 1;
        }
    }
    if (failed) {
        errno = e ? e : EPROTO;
        return -1;
    }
    return s->counter;
}
