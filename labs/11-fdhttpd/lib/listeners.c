/* listeners.c — the master's listening sockets (listeners.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "accept.h"
#include "clock.h"
#include "err.h"
#include "listeners.h"
#include "sock.h"

static int sockopt(int fd, int opt, int *v)
{
    socklen_t len = sizeof *v;
    return getsockopt(fd, SOL_SOCKET, opt, v, &len);
}

int fdh_listener_check(int fd, const char *ip, uint16_t port, int reuseport, char *err, size_t errlen)
{
    int acc, type, dom, rp;
    if (sockopt(fd, SO_ACCEPTCONN, &acc) < 0 || sockopt(fd, SO_TYPE, &type) < 0 ||
        sockopt(fd, SO_DOMAIN, &dom) < 0 || sockopt(fd, SO_REUSEPORT, &rp) < 0)
        return snprintf(err, errlen, "fd %d: not a socket (%s)", fd, strerror(errno)), -1;
    if (!acc || type != SOCK_STREAM || dom != AF_INET)
        return snprintf(err, errlen, "fd %d: not a listening TCP/IPv4 socket (acceptconn=%d type=%d domain=%d)",
                        fd, acc, type, dom), -1;
    if (reuseport && !rp)
        return snprintf(err, errlen, "fd %d: SO_REUSEPORT is not set, accept=reuseport needs it", fd), -1;
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        return snprintf(err, errlen, "fd %d: getsockname: %s", fd, strerror(errno)), -1;
    char got[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sa.sin_addr, got, sizeof got);
    uint16_t gport = ntohs(sa.sin_port);
    if ((ip && strcmp(ip, got) != 0) || (port && port != gport))
        return snprintf(err, errlen, "fd %d: bound to %s:%u, expected %s:%u", fd, got, gport, ip ? ip : "*",
                        port), -1;
    return gport;
}

int fdh_systemd_listeners(int *fds, int max, char *err, size_t errlen)
{
    const char *spid = getenv("LISTEN_PID"), *sfds = getenv("LISTEN_FDS");
    if (spid == NULL || sfds == NULL)
        return 0;
    char *end;
    errno = 0;
    long pid = strtol(spid, &end, 10);
    if (errno || *end || pid != getpid())
        return 0; /* meant for another process (e.g. we are its child): leave it */
    errno = 0;
    long n = strtol(sfds, &end, 10);
    if (errno || *end || n < 0 || n > max)
        return snprintf(err, errlen, "LISTEN_FDS='%s': want 0..%d", sfds, max), -1;
    if (n == 0) { /* sd_listen_fds(3): 0 is "none passed", not an error; bind ourselves */
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_FDNAMES");
        return 0;
    }
    for (int i = 0; i < n; i++) {
        int fd = 3 + i; /* SD_LISTEN_FDS_START */
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
            return snprintf(err, errlen, "LISTEN_FDS: fd %d: %s", fd, strerror(errno)), -1;
        fds[i] = fd;
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    return (int)n;
}

#define BACKLOG 1024

int fdh_listeners_bind(struct fdh_listeners *ls, const struct fdh_config *cfg, int retry_busy)
{
    int n = cfg->accept->nlisteners(cfg);
    int flags = SOCK_NONBLOCK | SOCK_CLOEXEC | (cfg->accept->reuseport ? SOCK_REUSEPORT : 0);
    ls->port = cfg->port;
    double end = mono_s() + 5;
    for (int i = 0; i < n; i++) {
        int fd;
        while ((fd = tcp_listen(cfg->ip, ls->port, BACKLOG, flags, &ls->port)) < 0 && retry_busy &&
               errno == EADDRINUSE && mono_s() < end)
            sleep_ms(5);
        if (fd < 0) {
            warn_errno("listen on %s:%u", cfg->ip, ls->port);
            return -1;
        }
        ls->fd[ls->n++] = fd;
    }
    return 0;
}

int fdh_listeners_adopt(struct fdh_listeners *ls, int fd, const char *ip, int reuseport, char *err, size_t errlen)
{
    int p = fdh_listener_check(fd, ip, ls->port, reuseport, err, errlen);
    if (p < 0)
        return -1;
    ls->port = (uint16_t)p;
    ls->fd[ls->n++] = fd;
    return 0;
}

int fdh_listeners_activated(struct fdh_listeners *ls, const struct fdh_config *cfg, const int *fds, int n,
                            char *err, size_t errlen)
{
    int want = cfg->accept->nlisteners(cfg);
    if (n != want)
        return snprintf(err, errlen, "socket activation passed %d sockets; accept=%s with %d workers needs %d "
                        "(reuseport: one per worker, the others: exactly one)", n, cfg->accept->name,
                        cfg->workers, want), -1;
    ls->port = 0;
    for (int i = 0; i < n; i++)
        if (fdh_listeners_adopt(ls, fds[i], NULL, cfg->accept->reuseport, err, errlen) < 0)
            return -1;
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    if (getsockname(fds[0], (struct sockaddr *)&sa, &len) < 0 ||
        !inet_ntop(AF_INET, &sa.sin_addr, ls->ip, sizeof ls->ip))
        return snprintf(err, errlen, "getsockname: %s", strerror(errno)), -1;
    return 0;
}

void fdh_listeners_close(struct fdh_listeners *ls, struct evloop *el)
{
    for (int i = 0; i < ls->n; i++) {
        if (ls->fd[i] < 0)
            continue;
        if (el && evloop_io_mask(el, ls->fd[i]))
            evloop_io_del(el, ls->fd[i]);
        close(ls->fd[i]);
        ls->fd[i] = -1;
    }
}
