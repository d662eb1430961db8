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

/* Same family and address (the port aside). */
static int same_host(const struct sa_any *a, const struct sa_any *b)
{
    if (a->u.sa.sa_family != b->u.sa.sa_family)
        return 0;
    if (a->u.sa.sa_family == AF_INET)
        return a->u.in4.sin_addr.s_addr == b->u.in4.sin_addr.s_addr;
    return memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, sizeof a->u.in6.sin6_addr) == 0;
}

int fdh_listener_check(int fd, const struct sa_any *want, int reuseport, struct sa_any *got, char *err,
                       size_t errlen)
{
    int acc, type, dom, rp;
    if (sockopt(fd, SO_ACCEPTCONN, &acc) < 0 || sockopt(fd, SO_TYPE, &type) < 0 ||
        sockopt(fd, SO_DOMAIN, &dom) < 0 || sockopt(fd, SO_REUSEPORT, &rp) < 0)
        return snprintf(err, errlen, "fd %d: not a socket (%s)", fd, strerror(errno)), -1;
    if (!acc || type != SOCK_STREAM || (dom != AF_INET && dom != AF_INET6))
        return snprintf(err, errlen, "fd %d: not a listening TCP socket (acceptconn=%d type=%d domain=%d)",
                        fd, acc, type, dom), -1;
    if (reuseport && !rp)
        return snprintf(err, errlen, "fd %d: SO_REUSEPORT is not set, accept=reuseport needs it", fd), -1;
    struct sa_any a;
    a.len = sizeof a.u;
    if (getsockname(fd, &a.u.sa, &a.len) < 0)
        return snprintf(err, errlen, "fd %d: getsockname: %s", fd, strerror(errno)), -1;
    int gport = sa_port(&a.u.sa);
    if (want && (!same_host(want, &a) || (sa_port(&want->u.sa) != 0 && sa_port(&want->u.sa) != gport))) {
        char g[SA_TEXT_MAX], w[SA_TEXT_MAX];
        return snprintf(err, errlen, "fd %d: bound to %s, expected %s", fd, sa_format(&a.u.sa, a.len, g, sizeof g),
                        sa_format(&want->u.sa, want->len, w, sizeof w)), -1;
    }
    if (got)
        *got = a;
    return gport;
}

/* names[0..n) from LISTEN_FDNAMES ("a:b:c"); "unknown" where it names none. */
static void fd_names(char (*names)[FDH_FDNAME_MAX], int n)
{
    const char *p = getenv("LISTEN_FDNAMES");
    for (int i = 0; i < n; i++) {
        size_t len = p ? strcspn(p, ":") : 0;
        if (len == 0 || len >= FDH_FDNAME_MAX)
            snprintf(names[i], FDH_FDNAME_MAX, "unknown");
        else
            snprintf(names[i], FDH_FDNAME_MAX, "%.*s", (int)len, p);
        p = p && p[len] == ':' ? p + len + 1 : NULL;
    }
}

int fdh_systemd_listeners(int *fds, char (*names)[FDH_FDNAME_MAX], int max, char *err, size_t errlen)
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
    fd_names(names, (int)n);
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    return (int)n;
}

#define BACKLOG 1024

void fdh_listeners_expect(struct fdh_listeners *ls, int naddr, int per)
{
    ls->n = 0;
    ls->naddr = naddr;
    ls->per = per;
    for (int a = 0; a < naddr; a++)
        ls->name[a][0] = '\0';
}

