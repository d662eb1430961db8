/* conn.c — one client connection in a worker's event loop (see worker.h for its states).
 *
 * The head is parsed by common/runtime/http_parse.h into views of c->in. The answer is
 * decided as soon as the head is complete (on_head):
 *   GET/HEAD /status    the shared statistics (text/plain)
 *   POST/PUT /echo      200 with the request body (Content-Length response)
 *   anything else       static_handle (static.h): files under the root, 304, 206, 416,
 *                       OPTIONS 204, other methods 405
 * A request with a body is answered only after its body was read to the last byte
 * (on_body), echoed or discarded, so the connection's framing holds and keep-alive goes
 * on. A body longer than cfg->max_body is 413 and the connection is closed (its rest is
 * never read). Expect: 100-continue gets "HTTP/1.1 100 Continue" before the body is
 * read, unless the request was already rejected (413).
 *
 * Files come through the worker's open-file cache (static_handle_cached, fcache.h):
 * a small file's bytes are in memory, a big file's descriptor is shared; either is
 * PINNED while this connection sends it (c->tpin), never closed here.
 *
 * Output (emit, flush): response heads and small bodies are appended to c->out; a
 * response with a big body or a file leaves that part as the "tail" (tmem, or tfd sent
 * with sendfile(2) from toff for tleft bytes). While output is below FDH_BATCH_MAX and
 * no tail is pending, further pipelined requests are answered first, so their
 * responses leave in ONE sendmsg(2) — with a memory tail as its second piece, and
 * MSG_MORE when a file follows. A short write or EAGAIN keeps every offset in the
 * connection and resumes on EV_WRITE.
 *
 * System calls (what make bench-server counts): a kept-alive request costs one read
 * and one sendmsg (do_read reads once per readiness report: level-triggered); a
 * Connection: close exchange adds accept4, the epoll_ctl ADD and close — no
 * EPOLL_CTL_DEL (fdh_conn_close), no MSG_PEEK (linger), no TCP_NODELAY (emit sets it
 * only once a connection is kept alive).
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
#include "worker.h"

#define SENDFILE_CHUNK (1L << 30) /* bytes per sendfile call (the kernel's cap is ~2 GiB) */
#define LINGER_MS 2000            /* at most this long reading what follows a closing reply */

static void on_io(struct evloop *el, int fd, unsigned events, void *ud);
static int want(struct fdh_conn *c, unsigned mask);
static void on_timeout(struct evloop *el, struct ev_timer *t, void *ud);

