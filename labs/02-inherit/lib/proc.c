/* proc.c — see proc.h. */
#include "proc.h"

#include <errno.h>
#include <linux/kcmp.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int kcmp_file(pid_t p1, pid_t p2, int fd1, int fd2)
{
    /* glibc has no wrapper for kcmp(2). */
    return (int)syscall(SYS_kcmp, p1, p2, KCMP_FILE, (unsigned long)fd1, (unsigned long)fd2);
}

int wait_readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n;
    do
        n = poll(&p, 1, ms);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -1 : n;
}

ssize_t read_full(int fd, void *buf, size_t n, int ms)
{
    size_t got = 0;
    while (got < n) {
        int r = wait_readable(fd, ms);
        if (r < 0)
            return -1;
        if (r == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        ssize_t k = read(fd, (char *)buf + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        got += (size_t)k;
    }
    return (ssize_t)got;
}

ssize_t read_line(int fd, char *buf, size_t cap, int ms)
{
    for (size_t i = 0; i + 1 < cap; i++) {
        ssize_t k = read_full(fd, buf + i, 1, ms);
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        if (buf[i] == '\n') {
            buf[i] = '\0';
            return (ssize_t)i;
        }
    }
    errno = EPROTO;
    return -1;
}

int reap(pid_t pid, int ms)
{
    int timed_out = 0;
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd >= 0) {
        int r = wait_readable(pidfd, ms); /* a pidfd is readable once the process exited */
        close(pidfd);
        if (r == 0) {
            timed_out = 1;
            kill(pid, SIGKILL);
        }
    }
    int st;
    pid_t w;
    do
        w = waitpid(pid, &st, 0);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        return -1;
    if (timed_out) {
        errno = ETIMEDOUT;
        return -1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
