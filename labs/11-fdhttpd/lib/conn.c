/* conn.c — one client connection in a worker's event loop (see worker.h).
 *
 * The request head is parsed by common/http_parse.h; what is answered is still the
 * process-model stand-in: GET/HEAD /status -> the shared statistics, any other
 * GET/HEAD -> "ok\n" naming the worker (X-Worker: <slot>), other methods -> 501.
 * Request bodies are not read yet (not yet: the next session); a request that
 * announces one is answered and the connection closed, so no body byte is ever
 * mistaken for the next request.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "http_parse.h"
#include "worker.h"

#define MAX_HEADERS 64

static void on_io(struct evloop *el, int fd, unsigned events, void *ud);
static void on_timeout(struct evloop *el, struct ev_timer *t, void *ud);

void fdh_conn_open(struct fdh_w *w, int fd)
{
    struct fdh_conn *c = malloc(sizeof *c);
    if (c == NULL) {
        warn_errno("worker %d: connection", w->slot);
        close(fd);
        return;
    }
    c->w = w;
    c->fd = fd;
    c->writing = c->close_after = c->eof = 0;
    c->inlen = c->prev_len = c->outlen = c->outoff = 0;
    ev_timer_init(&c->timer, on_timeout, c);
    if (evloop_io_add(w->el, fd, EV_READ, on_io, c) < 0 ||
        evloop_timer_start(w->el, &c->timer, FDH_IO_TIMEOUT_MS, 0) < 0) {
        warn_errno("worker %d: register fd %d", w->slot, fd);
        evloop_io_del(w->el, fd); /* ENOENT when the add itself failed: harmless */
        close(fd);
        free(c);
        return;
    }
    c->prev = NULL;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    atomic_fetch_add_explicit(&w->me->accepted, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->me->active, 1, memory_order_relaxed);
}

void fdh_conn_close(struct fdh_conn *c)
{
    struct fdh_w *w = c->w;
    evloop_timer_stop(w->el, &c->timer);
    evloop_io_del(w->el, c->fd); /* before close: the loop must forget the number */
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nconns--;
    atomic_fetch_sub_explicit(&w->me->active, 1, memory_order_relaxed);
    free(c);
    if (w->draining && w->nconns == 0)
        w->stop = 1; /* the last in-flight request is done */
}

/* A connection that has not received one byte of its next request is idle: on
 * drain it can be closed without losing anything. Bytes already in the socket (not
 * yet read) make it in flight — hence the peek, not just inlen. */
static int is_idle(const struct fdh_conn *c)
{
    if (c->writing || c->inlen > 0)
        return 0;
    char b;
    ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return !(n > 0);
}

void fdh_conn_drain(struct fdh_w *w)
{
    for (struct fdh_conn *c = w->conns, *next; c; c = next) {
        next = c->next;
        if (is_idle(c))
            fdh_conn_close(c);
        else
            c->close_after = 1; /* answer what is in flight, with Connection: close */
    }
    if (w->nconns == 0)
        w->stop = 1;
}

void fdh_conn_close_all(struct fdh_w *w)
{
    while (w->conns)
        fdh_conn_close(w->conns);
}

/* Formats the response into c->out. */
static void respond(struct fdh_conn *c, int status, const char *reason, const char *body, size_t blen,
                    int head_only)
{
    struct fdh_w *w = c->w;
    int n = snprintf(c->out, sizeof c->out,
                     "HTTP/1.1 %d %s\r\nServer: fdhttpd\r\nX-Worker: %d\r\n"
                     "Content-Type: text/plain\r\nContent-Length: %zu\r\nConnection: %s\r\n\r\n",
                     status, reason, w->slot, blen, c->close_after ? "close" : "keep-alive");
    size_t len = n > 0 ? (size_t)n : 0;
    if (!head_only) {
        if (blen > sizeof c->out - len)
            blen = sizeof c->out - len; /* cannot happen: bodies are sized for out */
        memcpy(c->out + len, body, blen);
        len += blen;
    }
    c->outlen = len;
    c->outoff = 0;
    c->writing = 1;
}

static int target_is(const struct http_request *req, const char *path)
{
    size_t n = strlen(path);
    return req->target.len == n && memcmp(req->target.p, path, n) == 0;
}

/* Looks for a complete request head in c->in; when there is one, prepares the
 * response and returns 1; returns 0 when more bytes are needed. */