void fdh_conn_open(struct fdh_w *w, int fd)
{
    if (w->nconns >= w->cfg->max_conns) {
        /* Over --max-conns. Workers that accept stop accepting AT the limit
         * (fdh_worker_conns_changed), so this is reached only by connections the master
         * passed (passfd: the master does not know the workers' counts): tell the client
         * (best effort, never blocking) and close. */
        static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nServer: fdhttpd\r\n"
                                   "Content-Length: 0\r\nConnection: close\r\n\r\n";
        (void)!send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        close(fd);
        return;
    }
    size_t incap = (size_t)w->cfg->max_header_bytes + 1;
    struct fdh_conn *c = malloc(sizeof *c + incap);
    if (c == NULL) {
        warn_errno("worker %d: connection", w->slot);
        close(fd);
        return;
    }
    /* Everything but the two buffers (24 KiB that need no zeroes: outlen and inlen say
     * what is valid). Zeroing them was 5% of a Connection: close request's CPU. */
    memset(c, 0, offsetof(struct fdh_conn, out));
    c->w = w;
    c->fd = fd;
    c->state = CS_HEAD;
    c->tfd = -1;
    c->r.file_fd = -1;
    c->own = w->cfg->accept != FDH_PASSFD;
    ev_timer_init(&c->timer, on_timeout, c);
    c->tmode = T_IDLE;
    if (evloop_timer_start(w->el, &c->timer, w->cfg->keepalive_timeout_ms, 0) < 0) {
        warn_errno("worker %d: timer for fd %d", w->slot, fd);
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
    fdh_worker_conns_changed(w); /* at --max-conns: stop accepting */
    /* A connection this worker accepted comes through TCP_DEFER_ACCEPT (worker.c): its
     * first bytes are there, so read and answer now — no epoll_ctl and no epoll_wait
     * round trip before the first request; a Connection: close exchange is over without
     * the socket ever entering the epoll set. advance registers it when it stays open.
     * A passed one (passfd) waits for epoll: the master accepted it without deferring. */
    if (c->own)
        on_io(w->el, fd, EV_READ, c);
    else
        want(c, EV_READ); /* on failure it closed c */
}

/* Makes the fd's interest exactly mask, registering it the first time (conn_open does
 * not). Returns 0, or -1 after closing the connection (the registration failed). */
static int want(struct fdh_conn *c, unsigned mask)
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
    if (evloop_io_add(el, c->fd, mask, on_io, c) < 0) {
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
    free(c->big);
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
    fdh_worker_conns_changed(w); /* below --max-conns again: accept again */
}

static int pending(const struct fdh_conn *c)
{
    return c->outoff < c->outlen || c->tmem != NULL || c->tfd >= 0;
}

/* A connection that has not received one byte of its next request is idle: on
 * drain it can be closed without losing anything. Bytes already in the socket (not
 * yet read) make it in flight — hence the peek, not just inlen. */
static int is_idle(const struct fdh_conn *c)
{
    if (c->state != CS_HEAD || pending(c) || c->inlen > 0)
        return 0;
    char b;
    ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return !(n > 0);
}

/* Drain, step 1 (QUIT): nothing is closed yet. Every connection answers its next
 * response with "Connection: close" and closes after it; one that is idle now may
 * be a request away (the client cannot know we are leaving), so it gets until
 * fdh_conn_drain_idle, FDH_DRAIN_IDLE_MS later (worker.c), to send one. */
void fdh_conn_drain(struct fdh_w *w)
{
    for (struct fdh_conn *c = w->conns; c; c = c->next)
        c->close_after = 1;
    if (w->nconns == 0)
        w->stop = 1;
}

/* Drain, step 2: what is STILL idle has been idle since before the switch. Closing it
 * outright races a request the client may be sending right now: close(2) with that
 * request unread would send RST, and an RST can arrive before anything else the
 * client reads. So half-close: shutdown(SHUT_WR) sends FIN (the client reads EOF
 * before any response byte, which an HTTP/1.1 client treats as "the server closed
 * the idle connection: retry on a new one"), then read and drop until the client's
 * EOF or LINGER_MS (the lingering state of linger()). */
void fdh_conn_drain_idle(struct fdh_w *w)
{
    for (struct fdh_conn *c = w->conns, *next; c; c = next) {
        next = c->next;
        if (c->lingering || !is_idle(c))
            continue;
        if (shutdown(c->fd, SHUT_WR) < 0) {
            fdh_conn_close(c);
            continue;
        }
        c->lingering = 1;
        c->tmode = T_NONE;
        long ms = w->cfg->io_timeout_ms < LINGER_MS ? w->cfg->io_timeout_ms : LINGER_MS;
        if (evloop_timer_start(w->el, &c->timer, ms, 0) < 0)
            fdh_conn_close(c);
    }
}

void fdh_conn_close_all(struct fdh_w *w)
{
    while (w->conns)
        fdh_conn_close(w->conns);
}

/* Makes room for `need` bytes in c->big (never beyond max_body, except for /status,
 * which asks for a fixed size). Returns 0, or -1 (ENOMEM). */
static int big_reserve(struct fdh_conn *c, size_t need)
{
    if (need <= c->bigcap)
        return 0;
    size_t cap = c->bigcap ? c->bigcap : 4096;
    while (cap < need)
        cap *= 2;
    char *p = realloc(c->big, cap);
    if (p == NULL)
        return -1;
    c->big = p;
    c->bigcap = cap;
    return 0;
}

/* Queues a complete reply: its head (and a small body) into out, a big body or its
 * file as the tail. Takes the file descriptor out of *r. */
static void emit(struct fdh_conn *c, struct reply *r)
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

/* Queues an error reply that closes the connection; what is buffered is dropped. */
static void emit_error(struct fdh_conn *c, int status)
{
    struct reply r;
    reply_release(&c->r);
    c->have_r = 0;
    reply_error(&r, status, REPLY_CLOSE, c->w->xworker, c->w->now);
    emit(c, &r);
    c->last = 1;
    c->dirty = 1;
    c->inlen = 0;
    c->state = c->state == CS_SEND ? CS_SEND : CS_HEAD;
}

static int path_is(const struct http_request *req, const char *path)
{
    /* origin-form only; a query is allowed ("/echo?x") */
    size_t n = strlen(path);
    return req->target.len >= n && memcmp(req->target.p, path, n) == 0 &&
           (req->target.len == n || req->target.p[n] == '?');
}

static int method_is(const struct http_request *req, const char *m)
{
    size_t n = strlen(m);
    return req->method.len == n && memcmp(req->method.p, m, n) == 0;
}

static void consume(struct fdh_conn *c, size_t n)
{
    memmove(c->in, c->in + n, c->inlen - n);
    c->inlen -= n;
}

/* A complete head in c->in? Then decide the answer. Returns 1 on progress, 0 when more
 * bytes are needed. */
static int on_head(struct fdh_conn *c)
{
    struct fdh_w *w = c->w;
    struct http_request req;
    ssize_t n = http_parse_request(c->in, c->inlen, c->prev_len, &w->lim, w->headers, &req);
    if (n == -2) {
        c->prev_len = c->inlen;
        return 0;
    }
    c->prev_len = 0;
    c->tmode = T_NONE; /* the next head gets its own head timer */
    if (n == -1) {
        emit_error(c, req.status > 0 ? req.status : 400);
        return 1;
    }
    alog_request(w->alog, &c->alreq, c->fd, &req);
    /* Draining: "Connection: close" goes on the LAST request already buffered. The
     * requests pipelined before it were sent by the client already; closing after
     * the first would drop them unanswered (the client would have to resend them). */
    if ((w->draining || c->close_after) && !(req.body == HTTP_BODY_NONE && c->inlen > (size_t)n))
        req.keep_alive = 0; /* static_handle and reply_conn_of then say "close" */
    enum reply_conn conn = reply_conn_of(req.keep_alive, req.minor_version);
    int echo = (method_is(&req, "POST") || method_is(&req, "PUT")) && path_is(&req, "/echo");
    struct reply r;
    if (echo) {
        r.file_fd = -1;
        r.pin = NULL;
    } else if ((method_is(&req, "GET") || method_is(&req, "HEAD")) && path_is(&req, "/status")) {
        if (big_reserve(c, FDH_OUT_MAX) < 0) {
            emit_error(c, 503);
            return 1;
        }
        size_t len = fdh_status_text(w->sh, w->cfg, c->big, c->bigcap);
        reply_simple(&r, 200, "text/plain", c->big, len, w->xworker, conn, w->now);
        if (method_is(&req, "HEAD"))
            reply_drop_body(&r);
    } else if (w->site->root_fd >= 0) {
        static_handle_cached(w->site, w->fc, &req, w->now, w->date, w->xworker, &r);
    } else {
        reply_error(&r, 404, conn, w->xworker, w->now); /* no docroot at all */
    }
    if (!echo && method_is(&req, "HEAD"))
        reply_drop_body(&r); /* error pages too: a HEAD answer has no body (RFC 9110 9.3.2) */
    if (req.body == HTTP_BODY_NONE) {
        consume(c, (size_t)n);
        if (echo)
            reply_simple(&r, 200, "application/octet-stream", "", 0, w->xworker, conn, w->now);
        emit(c, &r);
        return 1;
    }
    /* A body follows: it is read before the answer goes out. */
    if (req.body == HTTP_BODY_LENGTH && req.content_length > (uint64_t)w->cfg->max_body) {
        reply_release(&r);
        emit_error(c, 413);
        return 1;
    }
    consume(c, (size_t)n);
    c->echo = echo;
    c->rconn = conn;
    c->body_len = 0;
    c->chunked = req.body == HTTP_BODY_CHUNKED;
    c->body_left = c->chunked ? 0 : req.content_length;
    http_chunked_init(&c->ck);
    if (!echo) {
        c->r = r; /* sent after the body */
        c->have_r = 1;
    } else if (big_reserve(c, c->chunked ? 4096 : (size_t)req.content_length) < 0) {
        emit_error(c, 503);
        return 1;
    }
    c->state = CS_BODY;
    if (req.expect_continue) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        memcpy(c->out + c->outlen, cont, sizeof cont - 1);
        c->outlen += sizeof cont - 1;
    }
    return 1;
}

