/* conn.h — one client connection in a worker's event loop.
 *
 * Life of a connection:
 *   fdh_conn_open  accepted or received fd -> registered for EV_READ, idle timer armed
 *   CS_HEAD     read until a complete request head (http_parse.h) or an error; then the
 *               route table (routes.h) prepares the answer at once
 *   CS_BODY     a request with a body: read it exactly (Content-Length, or chunked via
 *               http_chunked.h), collected for the route or discarded; then the answer
 *               (body.c)
 *   CS_SEND     a response with a tail (a file: sendfile; a big body) is going out;
 *               EV_WRITE while the socket buffer is full
 *   then        keep-alive: back to CS_HEAD (a pipelined request may already be in
 *               the buffer); otherwise, or when draining: close (conn_end.c: lingering)
 * Responses to pipelined requests are gathered in `out` (heads and small bodies, a cached
 * small file included) and leave in one sendmsg per batch; a memory body too big for
 * `out` is the second piece of that same sendmsg; a big file follows with sendfile.
 * One timer per connection, in one of four modes (conn.c, set_timer): idle between
 * requests (keepalive), head (from its first byte, NOT restarted: slowloris), send
 * (restarted on progress), and body: restarted on progress but never beyond the body's
 * deadline, io timeout + received bytes / FDH_BODY_MIN_RATE from the body's start (a
 * body that trickles a byte at a time is cut like a slow head).
 *
 * The worker (worker.c) owns the list w->conns and decides draining: it marks
 * close_after, and half-closes the idle ones (fdh_conn_is_idle, fdh_conn_half_close).
 */
#ifndef LAB11_CONN_H
#define LAB11_CONN_H

#include <stdint.h>
#include <sys/types.h>

#include "accesslog.h"
#include "evloop.h"
#include "http_chunked.h"
#include "http_parse.h"
#include "reply.h"
#include "worker.h"

#define FDH_OUT_MAX 16384  /* gathered response heads and small bodies */
#define FDH_BATCH_MAX 8192 /* parse another pipelined request only below this much output */

struct fdh_route;

enum fdh_cstate { CS_HEAD, CS_BODY, CS_SEND };
enum fdh_tmode { T_NONE, T_IDLE, T_HEAD, T_BODY, T_SEND };

struct fdh_conn {
    struct fdh_conn *prev, *next;
    struct fdh_w *w;
    int fd;
    enum fdh_cstate state;
    enum fdh_tmode tmode;  /* what the timer is armed for */
    int progress;          /* bytes moved since the timer was last considered */
    int close_after;       /* draining: the next response says close */
    int last;              /* a closing response is queued: parse nothing more, close
                              once it is written */
    int dirty;             /* an error reply: the client may still be sending */
    int lingering;         /* the closing response is out and our side shut down: what
                              still arrives is read and dropped until EOF or LINGER_MS */
    int eof;               /* the client shut down its side: answer what is buffered */
    int longline;          /* a request-line longer than the buffer is read and dropped
                              through ls (400 when malformed, else 414) */
    struct http_line_scan ls;
    long long body_t0;     /* CS_BODY: when the body started (loop ms) ... */
    uint64_t body_rx;      /* ... and the bytes received since (the minimum rate) */
    size_t inlen, prev_len;
    /* the body of the current request (CS_BODY) */
    const struct fdh_route *collect; /* the route the body is collected for; NULL: discarded */
    int chunked;
    struct http_chunked ck;
    uint64_t body_left;    /* Content-Length: bytes still to come */
    size_t body_len;       /* body bytes taken so far */
    enum reply_conn rconn; /* the connection handling decided at the head */
    int have_r;            /* r holds the answer prepared for after a discarded body */
    struct reply r;
    char *big;             /* a collected body or the /status text (malloc'd, grows to
                              max_body; freed when the response that needed it is out) */
    size_t bigcap;
    /* output: out[outoff, outlen), then the tail: tmem or the file tfd */
    size_t outlen, outoff;
    const char *tmem;
    size_t tmem_len, tmem_off;
    int tfd;               /* owned, or borrowed from tpin */
    off_t toff, tleft;
    struct fc_entry *tpin; /* the cache entry that owns tmem or tfd (fcache.h), or NULL */
    int own;               /* accepted by this worker: the only reference (fdh_conn_close) */
    int nodelay;           /* TCP_NODELAY set (lazily, once the connection is kept alive) */
    int rfull;             /* the last read filled the buffer: more may be in the socket */
    struct ev_timer timer;
    struct alog_req alreq; /* the access log's view of the request being answered */
    char out[FDH_OUT_MAX];
    char in[];             /* cfg->max_header_bytes + 1 bytes */
};

