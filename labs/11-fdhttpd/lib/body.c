/* body.c — a request's body (conn.h, CS_BODY). It is read to the last byte before the
 * answer goes out, collected for its route (routes.h: /echo) or discarded, so that the
 * connection's framing holds and keep-alive goes on. A body longer than cfg->max_body
 * is 413 and the connection is closed (its rest is never read). Expect: 100-continue
 * gets "HTTP/1.1 100 Continue" before the body is read, unless the request was already
 * rejected (413).
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "routes.h"
#include "stats.h"

/* Never beyond max_body + 1, except for /status, which asks for a fixed size: the
 * doubling stops at that bound (a chunked body of max_body bytes holds max_body + 1,
 * not twice that). The worker's shared `held` counter follows bigcap (/status). */
int fdh_big_reserve(struct fdh_conn *c, size_t need)
{
    if (need <= c->bigcap)
        return 0;
    size_t lim = (size_t)c->w->cfg->max_body + 1, cap = c->bigcap ? c->bigcap : 4096;
    while (cap < need)
        cap *= 2;
    if (cap > lim && need <= lim)
        cap = lim;
    char *p = realloc(c->big, cap);
    if (p == NULL)
        return -1;
    atomic_fetch_add_explicit(&c->w->me->held, (long)(cap - c->bigcap), memory_order_relaxed);
    c->big = p;
    c->bigcap = cap;
    return 0;
}

void fdh_big_release(struct fdh_conn *c)
{
    if (c->big == NULL)
        return;
    atomic_fetch_sub_explicit(&c->w->me->held, (long)c->bigcap, memory_order_relaxed);
    free(c->big);
    c->big = NULL;
    c->bigcap = 0;
}

int fdh_body_start(struct fdh_conn *c, const struct http_request *req, size_t n, enum reply_conn conn,
                   const struct fdh_route *collect, struct reply *r)
{
    if (req->body == HTTP_BODY_LENGTH && req->content_length > (uint64_t)c->w->cfg->max_body) {
        reply_release(r);
        fdh_conn_emit_error(c, 413);
        return 1;
    }
    fdh_conn_consume(c, n);
    c->collect = collect;
    c->rconn = conn;
    c->body_len = 0;
    c->body_t0 = (long long)evloop_now_ms(c->w->el);
    c->body_rx = c->inlen; /* what came with the head counts towards the minimum rate */
    c->chunked = req->body == HTTP_BODY_CHUNKED;
    c->body_left = c->chunked ? 0 : req->content_length;
    http_chunked_init(&c->ck);
    if (collect == NULL) {
        c->r = *r; /* sent after the body */
        c->have_r = 1;
    } else if (fdh_big_reserve(c, c->chunked ? 4096 : (size_t)req->content_length) < 0) {
        fdh_conn_emit_error(c, 503);
        return 1;
    }
    c->state = CS_BODY;
    if (req->expect_continue) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        memcpy(c->out + c->outlen, cont, sizeof cont - 1);
        c->outlen += sizeof cont - 1;
    }
    return 1;
}

/* The whole body was read: queue the answer. */
static void body_done(struct fdh_conn *c)
{
    c->state = CS_HEAD;
    if (c->collect) {
        struct reply r;
        c->collect->collect(c, c->rconn, &r);
        fdh_conn_emit(c, &r);
    } else {
        c->have_r = 0;
        fdh_conn_emit(c, &c->r);
    }
}

/* Out of room in c->big with chunked input left: grow, within max_body (+1 so that an
 * oversized body shows as more than max_body rather than as a full buffer). */
static int grow(struct fdh_conn *c)
{
    size_t max = (size_t)c->w->cfg->max_body;
    if (c->bigcap > max) {
        fdh_conn_emit_error(c, 413);
        return 1;
    }
    size_t want = c->bigcap ? c->bigcap * 2 : 4096;
    if (want > max + 1)
        want = max + 1;
    if (fdh_big_reserve(c, want) < 0)
        fdh_conn_emit_error(c, 503);
    return 1;
}

static int read_chunked(struct fdh_conn *c)
{
    size_t consumed = 0, produced = 0, room = c->collect ? c->bigcap - c->body_len : 0;
    int rc = http_chunked_decode(&c->ck, c->in, c->inlen, c->collect ? c->big + c->body_len : NULL, room,
                                 &consumed, &produced);
    fdh_conn_consume(c, consumed);
    c->body_len += produced;
    if (rc == -1) {
        fdh_conn_emit_error(c, c->ck.status > 0 ? c->ck.status : 400);
        return 1;
    }
    if (c->body_len > (size_t)c->w->cfg->max_body) {
        fdh_conn_emit_error(c, 413);
        return 1;
    }
    if (rc == 0) {
        body_done(c);
        return 1;
    }
    if (c->collect && produced == room && c->inlen > 0)
        return grow(c);
    if (consumed == 0 && c->inlen > (size_t)c->w->cfg->max_header_bytes) {
        /* A chunk-size line or trailer field line that does not fit in the buffer: no
         * read can make room (the event would fire for ever, a busy loop), so it is an
         * error now — 431 in the trailer section, like a head too large; else 400. */
        fdh_conn_emit_error(c, http_chunked_in_trailer(&c->ck) ? 431 : 400);
        return 1;
    }
    return 0;
}

int fdh_body_read(struct fdh_conn *c)
{
    if (c->chunked)
        return read_chunked(c);
    size_t take = c->inlen < c->body_left ? c->inlen : (size_t)c->body_left;
    if (c->collect && take)
        memcpy(c->big + c->body_len, c->in, take);
    c->body_len += take;
    c->body_left -= take;
    fdh_conn_consume(c, take);
    if (c->body_left > 0)
        return 0;
    body_done(c);
    return 1;
}