/* The whole body was read: queue the answer. */
static void body_done(struct fdh_conn *c)
{
    struct fdh_w *w = c->w;
    c->state = CS_HEAD;
    if (c->echo) {
        struct reply r;
        reply_simple(&r, 200, "application/octet-stream", c->big ? c->big : "", c->body_len, w->xworker,
                     c->rconn, w->now);
        emit(c, &r);
    } else {
        c->have_r = 0;
        emit(c, &c->r);
    }
}

/* Takes body bytes from c->in. Returns 1 on progress that may allow more, 0 when more
 * input is needed. */
static int on_body(struct fdh_conn *c)
{
    struct fdh_w *w = c->w;
    if (!c->chunked) {
        size_t take = c->inlen < c->body_left ? c->inlen : (size_t)c->body_left;
        if (c->echo && take)
            memcpy(c->big + c->body_len, c->in, take);
        c->body_len += take;
        c->body_left -= take;
        consume(c, take);
        if (c->body_left > 0)
            return 0;
        body_done(c);
        return 1;
    }
    size_t consumed = 0, produced = 0, room = c->echo ? c->bigcap - c->body_len : 0;
    int rc = http_chunked_decode(&c->ck, c->in, c->inlen, c->echo ? c->big + c->body_len : NULL, room, &consumed,
                                 &produced);
    consume(c, consumed);
    c->body_len += produced;
    if (rc == -1) {
        emit_error(c, c->ck.status > 0 ? c->ck.status : 400);
        return 1;
    }
    if (c->body_len > (size_t)w->cfg->max_body) {
        emit_error(c, 413);
        return 1;
    }
    if (rc == 0) {
        body_done(c);
        return 1;
    }
    if (c->echo && produced == room && c->inlen > 0) {
        /* Out of room with input left: grow, within max_body (+1 so that an oversized
         * body shows as more than max_body rather than as a full buffer). */
        if (c->bigcap > (size_t)w->cfg->max_body) {
            emit_error(c, 413);
            return 1;
        }
        size_t want = c->bigcap ? c->bigcap * 2 : 4096;
        if (want > (size_t)w->cfg->max_body + 1)
            want = (size_t)w->cfg->max_body + 1;
        if (big_reserve(c, want) < 0) {
            emit_error(c, 503);
            return 1;
        }
        return 1;
    }
    return 0;
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
    return 2;
error:
    if (errno == EAGAIN || errno == EINTR) {
        return want(c, EV_WRITE) < 0 ? 1 : 0;
    }
    fdh_conn_close(c); /* EPIPE, ECONNRESET: the client is gone */
    return 1;
}