int fdh_listeners_bind(struct fdh_listeners *ls, const struct fdh_config *cfg, int retry_busy)
{
    int per = cfg->accept->nlisteners(cfg);
    int flags = SOCK_NONBLOCK | SOCK_CLOEXEC | (cfg->accept->reuseport ? SOCK_REUSEPORT : 0);
    fdh_listeners_expect(ls, cfg->nlisten, per);
    double end = mono_s() + 5;
    for (int a = 0; a < cfg->nlisten; a++) {
        char ip[SA_TEXT_MAX], *p = sa_format(&cfg->listen[a].u.sa, cfg->listen[a].len, ip, sizeof ip);
        *strrchr(p, ':') = '\0'; /* tcp_listen takes the address and the port apart */
        if (*p == '[')
            p++, p[strlen(p) - 1] = '\0';
        uint16_t port = (uint16_t)sa_port(&cfg->listen[a].u.sa);
        for (int k = 0; k < per; k++) {
            int fd;
            while ((fd = tcp_listen(p, port, BACKLOG, flags, &port)) < 0 && retry_busy && errno == EADDRINUSE &&
                   mono_s() < end)
                sleep_ms(5);
            if (fd < 0) {
                warn_errno("listen on %s (port %u)", ip, port);
                return -1;
            }
            ls->fd[ls->n++] = fd;
        }
        ls->addr[a] = cfg->listen[a];
        ls->addr[a].u.in4.sin_port = htons(port); /* sin_port and sin6_port share their place */
        sa_format(&ls->addr[a].u.sa, ls->addr[a].len, ls->text[a], sizeof ls->text[a]);
    }
    return 0;
}

int fdh_listeners_adopt(struct fdh_listeners *ls, int fd, const struct sa_any *want, int reuseport, char *err,
                        size_t errlen)
{
    int a = ls->n / ls->per, first = ls->n % ls->per == 0;
    if (a >= ls->naddr)
        return snprintf(err, errlen, "fd %d: more sockets than %d addresses x %d", fd, ls->naddr, ls->per), -1;
    struct sa_any got;
    if (fdh_listener_check(fd, first ? want : &ls->addr[a], reuseport, &got, err, errlen) < 0)
        return -1;
    if (first) {
        ls->addr[a] = got;
        sa_format(&got.u.sa, got.len, ls->text[a], sizeof ls->text[a]);
    }
    ls->fd[ls->n++] = fd;
    return 0;
}

int fdh_listeners_activated(struct fdh_listeners *ls, const struct fdh_config *cfg, const int *fds,
                            char (*names)[FDH_FDNAME_MAX], int n, char *err, size_t errlen)
{
    int per = cfg->accept->nlisteners(cfg);
    /* Group by bound address, in the order systemd passed them (ListenStream= order). */
    struct sa_any addr[FDH_MAX_ADDRS];
    int group[FDH_MAX_LISTENERS], count[FDH_MAX_ADDRS] = {0}, naddr = 0;
    if (n > FDH_MAX_LISTENERS)
        return snprintf(err, errlen, "socket activation passed %d sockets, at most %d", n, FDH_MAX_LISTENERS), -1;
    for (int i = 0; i < n; i++) {
        struct sa_any got;
        if (fdh_listener_check(fds[i], NULL, 0, &got, err, errlen) < 0) /* SO_REUSEPORT: at adopt, */
            return -1;                                                   /* after the counts */
        int g = 0;
        while (g < naddr && !(same_host(&addr[g], &got) && sa_port(&addr[g].u.sa) == sa_port(&got.u.sa)))
            g++;
        if (g == naddr && naddr == FDH_MAX_ADDRS)
            return snprintf(err, errlen, "socket activation: more than %d addresses", FDH_MAX_ADDRS), -1;
        if (g == naddr)
            addr[naddr++] = got;
        group[i] = g;
        count[g]++;
    }
    fdh_listeners_expect(ls, naddr, per);
    for (int g = 0; g < naddr; g++) {
        char t[SA_TEXT_MAX];
        sa_format(&addr[g].u.sa, addr[g].len, t, sizeof t);
        if (count[g] != per)
            return snprintf(err, errlen, "socket activation passed %d sockets for %s; accept=%s with %d workers "
                            "needs %d per address (reuseport: one per worker, the others: exactly one)", count[g], t,
                            cfg->accept->name, cfg->workers, per), -1;
        for (int i = 0; i < n; i++) {
            if (group[i] != g)
                continue;
            if (ls->n % per == 0)
                snprintf(ls->name[g], sizeof ls->name[g], "%s", names[i]);
            else if (strcmp(ls->name[g], names[i]) != 0)
                return snprintf(err, errlen, "socket activation: %s is named both %s and %s", t, ls->name[g],
                                names[i]), -1;
            if (fdh_listeners_adopt(ls, fds[i], &addr[g], cfg->accept->reuseport, err, errlen) < 0)
                return -1;
        }
    }
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