static int parse_and_respond(struct fdh_conn *c)
{
    static const struct http_limits lim = {.max_line = 4096, .max_head = FDH_IN_MAX - 1,
                                           .max_headers = MAX_HEADERS};
    struct http_header headers[MAX_HEADERS];
    struct http_request req;
    ssize_t r = http_parse_request(c->in, c->inlen, c->prev_len, &lim, headers, &req);
    if (r == -2) {
        c->prev_len = c->inlen;
        return 0;
    }
    c->prev_len = 0;
    if (r == -1) {
        c->close_after = 1;
        c->inlen = 0;
        char body[64];
        int n = snprintf(body, sizeof body, "%s\n", req.reason ? req.reason : "bad request");
        respond(c, req.status > 0 ? req.status : 400, "Error", body, (size_t)n, 0);
        return 1;
    }
    int head = req.method.len == 4 && memcmp(req.method.p, "HEAD", 4) == 0;
    int get = req.method.len == 3 && memcmp(req.method.p, "GET", 3) == 0;
    /* Not yet: bodies. Answer, then close, so body bytes are never read as a request. */
    if (!req.keep_alive || req.body != HTTP_BODY_NONE || c->w->draining)
        c->close_after = 1;
    /* Keep the bytes after this head (a pipelined request) for the next round. */
    memmove(c->in, c->in + r, c->inlen - (size_t)r);
    c->inlen -= (size_t)r;
    if (!get && !head) {
        c->close_after = 1;
        respond(c, 501, "Not Implemented", "not implemented\n", 16, 0);
    } else if (target_is(&req, "/status")) {
        char body[FDH_OUT_MAX - 512];
        size_t n = fdh_status_text(c->w->sh, c->w->cfg, body, sizeof body);
        respond(c, 200, "OK", body, n, head);
    } else {
        respond(c, 200, "OK", "ok\n", 3, head);
    }
    return 1;
}

/* Writes what is pending. Returns 1 when the connection was closed. */
static int do_write(struct fdh_conn *c)
{
    struct fdh_w *w = c->w;
    while (c->outoff < c->outlen) {
        ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                if (evloop_io_mod(w->el, c->fd, EV_WRITE) < 0)
                    die("evloop_io_mod");
                return 0;
            }
            fdh_conn_close(c); /* EPIPE, ECONNRESET: the client is gone */
            return 1;
        }
        c->outoff += (size_t)n;
        evloop_timer_start(w->el, &c->timer, FDH_IO_TIMEOUT_MS, 0);
    }
    atomic_fetch_add_explicit(&w->me->requests, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->me->bytes, (long)c->outlen, memory_order_relaxed);
    c->writing = 0;
    if (c->close_after) {
        fdh_conn_close(c);
        return 1;
    }
    if (evloop_io_mask(w->el, c->fd) != EV_READ && evloop_io_mod(w->el, c->fd, EV_READ) < 0)
        die("evloop_io_mod");
    return 0;
}

/* Reads what has arrived. Returns 1 when the connection was closed. */
static int do_read(struct fdh_conn *c)
{
    while (c->inlen < sizeof c->in) {
        ssize_t n = read(c->fd, c->in + c->inlen, sizeof c->in - c->inlen);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return 0;
            fdh_conn_close(c);
            return 1;
        }
        if (n == 0) {
            if (c->inlen == 0) { /* closed between requests: nothing to answer */
                fdh_conn_close(c);
                return 1;
            }
            /* Half-closed after sending (shutdown(SHUT_WR)): answer what is complete
             * in the buffer, then close. */
            c->eof = c->close_after = 1;
            return 0;
        }
        c->inlen += (size_t)n;
        evloop_timer_start(c->w->el, &c->timer, FDH_IO_TIMEOUT_MS, 0);
    }
    return 0; /* full: the parser decides (431 when no head fits) */
}

static void on_io(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)el;
    (void)fd;
    struct fdh_conn *c = ud;
    if (c->writing) {
        if (do_write(c))
            return;
    } else if (!c->eof && (events & (EV_READ | EV_HUP | EV_ERR))) {
        if (do_read(c))
            return;
    }
    /* Answer every complete request in the buffer (pipelining), one at a time: a
     * response that cannot be written at once waits for EV_WRITE. */
    while (!c->writing && c->inlen > 0 && parse_and_respond(c)) {
        if (do_write(c))
            return;
    }
    if (c->eof && !c->writing)
        fdh_conn_close(c); /* an incomplete request can never be completed now */
}

static void on_timeout(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)el;
    (void)t;
    fdh_conn_close(ud);
}