/* What one connection holds while no request is in progress: its single allocation,
 * struct fdh_conn with the input buffer inline. A request adds at most c->big. */
static inline size_t fdh_conn_idle_bytes(long max_header_bytes)
{
    return sizeof(struct fdh_conn) + (size_t)max_header_bytes + 1;
}

/* accept.c (where a connection arrives). fdh_conn_open takes fd (closes it on failure); own: accepted by this
 * worker (its only reference), 0 for one passed by the master. Over cfg->max_conns
 * (only a passed connection can be: a worker that accepts pauses at the limit) it
 * answers 503 and closes. */
void fdh_conn_open(struct fdh_w *w, int fd, int own);
/* conn.c. */
void fdh_conn_close(struct fdh_conn *c);
void fdh_conn_close_all(struct fdh_w *w);
/* The worker's clock (w->now, w->date, the cache's time) for the event being handled. */
void fdh_conn_clock(struct fdh_w *w);

/* Used by the pieces of a connection (conn.c, accept.c, body.c, routes.c, conn_end.c). */
void fdh_conn_emit(struct fdh_conn *c, struct reply *r);  /* queue a reply; takes its file */
void fdh_conn_emit_error(struct fdh_conn *c, int status); /* queue a closing error reply */
void fdh_conn_consume(struct fdh_conn *c, size_t n);      /* drop n bytes from in */
int fdh_conn_pending(const struct fdh_conn *c);           /* output not yet written */
int fdh_conn_want(struct fdh_conn *c, unsigned mask);     /* 0, or -1: closed */
/* The connection's one event callback (evloop_io_cb; ud is the connection):
 * reads, answers what is complete, sends. fdh_conn_open calls it for the first bytes. */
void fdh_conn_on_io(struct evloop *el, int fd, unsigned events, void *ud);

/* body.c: the request body. fdh_body_start: after the head (n bytes) of a request
 * with a body; r is the answer prepared at the head (sent after the body) unless
 * `collect` answers from the collected body. fdh_body_read: takes body bytes from in;
 * 1 on progress, 0 when more input is needed. fdh_big_reserve: room for `need` bytes
 * in c->big; 0, or -1 (ENOMEM). */
int fdh_body_start(struct fdh_conn *c, const struct http_request *req, size_t n, enum reply_conn conn,
                   const struct fdh_route *collect, struct reply *r);
int fdh_body_read(struct fdh_conn *c);
int fdh_big_reserve(struct fdh_conn *c, size_t need);
/* Frees c->big: per-request memory is let go when its response is out (conn.c). */
void fdh_big_release(struct fdh_conn *c);

/* conn_end.c: how a connection ends. fdh_conn_linger: after a closing response (close
 * at once when no unread bytes are possible). fdh_conn_linger_read: a lingering
 * connection's event. fdh_conn_on_timeout: its timer (408 for a late head or body).
 * fdh_conn_is_idle: no byte of a next request received (nor waiting in the socket).
 * fdh_conn_half_close: shutdown(SHUT_WR) and linger (drain of an idle connection). */
void fdh_conn_linger(struct fdh_conn *c);
void fdh_conn_linger_read(struct fdh_conn *c);
void fdh_conn_on_timeout(struct evloop *el, struct ev_timer *t, void *ud);
int fdh_conn_is_idle(const struct fdh_conn *c);
void fdh_conn_half_close(struct fdh_conn *c);

#endif
