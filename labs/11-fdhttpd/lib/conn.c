/* conn.c — a connection's exchange: read, parse a head and dispatch it to the route
 * table (routes.h), queue the reply, send. States and timers: conn.h.
 *
 * Files come through the worker's open-file cache (static_handle_cached, fcache.h):
 * a small file's bytes are in memory, a big file's descriptor is shared; either is
 * PINNED while this connection sends it (c->tpin), never closed here.
 *
 * Output (fdh_conn_emit, flush): response heads and small bodies are appended to c->out;
 * a response with a big body or a file leaves that part as the "tail" (tmem, or tfd
 * sent with sendfile(2) from toff for tleft bytes). While output is below FDH_BATCH_MAX
 * and no tail is pending, further pipelined requests are answered first, so their
 * responses leave in ONE sendmsg(2) — with a memory tail as its second piece, and
 * MSG_MORE when a file follows. A short write or EAGAIN keeps every offset in the
 * connection and resumes on EV_WRITE.
 *
 * System calls (what make bench-server counts): a kept-alive request costs one read
 * and one sendmsg (do_read reads once per readiness report: level-triggered); a
 * Connection: close exchange adds accept4, the epoll_ctl ADD and close — no
 * EPOLL_CTL_DEL (fdh_conn_close), no MSG_PEEK (conn_end.c), no TCP_NODELAY (set only
 * once a connection is kept alive).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "fcache.h"
#include "conn.h"
#include "routes.h"

#define SENDFILE_CHUNK (1L << 30) /* bytes per sendfile call (the kernel's cap is ~2 GiB) */

/* The worker's clock for what an event answers — Date (now, date: formatted only when
 * the second changes) and the cache's trust period (fcache_tick) — taken at the start
 * of every connection event: a refresh once per loop iteration would run BEFORE the
 * next epoll_wait, and the first answer after an idle wait would carry a Date as old
 * as the idle time (and trust cache entries that long past FC_VALID_MS). time() is a
 * vDSO read, not a system call. */
void fdh_conn_clock(struct fdh_w *w)
{
    time_t now = time(NULL);
    if (now != w->now) {
        w->now = now;
        http_date_format(now, w->date);
    }
    fcache_tick(w->fc, evloop_now_ms(w->el)); /* the loop's time, taken after the wait */
}

/* Makes the fd's interest exactly mask, registering it the first time (fdh_conn_open
 * does not). Returns 0, or -1 after closing the connection (the registration failed). */
int fdh_conn_want(struct fdh_conn *c, unsigned mask)
{
    struct evloop *el = c->w->el;
    unsigned cur = evloop_io_mask(el, c->fd);
    if (cur == mask)
        return 0;
    if (cur != 0) {
        if (evloop_io_mod(el, c->fd, mask) < 0)
            die("worker %d: evloop_io_mod", c->w->slot); /* a registered socket: cannot */
        return 0;
    }
    if (evloop_io_add(el, c->fd, mask, fdh_conn_on_io, c) < 0) {
        warn_errno("worker %d: register fd %d", c->w->slot, c->fd);
        fdh_conn_close(c);
        return -1;
    }
    return 0;
}

/* Drops the tail's file or memory: unpin a cache entry, or close an owned file. */
static void tail_release(struct fdh_conn *c)
{
    if (c->tpin != NULL)
        fcache_unref(c->tpin);
    else if (c->tfd >= 0)
        close(c->tfd);
    c->tpin = NULL;
    c->tfd = -1;
    c->tmem = NULL;
}

