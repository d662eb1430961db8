/* io.c — see io.h. */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
        if (k < 0 && (errno == EINTR || errno == EAGAIN))
            continue; /* EAGAIN: a non-blocking fd whose data another reader took */
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

/* Milliseconds of CLOCK_MONOTONIC; -1 when the clock cannot be read. */
static long long mono_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
        return -1;
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 when pid has exited within ms (not yet reaped), 0 when not, -1 with errno. */
static int exited_within(pid_t pid, int ms)
{
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd >= 0) {
        int r = wait_readable(pidfd, ms); /* a pidfd is readable once the process exited */
        int e = errno;
        close(pidfd);
        errno = e;
        return r;
    }
    if (errno == ESRCH)
        return -1; /* not a live process */
    /* No pidfd (ENOSYS on old kernels, EMFILE, ...): look without reaping (WNOWAIT)
     * every millisecond. */
    long long end = mono_ms() + ms;
    for (;;) {
        siginfo_t si = {0};
        if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno != EINTR)
            return -1;
        if (si.si_pid == pid)
            return 1;
        long long now = mono_ms();
        if (now < 0 || now >= end)
            return 0;
        struct timespec one = {0, 1000000L};
        nanosleep(&one, NULL);
    }
}

int reap_bounded(pid_t pid, int ms)
{
    int r = exited_within(pid, ms);
    int e = errno;
    /* Not exited in time, or we could not watch it: end it, so the wait below is
     * short. (ESRCH: nothing to kill; waitpid says ECHILD.) */
    if (r == 0 || (r < 0 && e != ESRCH))
        kill(pid, SIGKILL); /* our own child, by pid; if this fails, waitpid tells */
    int st;
    pid_t w;
    do
        w = waitpid(pid, &st, 0);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        return -1; /* ECHILD: not our child, or already reaped */
    if (r <= 0) {
        errno = r == 0 ? ETIMEDOUT : e;
        return -1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    if (fstat(fd, &st) < 0)
        goto fail;
    if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
        goto fail;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto fail;
        if (n == 0)
            break; /* shrank meanwhile: what is there */
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    if (len)
        *len = got;
    return buf;
fail:;
    int e = errno;
    free(buf);
    close(fd);
    errno = e;
    return NULL;
}
