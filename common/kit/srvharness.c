/* srvharness.c — see srvharness.h. */
#include "srvharness.h"
#include "pdeath.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "kv.h"
#include "sock.h"

static int append(char **buf, size_t *len, int *fd)
{
    char tmp[4096];
    ssize_t n = read(*fd, tmp, sizeof tmp);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    if (n == 0) {
        close(*fd);
        *fd = -1;
        return 0;
    }
    char *p = realloc(*buf, *len + (size_t)n + 1);
    if (p == NULL)
        return -1;
    memcpy(p + *len, tmp, (size_t)n);
    *len += (size_t)n;
    p[*len] = '\0';
    *buf = p;
    return 0;
}

int fdh_srv_pump(struct fdh_srv *s, int ms)
{
    struct pollfd p[2] = {{.fd = s->outfd, .events = POLLIN}, {.fd = s->errfd, .events = POLLIN}};
    if (s->outfd < 0 && s->errfd < 0)
        return 1;
    if (poll(p, 2, ms) > 0) {
        if (s->outfd >= 0 && p[0].revents)
            append(&s->out, &s->outlen, &s->outfd);
        if (s->errfd >= 0 && p[1].revents)
            append(&s->err, &s->errlen, &s->errfd);
    }
    return s->outfd < 0 && s->errfd < 0;
}

static void reap_now(struct fdh_srv *s)
{
    if (s->pid > 0) {
        kill(-s->pid, SIGKILL);
        while (waitpid(s->pid, &s->status, 0) < 0 && errno == EINTR)
            ;
        s->pid = 0;
    }
}

int fdh_srv_start(struct fdh_srv *s, const char *bin, char *const argv[], double timeout_s)
{
    *s = (struct fdh_srv){.outfd = -1, .errfd = -1};
    s->out = calloc(1, 1);
    s->err = calloc(1, 1);
    int po[2], pe[2];
    if (s->out == NULL || s->err == NULL || pipe2(po, O_CLOEXEC) < 0)
        return -1;
    if (pipe2(pe, O_CLOEXEC) < 0) {
        close(po[0]), close(po[1]);
        return -1;
    }
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(po[0]), close(po[1]), close(pe[0]), close(pe[1]);
        return -1;
    }
    if (pid == 0) {
        /* If the caller dies (a failed test aborts), the server must not outlive it:
         * its master is killed, and its workers then see their channels close (and
         * have their own death signal). */
        die_with_parent(parent);
        setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        if (dup2(po[1], 1) < 0 || dup2(pe[1], 2) < 0)
            _exit(127);
        execv(bin, argv);
        dprintf(2, "exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid); /* both sides: whoever runs first, the group exists before use */
    close(po[1]);
    close(pe[1]);
    s->pid = s->pgid = pid;
    s->outfd = po[0];
    s->errfd = pe[0];
    double end = mono_s() + timeout_s;
    while (mono_s() < end) {
        fdh_srv_pump(s, 50);
        long port;
        char *l = kv_get(s->out, "listening");
        if (l && strrchr(l, ':') && kv_is(s->out, "ready", "1")) {
            port = strtol(strrchr(l, ':') + 1, NULL, 10);
            free(l);
            s->port = (uint16_t)port;
            return 0;
        }
        free(l);
        if (waitpid(s->pid, &s->status, WNOHANG) == s->pid) {
            s->pid = 0;
            errno = ECHILD;
            return -1;
        }
    }
    reap_now(s);
    errno = ETIMEDOUT;
    return -1;
}

int fdh_srv_wait(struct fdh_srv *s, double timeout_s)
{
    double end = mono_s() + timeout_s;
    while (s->pid > 0) {
        pid_t r = waitpid(s->pid, &s->status, WNOHANG);
        if (r == s->pid) {
            s->pid = 0;
            break;
        }
        if (mono_s() >= end) {
            reap_now(s);
            return -1;
        }
        fdh_srv_pump(s, 20);
    }
    /* The master has exited: read what is left (bounded: workers may hold the pipe). */
    for (int i = 0; i < 100 && !fdh_srv_pump(s, 20); i++)
        ;
    if (WIFSIGNALED(s->status))
        return 128 + WTERMSIG(s->status);
    return WEXITSTATUS(s->status);
}

int fdh_srv_leftovers(struct fdh_srv *s)
{
    if (s->pgid <= 0)
        return 0;
    int n = 0;
    DIR *d = opendir("/proc");
    if (d == NULL)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len <= 0)
            continue;
        buf[len] = '\0';
        /* pid (comm) state ppid pgrp ...: comm may hold spaces, so start after ')' */
        char *rp = strrchr(buf, ')');
        char state;
        int ppid, pgrp;
        if (rp && sscanf(rp + 1, " %c %d %d", &state, &ppid, &pgrp) == 3 && pgrp == s->pgid &&
            state != 'Z' && state != 'X')
            n++;
    }
    closedir(d);
    kill(-s->pgid, SIGKILL); /* whatever was left must not outlive the caller */
    return n;
}

void fdh_srv_free(struct fdh_srv *s)
{
    reap_now(s);
    if (s->outfd >= 0)
        close(s->outfd);
    if (s->errfd >= 0)
        close(s->errfd);
    s->outfd = s->errfd = -1;
    free(s->out);
    free(s->err);
    s->out = s->err = NULL;
}

static int wait_fd(int fd, short ev, int ms)
{
    struct pollfd p = {.fd = fd, .events = ev};
    int n;
    while ((n = poll(&p, 1, ms)) < 0 && errno == EINTR)
        ;
    if (n == 0)
        errno = ETIMEDOUT;
    return n > 0 ? 0 : -1;
}

ssize_t fdh_http(uint16_t port, const char *request, char *resp, size_t cap, int timeout_ms)
{
    int fd = tcp_connect("127.0.0.1", port, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return -1;
    size_t len = strlen(request), off = 0, got = 0;
    while (off < len) {
        if (wait_fd(fd, POLLOUT, timeout_ms) < 0)
            goto fail;
        ssize_t n = send(fd, request + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            goto fail;
        if (n > 0)
            off += (size_t)n;
    }
    for (;;) {
        if (wait_fd(fd, POLLIN, timeout_ms) < 0)
            goto fail;
        char tmp[4096];
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n < 0)
            goto fail;
        if (n == 0)
            break;
        size_t k = (size_t)n < cap - 1 - got ? (size_t)n : cap - 1 - got;
        memcpy(resp + got, tmp, k);
        got += k;
    }
    resp[got] = '\0';
    close(fd);
    return (ssize_t)got;
fail:;
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

int fdh_status(uint16_t port, char *body, size_t cap)
{
    char resp[32768];
    if (fdh_http(port, "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", resp,
                 sizeof resp, 5000) < 0)
        return -1;
    char *b = strstr(resp, "\r\n\r\n");
    if (strncmp(resp, "HTTP/1.1 200", 12) != 0 || b == NULL) {
        errno = EPROTO;
        return -1;
    }
    snprintf(body, cap, "%s", b + 4);
    return 0;
}
