/* procinfo.c — see procinfo.h. */
#include "procinfo.h"
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Reads a small /proc file into buf (NUL-terminated) with one read: /proc/PID/stat
 * and /proc/PID/syscall are generated whole on the first read. */
static int read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size - 1);
    int e = errno;
    close(fd);
    if (n < 0) {
        errno = e;
        return -1;
    }
    buf[n] = '\0';
    return 0;
}

int proc_stat(pid_t pid, char *state, pid_t *pgrp)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_small(path, buf, sizeof buf) < 0)
        return -1;
    /* "pid (comm) S ppid pgrp ...": comm may hold spaces and ')', so look after the
     * LAST ')'. */
    char *close = strrchr(buf, ')');
    char st;
    int pg;
    if (!close || sscanf(close + 1, " %c %*d %d", &st, &pg) != 2) {
        errno = EPROTO;
        return -1;
    }
    if (state)
        *state = st;
    if (pgrp)
        *pgrp = (pid_t)pg;
    return 0;
}

int proc_sleep(pid_t pid, struct proc_sleep *s)
{
    memset(s, 0, sizeof *s);
    if (proc_stat(pid, &s->state, NULL) < 0)
        return -1;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
    if (read_small(path, buf, sizeof buf) < 0)
        return -1;
    /* "202 0xa 0xb 0xc ..." while blocked in a call; "running" or "-1 ..." otherwise. */
    if (sscanf(buf, "%ld %lx %lx %lx", &s->nr, &s->arg[0], &s->arg[1], &s->arg[2]) == 4 &&
        s->nr >= 0)
        s->in_syscall = 1;
    return 0;
}

int proc_asleep_in(pid_t pid, const long *nrs, size_t n)
{
    struct proc_sleep s;
    if (proc_sleep(pid, &s) < 0 || s.state != 'S' || !s.in_syscall)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s.nr == nrs[i])
            return 1;
    return 0;
}

int proc_is_sleeping(pid_t pid)
{
    char st;
    return proc_stat(pid, &st, NULL) == 0 && st == 'S';
}

int proc_wait_all_asleep(const pid_t *pids, size_t npids, const long *nrs, size_t n, int timeout_ms)
{
    double deadline = mono_s() + timeout_ms / 1000.0;
    for (;;) {
        int all = 1;
        for (size_t i = 0; i < npids && all; i++)
            all = proc_asleep_in(pids[i], nrs, n);
        if (all)
            return 0;
        if (mono_s() >= deadline) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct timespec ts = {0, 100000}; /* 100 µs: let the others run */
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
        }
    }
}
