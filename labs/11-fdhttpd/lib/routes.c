/* routes.c — the route table (routes.h) and its three routes. */
#include "routes.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "conn.h"
#include "sockaddr.h"
#include "static.h"
#include "stats.h"

/* Every request asks each route whether it matches: the literals' lengths are known at
 * compile time (the macros), so the comparisons compile to a length test and a few
 * inline byte compares, no strlen or memcmp call. */
static inline int path_is_n(const struct http_request *req, const char *path, size_t n)
{
    return req->target.len >= n && memcmp(req->target.p, path, n) == 0 &&
           (req->target.len == n || req->target.p[n] == '?');
}

static inline int method_is_n(const struct http_request *req, const char *m, size_t n)
{
    return req->method.len == n && memcmp(req->method.p, m, n) == 0;
}

#define path_is(req, lit) path_is_n((req), "" lit, sizeof(lit) - 1)
#define method_is(req, lit) method_is_n((req), "" lit, sizeof(lit) - 1)

/* ---------------------------------------------------------------- /status */

static int status_match(const struct http_request *req)
{
    return path_is(req, "/status") && (method_is(req, "GET") || method_is(req, "HEAD"));
}

/* --status loopback: the peer's address is 127.0.0.0/8, ::1 or ::ffff:127.x.y.z. One
 * getpeername per /status request, none for any other request. */
static int peer_is_loopback(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss.ss_family == AF_INET6) {
        const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return 0;
}

/* The text goes into c->big: it must outlive the reply, which only points to it.
 * Refused (--status off, or loopback and a remote peer): 404, as if there were no page. */
static int status_answer(struct fdh_conn *c, const struct http_request *req, enum reply_conn conn, struct reply *r)
{
    (void)req;
    struct fdh_w *w = c->w;
    int mode = w->cfg->status_mode;
    if (mode == FDH_STATUS_OFF || (mode == FDH_STATUS_LOOPBACK && !peer_is_loopback(c->fd))) {
        reply_error(r, 404, conn, w->xworker, w->now);
        return 0;
    }
    if (fdh_big_reserve(c, FDH_OUT_MAX) < 0)
        return 503;
    size_t len = fdh_status_text(w->sh, w->cfg, c->big, c->bigcap);
    /* Which listening address this very request came in on (one getsockname, /status
     * only): the line an operator checks after adding an address. And what an idle
     * connection costs, the figure to multiply by --max-conns. */
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char addr[SA_TEXT_MAX];
    const char *local = getsockname(c->fd, (struct sockaddr *)&ss, &sl) == 0
                            ? sa_format((struct sockaddr *)&ss, sl, addr, sizeof addr)
                            : "?"; /* not expected on a connected socket; the rest still counts */
    if (len < c->bigcap) {
        int n = snprintf(c->big + len, c->bigcap - len, "this.local=%s\nconn.idle_bytes=%zu\n", local,
                         fdh_conn_idle_bytes(w->cfg->max_header_bytes));
        if (n > 0 && (size_t)n < c->bigcap - len)
            len += (size_t)n;
    }
    reply_simple(r, 200, "text/plain", c->big, len, w->xworker, conn, w->now);
    return 0;
}

/* ---------------------------------------------------------------- /echo */

static int echo_match(const struct http_request *req)
{
    return path_is(req, "/echo") && (method_is(req, "POST") || method_is(req, "PUT"));
}

static void echo_collect(struct fdh_conn *c, enum reply_conn conn, struct reply *r)
{
    struct fdh_w *w = c->w;
    reply_simple(r, 200, "application/octet-stream", c->big ? c->big : "", c->body_len, w->xworker, conn, w->now);
}

/* ---------------------------------------------------------------- files */

static int any(const struct http_request *req)
{
    (void)req;
    return 1;
}

static int files_answer(struct fdh_conn *c, const struct http_request *req, enum reply_conn conn, struct reply *r)
{
    struct fdh_w *w = c->w;
    if (w->site->root_fd >= 0)
        static_handle_cached(w->site, w->fc, req, w->now, w->date, w->xworker, r);
    else
        reply_error(r, 404, conn, w->xworker, w->now); /* no docroot at all */
    return 0;
}

static const struct fdh_route routes[] = {
    {.name = "status", .match = status_match, .answer = status_answer},
    {.name = "echo", .match = echo_match, .collect = echo_collect},
    {.name = "files", .match = any, .answer = files_answer},
};

const struct fdh_route *fdh_route_find(const struct http_request *req)
{
    const struct fdh_route *rt = routes;
    while (!rt->match(req))
        rt++;
    return rt;
}

int fdh_route_answer(const struct fdh_route *rt, struct fdh_conn *c, const struct http_request *req,
                     enum reply_conn conn, struct reply *r)
{
    int status = rt->answer(c, req, conn, r);
    if (status == 0 && method_is(req, "HEAD"))
        reply_drop_body(r);
    return status;
}