/* After a closing response: close(2) with unread bytes in the receive queue makes the
 * kernel send RST (tcp(7)), and an RST can destroy the response before the client has
 * read it (the 413 or 431 of a client still sending). So: shut down our side (the
 * client sees EOF after the response), drop whatever still arrives, close on the
 * client's EOF or after LINGER_MS (nginx's lingering_close). */
static void linger(struct fdh_conn *c)
{
    /* Only when unread bytes are possible: after an error reply (the client may still
     * be sending), with bytes buffered, or when the last read filled the buffer (more
     * may wait in the socket). A plain "Connection: close" exchange — the request
     * complete, nothing else read — closes at once, without another system call. */
    int unread = c->dirty || c->inlen > 0 || c->rfull;
    if (!unread || c->eof || shutdown(c->fd, SHUT_WR) < 0) {
        fdh_conn_close(c);
        return;
    }
    c->lingering = 1;
    c->inlen = 0;
    c->tmode = T_NONE;
    long ms = c->w->cfg->io_timeout_ms < LINGER_MS ? c->w->cfg->io_timeout_ms : LINGER_MS;
    if (want(c, EV_READ) == 0 && evloop_timer_start(c->w->el, &c->timer, ms, 0) < 0)
        fdh_conn_close(c);
}

static void linger_read(struct fdh_conn *c)
{
    char sink[4096];
    for (;;) {
        ssize_t n = read(c->fd, sink, sizeof sink);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            fdh_conn_close(c);
            return;
        }
    }
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
            if (c->inlen == 0 && c->state == CS_HEAD && !pending(c)) {
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
        c->rfull = (size_t)n == room;
        return 0; /* full: the parser or the body reader makes room; else: all there was */
    }
    return 0;
}