void fdh_conn_close(struct fdh_conn *c)
{
    struct fdh_w *w = c->w;
    evloop_timer_stop(w->el, &c->timer);
    /* The loop must forget the number before close. A connection this worker accepted
     * (accept4, SOCK_CLOEXEC; never dup'ed; the worker never forks) is the only
     * reference to its socket, so close(2) removes it from the epoll set by itself:
     * evloop_io_forget saves the EPOLL_CTL_DEL. A passed one (passfd) may still be
     * referenced by the master for a moment after it sent it: EPOLL_CTL_DEL. */
    if (c->own)
        evloop_io_forget(w->el, c->fd);
    else
        evloop_io_del(w->el, c->fd);
    close(c->fd);
    tail_release(c);
    reply_release(&c->r);
    fdh_big_release(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nconns--;
    atomic_fetch_sub_explicit(&w->me->active, 1, memory_order_relaxed);
    free(c); /* the worker looks at nconns after each round (drained? accept again?) */
}

void fdh_conn_close_all(struct fdh_w *w)
{
    while (w->conns)
        fdh_conn_close(w->conns);
}

int fdh_conn_pending(const struct fdh_conn *c)
{
    return c->outoff < c->outlen || c->tmem != NULL || c->tfd >= 0;
}

/* Queues a complete reply: its head (and a small body) into out, a big body or its
 * file as the tail. Takes the file descriptor out of *r. */
void fdh_conn_emit(struct fdh_conn *c, struct reply *r)
{
    /* Room: emit runs only with outlen <= FDH_BATCH_MAX (advance), and a head is at
     * most REPLY_HEAD_MAX; the 100 Continue line is tiny. */
    alog_reply(c->w->alog, &c->alreq, c->fd, c->w->now, r);
    if (!r->close && !c->nodelay) {
        /* Kept alive: from now on Nagle could hold back a small response behind an
         * unacknowledged one until the client's delayed ACK (~40 ms per pipelined batch,
         * found by make bench-server). Set lazily, as nginx does: a connection that
         * closes after its first response never pays the setsockopt. Not fatal. */
        int one = 1;
        if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
            warn_errno("worker %d: TCP_NODELAY", c->w->slot);
        c->nodelay = 1;
    }
    memcpy(c->out + c->outlen, r->head, r->head_len);
    c->outlen += r->head_len;
    if (r->body != NULL && r->body_len > 0) {
        if (r->body_len <= sizeof c->out - c->outlen) {
            memcpy(c->out + c->outlen, r->body, r->body_len); /* one send with the head */
            c->outlen += r->body_len;
        } else {
            /* static text, c->big, or a cached file's bytes (then pinned): each
             * outlives the send; flush writes it with the head in one sendmsg */
            c->tmem = r->body;
            c->tmem_len = r->body_len;
            c->tmem_off = 0;
            c->tpin = r->pin;
            r->pin = NULL;
        }
    } else if (r->file_fd >= 0 && r->file_len > 0) {
        c->tfd = r->file_fd; /* owned, or borrowed from the pinned cache entry */
        r->file_fd = -1;
        c->tpin = r->pin;
        r->pin = NULL;
        c->toff = r->file_off;
        c->tleft = r->file_len;
    }
    reply_release(r);
    if (r->close)
        c->last = 1;
    if (c->tmem != NULL || c->tfd >= 0)
        c->state = CS_SEND; /* nothing more is parsed until the tail is out */
    atomic_fetch_add_explicit(&c->w->me->requests, 1, memory_order_relaxed);
}

/* What is buffered is dropped. */
void fdh_conn_emit_error(struct fdh_conn *c, int status)
{
    struct reply r;
    reply_release(&c->r);
    c->have_r = 0;
    reply_error(&r, status, REPLY_CLOSE, c->w->xworker, c->w->now);
    fdh_conn_emit(c, &r);
    c->last = 1;
    c->dirty = 1;
    c->inlen = 0;
    c->state = c->state == CS_SEND ? CS_SEND : CS_HEAD;
}

void fdh_conn_consume(struct fdh_conn *c, size_t n)
{
    memmove(c->in, c->in + n, c->inlen - n);
    c->inlen -= n;
}

/* Whether the answer to req keeps the connection. Draining: "Connection: close" goes on
 * the LAST request already buffered. The requests pipelined before it were sent by the
 * client already; closing after the first would drop them unanswered (the client
 * would have to resend them). */
static enum reply_conn conn_of(const struct fdh_conn *c, struct http_request *req, size_t n)
{
    if ((c->w->draining || c->close_after) && !(req->body == HTTP_BODY_NONE && c->inlen > n))
        req->keep_alive = 0; /* the static files route reads it too */
    return reply_conn_of(req->keep_alive, req->minor_version);
}

/* The rest of a request-line too long for the buffer: dropped as it comes, checked by
 * http_line_scan (400 when malformed, 414 when well-formed). Returns 1 when answered. */
static int long_line(struct fdh_conn *c)
{
    size_t used;
    int st = http_line_scan(&c->ls, c->in, c->inlen, &used);
    c->inlen = 0;
    if (st == 0)
        return 0;
    c->longline = 0;
    fdh_conn_emit_error(c, st);
    return 1;
}

/* A complete head in c->in? Then parse it and hand it to its route (routes.h).
 * Returns 1 on progress, 0 when more bytes are needed. */
static int on_head(struct fdh_conn *c)
{
    struct fdh_w *w = c->w;
    struct http_request req;
    if (c->longline)
        return long_line(c);
    ssize_t n = http_parse_request(c->in, c->inlen, c->prev_len, &w->lim, w->headers, &req);
    if (n == -2) {
        c->prev_len = c->inlen;
        return 0;
    }
    if (n == -1 && req.status == 414) {
        /* the head timer goes on: the whole line must arrive within it */
        c->prev_len = 0;
        c->longline = 1;
        memset(&c->ls, 0, sizeof c->ls);
        return long_line(c);
    }
    c->prev_len = 0;
    c->tmode = T_NONE; /* the next head gets its own head timer */
    if (n == -1) {
        fdh_conn_emit_error(c, req.status > 0 ? req.status : 400);
        return 1;
    }
    alog_request(w->alog, &c->alreq, c->fd, &req);
    enum reply_conn conn = conn_of(c, &req, (size_t)n);
    const struct fdh_route *rt = fdh_route_find(&req);
    struct reply r;
    r.file_fd = -1;
    r.pin = NULL;
    int status = rt->collect ? 0 : fdh_route_answer(rt, c, &req, conn, &r);
    if (status != 0) {
        fdh_conn_emit_error(c, status);
        return 1;
    }
    if (req.body != HTTP_BODY_NONE) /* read before the answer goes out */
        return fdh_body_start(c, &req, (size_t)n, conn, rt->collect ? rt : NULL, &r);
    fdh_conn_consume(c, (size_t)n);
    if (rt->collect) {
        c->body_len = 0;
        rt->collect(c, conn, &r);
    }
    fdh_conn_emit(c, &r);
    return 1;
}

/* Sends what is queued. Returns 2 when everything went out, 0 when the socket is full
 * (EV_WRITE armed), 1 when the connection was closed. */
static int flush(struct fdh_conn *c)
{
    struct fdh_w *w = c->w;
    /* out and a memory tail leave together: ONE sendmsg of two pieces (MSG_MORE when a
     * file follows, so the head and the file's first bytes share segments). */
    while (c->outoff < c->outlen || (c->tmem != NULL && c->tmem_off < c->tmem_len)) {
        struct iovec iov[2];
        struct msghdr mh = {.msg_iov = iov};
        size_t first = c->outlen - c->outoff;
        if (first > 0)
            iov[mh.msg_iovlen++] = (struct iovec){c->out + c->outoff, first};
        if (c->tmem != NULL && c->tmem_off < c->tmem_len)
            iov[mh.msg_iovlen++] = (struct iovec){(char *)c->tmem + c->tmem_off, c->tmem_len - c->tmem_off};
        ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | (c->tfd >= 0 ? MSG_MORE : 0));
        if (n < 0)
            goto error;
        atomic_fetch_add_explicit(&w->me->writes, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&w->me->bytes, n, memory_order_relaxed);
        c->progress = 1;
        size_t k = (size_t)n < first ? (size_t)n : first;
        c->outoff += k;
        c->tmem_off += (size_t)n - k;
    }
    c->outoff = c->outlen = 0;
    if (c->tmem != NULL) {
        c->tmem = NULL;
        if (c->tfd < 0)
            tail_release(c); /* drops a pinned cache entry */
    }
    while (c->tfd >= 0 && c->tleft > 0) {
        ssize_t n = sendfile(c->fd, c->tfd, &c->toff, c->tleft < SENDFILE_CHUNK ? (size_t)c->tleft : SENDFILE_CHUNK);
        if (n < 0)
            goto error;
        if (n == 0) { /* the file shrank: the Content-Length sent cannot be kept */
            fdh_conn_close(c);
            return 1;
        }
        c->tleft -= n;
        c->progress = 1;
        atomic_fetch_add_explicit(&w->me->writes, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&w->me->bytes, n, memory_order_relaxed);
    }
    if (c->tfd >= 0)
        tail_release(c);
    if (c->state == CS_SEND)
        c->state = CS_HEAD;
    if (c->big != NULL && c->state != CS_BODY)
        fdh_big_release(c); /* the response that pointed into it is out; a body being
                               collected (CS_BODY, after a 100 Continue) keeps it */
    return 2;
error:
    if (errno == EAGAIN || errno == EINTR) {
        return fdh_conn_want(c, EV_WRITE) < 0 ? 1 : 0;
    }
    fdh_conn_close(c); /* EPIPE, ECONNRESET: the client is gone */
    return 1;
}

