/* accesslog.c — see accesslog.h (the buffering, the line, the O_APPEND guarantee). */
#include "accesslog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "sockaddr.h"

#define LINE_MAX_BYTES 640 /* peer 48 + time 30 + request ALOG_REQ_MAX+4 + status, bytes,
                              local 64 */
_Static_assert(LINE_MAX_BYTES <= PIPE_BUF, "a line must fit one atomic pipe write");

struct alog {
    int fd;
    int regular;         /* 1: one write per buffer; 0: whole lines, <= PIPE_BUF per write */
    int warned;          /* a write failure was reported */
    int local;           /* alog_name_local: lines end with the local address */
    struct evloop *el;
    struct ev_timer timer;
    time_t tcached;      /* the second tstr shows */
    char tstr[40];       /* "[23/Nov/2026:23:02:54 +0000]" */
    size_t len;
    char buf[ALOG_BUF];
};

static void on_timer(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)el, (void)t;
    alog_flush(ud);
}

struct alog *alog_open(const char *path, struct evloop *el)
{
    struct alog *al = malloc(sizeof *al);
    if (al == NULL)
        return NULL;
    al->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    struct stat st;
    if (al->fd < 0 || fstat(al->fd, &st) < 0) {
        int e = errno;
        if (al->fd >= 0)
            close(al->fd);
        free(al);
        errno = e;
        return NULL;
    }
    al->regular = S_ISREG(st.st_mode);
    al->warned = 0;
    al->local = 0;
    al->el = el;
    ev_timer_init(&al->timer, on_timer, al);
    al->tcached = (time_t)-1;
    al->len = 0;
    return al;
}

/* write(2) all of p[0, n): retried on EINTR and after a short write. Returns 0 or -1. */
static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

void alog_flush(struct alog *al)
{
    if (al == NULL || al->len == 0)
        return;
    int rc = 0;
    if (al->regular) {
        rc = write_all(al->fd, al->buf, al->len); /* ONE write(2), unless it is short */
    } else {
        /* Whole lines, at most PIPE_BUF bytes per write (a line is < PIPE_BUF). */
        size_t off = 0;
        while (rc == 0 && off < al->len) {
            size_t n = al->len - off;
            if (n > PIPE_BUF) {
                n = PIPE_BUF;
                while (n > 0 && al->buf[off + n - 1] != '\n')
                    n--;
                if (n == 0) /* no line ends within PIPE_BUF: cannot happen (LINE_MAX_BYTES) */
                    n = PIPE_BUF;
            }
            rc = write_all(al->fd, al->buf + off, n);
            off += n;
        }
    }
    if (rc < 0 && !al->warned) {
        warn_errno("access log: write (lines dropped; reported once)");
        al->warned = 1;
    }
    al->len = 0;
}

void alog_name_local(struct alog *al)
{
    if (al)
        al->local = 1;
}

int alog_reopen(struct alog *al, const char *path)
{
    if (al == NULL)
        return 0;
    alog_flush(al); /* the lines made before the signal: into the old (renamed) file */
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        errno = e;
        return -1;
    }
    if (close(al->fd) < 0)
        warn_errno("access log: close");
    al->fd = fd;
    al->regular = S_ISREG(st.st_mode);
    al->warned = 0;
    return 0;
}

void alog_close(struct alog *al)
{
    if (al == NULL)
        return;
    alog_flush(al);
    evloop_timer_stop(al->el, &al->timer);
    if (close(al->fd) < 0)
        warn_errno("access log: close");
    free(al);
}

/* Appends the escaped bytes of s to q->line (within ALOG_REQ_MAX). Returns 0, or -1
 * when it had to stop (the line is cut). */
static int put_escaped(struct alog_req *q, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        int plain = ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\';
        if (q->len + (plain ? 1 : 4) > ALOG_REQ_MAX)
            return -1;
        if (plain) {
            q->line[q->len++] = (char)ch;
        } else {
            q->line[q->len++] = '\\';
            q->line[q->len++] = 'x';
            q->line[q->len++] = hex[ch >> 4];
            q->line[q->len++] = hex[ch & 15];
        }
    }
    return 0;
}

static void local_of(struct alog_req *q, int fd)
{
    struct sa_any a;
    a.len = sizeof a.u;
    if (getsockname(fd, &a.u.sa, &a.len) < 0)
        snprintf(q->local, sizeof q->local, "-");
    else
        sa_format(&a.u.sa, a.len, q->local, sizeof q->local);
}

static void peer_of(struct alog_req *q, int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    const void *a = NULL;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            a = &((struct sockaddr_in *)&ss)->sin_addr;
        else if (ss.ss_family == AF_INET6)
            a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
    }
    if (a == NULL || inet_ntop(ss.ss_family, a, q->peer, sizeof q->peer) == NULL)
        snprintf(q->peer, sizeof q->peer, "-"); /* e.g. the client already reset */
}

/* Once per connection: the peer, and the local address when the lines name it. */
static void endpoints(const struct alog *al, struct alog_req *q, int fd)
{
    if (q->peer[0] != '\0')
        return;
    peer_of(q, fd);
    if (al->local)
        local_of(q, fd);
}

void alog_request(struct alog *al, struct alog_req *q, int fd, const struct http_request *req)
{
    if (al == NULL)
        return;
    endpoints(al, q, fd);
    char ver[12];
    snprintf(ver, sizeof ver, " HTTP/1.%d", req->minor_version);
    q->len = 0;
    if (put_escaped(q, req->method.p, req->method.len) < 0 || put_escaped(q, " ", 1) < 0 ||
        put_escaped(q, req->target.p, req->target.len) < 0 || put_escaped(q, ver, strlen(ver)) < 0) {
        memcpy(q->line + q->len, "...", 3); /* room: line has ALOG_REQ_MAX + 4 bytes */
        q->len += 3;
    }
}

void alog_reply(struct alog *al, struct alog_req *q, int fd, time_t now, const struct reply *r)
{
    if (al == NULL)
        return;
    endpoints(al, q, fd);
    if (now != al->tcached) { /* strftime once per second, not per line */
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(al->tstr, sizeof al->tstr, "[%d/%b/%Y:%H:%M:%S +0000]", &tm);
        al->tcached = now;
    }
    long long bytes = r->body != NULL ? (long long)r->body_len : r->file_fd >= 0 ? (long long)r->file_len : 0;
    char line[LINE_MAX_BYTES];
    int n = snprintf(line, sizeof line, "%s - - %s \"%.*s\" %d %lld%s%s\n", q->peer, al->tstr,
                     q->len ? (int)q->len : 1, q->len ? q->line : "-", r->status, bytes, al->local ? " " : "",
                     al->local ? q->local : "");
    q->len = 0; /* the next response answers the next request (or none) */
    if (n <= 0 || (size_t)n >= sizeof line)
        return; /* cannot happen: every part is bounded */
    if (al->len + (size_t)n > sizeof al->buf)
        alog_flush(al);
    memcpy(al->buf + al->len, line, (size_t)n);
    al->len += (size_t)n;
    if (!ev_timer_active(&al->timer) && evloop_timer_start(al->el, &al->timer, ALOG_FLUSH_MS, 0) < 0)
        alog_flush(al); /* no timer: do not let lines wait for an unbounded time */
}
