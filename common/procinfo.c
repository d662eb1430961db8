/* procinfo.c — see procinfo.h. */
#include "procinfo.h"

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

static int read_state(pid_t pid, char *state)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_small(path, buf, sizeof buf) < 0)
        return -1;
    /* "pid (comm) S ...": comm may hold spaces and ')', so look after the LAST ')'. */
    char *close = strrchr(buf, ')');
    if (!close || close[1] != ' ' || close[2] == '\0') {
        errno = EPROTO;
        return -1;
    }
    *state = close[2];
    return 0;
}

int proc_sleep(pid_t pid, struct proc_sleep *s)
{
    memset(s, 0, sizeof *s);
    if (read_state(pid, &s->state) < 0)
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

int proc_asleep_in(pid_t pid, long nr)
{
    struct proc_sleep s;
    return proc_sleep(pid, &s) == 0 && s.state == 'S' && s.in_syscall && s.nr == nr;
}

int proc_is_sleeping(pid_t pid)
{
    char st;
    return read_state(pid, &st) == 0 && st == 'S';
}

int proc_wait_asleep_in(pid_t pid, const long *nrs, size_t n, int timeout_ms)
{
    for (int waited = 0;; waited++) {
        struct proc_sleep s;
        if (proc_sleep(pid, &s) < 0)
            return -1;
        if (s.state == 'S' && s.in_syscall)
            for (size_t i = 0; i < n; i++)
                if (s.nr == nrs[i])
                    return 0;
        if (waited >= timeout_ms) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct timespec ms = {0, 1000000L};
        while (nanosleep(&ms, &ms) < 0 && errno == EINTR) {
        }
    }
}