/* Reads what has arrived: ONE read per readiness report. The listener and the
 * connections are level-triggered, so a read that did not fill the buffer is not
 * repeated until it ends in EAGAIN: epoll_wait says when more arrives (pipelined
 * bytes already in c->in are answered by advance, without reading). Returns 1 when
 * the connection was closed. */
static int do_read(struct fdh_conn *c)
{
    size_t cap = (size_t)c->w->cfg->max_header_bytes + 1;
    c->rfull = 0;
    while (c->inlen < cap) {
        size_t room = cap - c->inlen;
        ssize_t n = read(c->fd, c->in + c->inlen, room);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return 0;
            fdh_conn_close(c);
            return 1;
        }
        if (n == 0) {
            if (c->inlen == 0 && c->state == CS_HEAD && !fdh_conn_pending(c)) {
                fdh_conn_close(c); /* closed between requests: nothing to answer */
                return 1;
            }
            /* Half-closed after sending (shutdown(SHUT_WR)): answer what is complete
             * in the buffer, then close. */
            c->eof = 1;
            return 0;
        }
        c->inlen += (size_t)n;
        c->progress = 1;
        if (c->state == CS_BODY)
            c->body_rx += (uint64_t)n;
        c->rfull = (size_t)n == room;
        return 0; /* full: the parser or the body reader makes room; else: all there was */
    }
    return 0;
}

