/* naive.c — see naive.h. */
#include "naive.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

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

/* Reads a small /proc file into buf (NUL-terminated). */
static int read_small(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, size - 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        errno = EIO;
        return -1;
    }
    buf[n] = '\0';
    return 0;
}

int proc_sleep(pid_t pid, struct proc_sleep *s)
{
    char path[64], buf[1024];
    memset(s, 0, sizeof *s);
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_small(path, buf, sizeof buf) < 0)
        return -1;
    /* "pid (comm) S ...": comm may hold spaces and ')', so look after the LAST ')'. */
    char *close = strrchr(buf, ')');
    if (!close || close[1] != ' ' || close[2] == '\0') {
        errno = EPROTO;
        return -1;
    }
    s->state = close[2];
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
    if (read_small(path, buf, sizeof buf) < 0)
        return -1;
    /* "202 0xuaddr 0xop 0xval ..." while blocked in a call; "running" or "-1 ..." else. */
    if (sscanf(buf, "%ld %lx %lx %lx", &s->nr, &s->arg[0], &s->arg[1], &s->arg[2]) == 4 &&
        s->nr >= 0)
        s->in_syscall = 1;
    return 0;
}

int proc_asleep_in_futex(pid_t pid, const void *addr, struct proc_sleep *s)
{
    if (proc_sleep(pid, s) < 0)
        return 0;
    return s->state == 'S' && s->in_syscall && s->nr == SYS_futex &&
           s->arg[0] == (unsigned long)(uintptr_t)addr;
}

double mono_s(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
        die("clock_gettime(CLOCK_MONOTONIC)");
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}