/* Arms the timer for what the connection waits for now (worker.h). */
static void set_timer(struct fdh_conn *c)
{
    const struct fdh_config *cfg = c->w->cfg;
    enum fdh_tmode m = pending(c)            ? T_SEND
                       : c->state == CS_BODY ? T_BODY
                       : c->inlen > 0        ? T_HEAD
                                             : T_IDLE;
    int restart = c->progress && (m == T_SEND || m == T_BODY);
    c->progress = 0;
    if (m == c->tmode && !restart)
        return;
    long ms = m == T_IDLE ? cfg->keepalive_timeout_ms : m == T_HEAD ? cfg->header_timeout_ms : cfg->io_timeout_ms;
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
                progressed = on_body(c);
            if (!progressed)
                break;
        }
        if (!pending(c))
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
            linger(c);
            return 1;
        }
    }
    if (c->last) {
        linger(c);
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
    if (want(c, EV_READ) < 0)
        return 1;
    set_timer(c);
    return 0;
}

static void on_io(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)el;
    (void)fd;
    struct fdh_conn *c = ud;
    fdh_worker_clock(c->w); /* Date and cache time of THIS event */
    if (c->lingering) {
        linger_read(c);
        return;
    }
    if (pending(c)) {
        int r = flush(c);
        if (r == 1)
            return;
        if (r == 0) {
            set_timer(c);
            return;
        }
        if (c->last) {
            linger(c);
            return;
        }
    }
    if (!c->eof && (events & (EV_READ | EV_HUP | EV_ERR)) && do_read(c))
        return;
    advance(c);
}

static void on_timeout(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)el;
    (void)t;
    struct fdh_conn *c = ud;
    fdh_worker_clock(c->w); /* Date and cache time of THIS event */
    if (!c->lingering && (c->tmode == T_HEAD || c->tmode == T_BODY) && !pending(c)) {
        /* A request that did not arrive in time: say so (best effort), then close. */
        struct reply r;
        reply_error(&r, 408, REPLY_CLOSE, c->w->xworker, c->w->now);
        (void)!send(c->fd, r.head, r.head_len, MSG_NOSIGNAL | MSG_DONTWAIT | MSG_MORE);
        (void)!send(c->fd, r.body, r.body_len, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    fdh_conn_close(c);
}