/* Arms the timer for what the connection waits for now (conn.h). */
static void set_timer(struct fdh_conn *c)
{
    const struct fdh_config *cfg = c->w->cfg;
    enum fdh_tmode m = fdh_conn_pending(c)             ? T_SEND
                       : c->state == CS_BODY           ? T_BODY
                       : c->inlen > 0 || c->longline ? T_HEAD
                                                       : T_IDLE;
    int restart = c->progress && (m == T_SEND || m == T_BODY);
    c->progress = 0;
    if (m == c->tmode && !restart)
        return;
    long ms = m == T_IDLE ? cfg->keepalive_timeout_ms : m == T_HEAD ? cfg->header_timeout_ms : cfg->io_timeout_ms;
    if (m == T_BODY) {
        /* Progress restarts the io timeout, within the body's deadline (conn.h): one
         * byte every io-timeout/2 no longer holds a connection for ever. */
        long long left = c->body_t0 + cfg->io_timeout_ms + (long long)(c->body_rx * 1000 / FDH_BODY_MIN_RATE) -
                         (long long)evloop_now_ms(c->w->el);
        if (left < ms)
            ms = left > 0 ? (long)left : 1;
    }
    c->tmode = m;
    evloop_timer_start(c->w->el, &c->timer, ms, 0);
}

/* Answers what is complete in the buffer and sends. Returns 1 when closed. */
static int advance(struct fdh_conn *c)
{
    for (;;) {
        while (c->outlen <= FDH_BATCH_MAX && !c->last) {
            int progressed = 0;
            if (c->state == CS_HEAD && c->inlen > 0)
                progressed = on_head(c);
            else if (c->state == CS_BODY)
                progressed = fdh_body_read(c);
            if (!progressed)
                break;
        }
        if (!fdh_conn_pending(c))
            break;
        int r = flush(c);
        if (r == 0) {
            /* Waiting for the client to take our output: the io timeout from now on.
             * Whatever timer was armed before (the idle or header timer of the request
             * just answered: on_head set T_NONE, so it would close without a word)
             * must not cut the response short. */
            set_timer(c);
            return 0;
        }
        if (r == 1)
            return 1;
        if (c->last) {
            fdh_conn_linger(c);
            return 1;
        }
    }
    if (c->last) {
        fdh_conn_linger(c);
        return 1;
    }
    if (c->close_after && c->state == CS_HEAD && c->inlen == 0) {
        fdh_conn_close(c); /* draining, and nothing of a next request has come */
        return 1;
    }
    if (c->eof) {
        fdh_conn_close(c); /* what is left can never be completed now */
        return 1;
    }
    if (fdh_conn_want(c, EV_READ) < 0)
        return 1;
    set_timer(c);
    return 0;
}

void fdh_conn_on_io(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)el;
    (void)fd;
    struct fdh_conn *c = ud;
    fdh_conn_clock(c->w); /* Date and cache time of THIS event */
    if (c->lingering) {
        fdh_conn_linger_read(c);
        return;
    }
    if (fdh_conn_pending(c)) {
        int r = flush(c);
        if (r == 1)
            return;
        if (r == 0) {
            set_timer(c);
            return;
        }
        if (c->last) {
            fdh_conn_linger(c);
            return;
        }
    }
    if (!c->eof && (events & (EV_READ | EV_HUP | EV_ERR)) && do_read(c))
        return;
    advance(c);
}
