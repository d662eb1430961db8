/* loadgen.c — see loadgen.h.
 *
 * Structure (grown for lab 11's fdload: pipelined batches, chunked bodies, an open
 * loop with intended start times, a latency histogram, threads):
 *
 *   struct resp  a streaming HTTP/1.x response parser. resp_feed() takes whatever
 *                bytes a read() returned and says how many belonged to this response;
 *                resp_eof() decides what an end of file means. It keeps only one short
 *                line of state, so 65535 connections cost a few hundred bytes each.
 *   struct conn  one connection slot carrying one batch of 1..D requests (D = the
 *                pipelining depth), a small state machine:
 *                  IDLE -> CONNECTING -(EPOLLOUT, SO_ERROR 0)-> WRITING -> READING
 *                  READING -(all D responses complete)-> WRITING again on the same fd
 *                                       (keep-alive, closed loop), or IDLE with the fd
 *                                       kept open (keep-alive, open loop: it waits for
 *                                       the next due request), or IDLE (fd closed)
 *                  any state -(error or timeout)-> IDLE (fd closed, error recorded
 *                                       for every unanswered request of the batch)
 *   struct lg    the run: one epoll instance, the slots, the in-flight FIFO, the idle
 *                stack and the result being filled.
 *
 * Timeouts without a heap: every batch gets the same timeout from its send, so
 * deadlines come in the order batches were sent. Slots with a batch in flight sit in
 * a FIFO ordered by send time; its head is always the next deadline (O(1) per batch).
 * A retry on a fresh connection keeps the original deadline, so the order holds.
 *
 * Open loop: request k is due at t0 + k/rate; the loop sleeps (epoll_pwait2, with a
 * nanosecond timeout) until the next due time or deadline, whichever comes first.
 *
 * Stale events: each slot carries a generation number that changes whenever it gets a
 * new fd; epoll events carry (generation, slot) so an event can never be applied to a
 * later connection that happens to reuse the slot.
 */
#include "loadgen.h"
#include "clock.h"
#include "sockaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEADER_MAX (64 * 1024) /* larger response headers are a protocol error */
#define LINE_KEEP 128          /* bytes of each header line kept for parsing */
#define MAX_EVENTS 256

/* ------------------------------------------------------------ response parser */

/* Line states (status, headers, chunk size, the CRLF after chunk data, trailers) go
 * byte by byte through line[]; byte states (body, chunk data) skip ahead in bulk. */
enum resp_state {
    R_STATUS, R_HEADERS, R_CHUNK_SIZE, R_CHUNK_CRLF, R_TRAILERS, /* line states */
    R_BODY, R_CHUNK_DATA,                                        /* byte states */
    R_DONE, R_ERROR
};

struct resp {
    enum resp_state st;
    int head;              /* the request was HEAD: no body whatever the headers say */
    int worker;            /* X-Worker, -1 when absent */
    int status;            /* HTTP status code */
    int http10;            /* "HTTP/1.0" status line */
    int conn_close;        /* "Connection: close" seen */
    int conn_keepalive;    /* "Connection: keep-alive" seen */
    int chunked;           /* Transfer-Encoding: chunked */
    int framed;            /* the body's end is known without EOF */
    long long content_len; /* -1 when absent */
    long long body_left;   /* -1: body runs to EOF */
    size_t seen;           /* bytes of this response so far */
    size_t hdr;            /* bytes of status line, headers and trailers */
    size_t linetotal;      /* bytes of the current line, including dropped ones */
    size_t linelen;        /* bytes in line[] (the rest of a long line is dropped) */
    char line[LINE_KEEP];
};

static void resp_init(struct resp *r, int head)
{
    memset(r, 0, sizeof *r);
    r->st = R_STATUS;
    r->head = head;
    r->worker = -1;
    r->content_len = -1;
    r->body_left = -1;
}

/* May the connection carry another request after this (complete) response? */
static int resp_reusable(const struct resp *r)
{
    return r->framed && !r->conn_close && (!r->http10 || r->conn_keepalive);
}

/* "Name: value" with a case-insensitive name; returns the value or NULL. */
static const char *header_value(const char *line, const char *name)
{
    size_t n = strlen(name);
    if (strncasecmp(line, name, n) != 0 || line[n] != ':')
        return NULL;
    line += n + 1;
    while (*line == ' ' || *line == '\t')
        line++;
    return line;
}

/* The blank line after the headers: decide how the body is delimited (RFC 9112 6.3). */
static void resp_headers_done(struct resp *r)
{
    if (r->status >= 100 && r->status < 200 && r->status != 101) {
        /* Interim response (100 Continue, 103 Early Hints): the final one follows. */
        int head = r->head;
        size_t seen = r->seen, hdr = r->hdr;
        resp_init(r, head);
        r->seen = seen;
        r->hdr = hdr;
        return;
    }
    if (r->status == 101)
        r->conn_close = 1; /* a protocol switch: this client cannot follow */
    if (r->head || r->status == 101 || r->status == 204 || r->status == 304) {
        r->framed = 1;
        r->st = R_DONE;
    } else if (r->chunked) { /* chunked wins over Content-Length */
        r->framed = 1;
        r->st = R_CHUNK_SIZE;
    } else if (r->content_len >= 0) {
        r->framed = 1;
        r->body_left = r->content_len;
        r->st = r->body_left == 0 ? R_DONE : R_BODY;
    } else {
        r->st = R_BODY; /* until EOF */
    }
}

static void resp_header(struct resp *r, const char *line)
{
    const char *v;
    if ((v = header_value(line, "X-Worker"))) {
        char *end;
        long w = strtol(v, &end, 10);
        if (end != v && w >= 0 && w <= 1000000)
            r->worker = (int)w;
    } else if ((v = header_value(line, "Content-Length"))) {
        char *end;
        long long cl = strtoll(v, &end, 10);
        if (end == v || cl < 0)
            r->st = R_ERROR;
        else
            r->content_len = cl;
    } else if ((v = header_value(line, "Connection"))) {
        if (strcasestr(v, "close"))
            r->conn_close = 1;
        if (strcasestr(v, "keep-alive"))
            r->conn_keepalive = 1;
    } else if ((v = header_value(line, "Transfer-Encoding"))) {
        if (strcasestr(v, "chunked"))
            r->chunked = 1;
    }
}

/* "1a2b[;ext]": the chunk size, or -1 when there is no hex number or it is absurd. */
static long long chunk_size(const char *line)
{
    long long n = 0;
    int digits = 0;
    for (; *line; line++, digits++) {
        int d;
        if (*line >= '0' && *line <= '9')
            d = *line - '0';
        else if (*line >= 'a' && *line <= 'f')
            d = *line - 'a' + 10;
        else if (*line >= 'A' && *line <= 'F')
            d = *line - 'A' + 10;
        else
            break;
        if (digits >= 15)
            return -1;
        n = n * 16 + d;
    }
    if (!digits || (*line && *line != ';' && *line != ' ' && *line != '\t'))
        return -1;
    return n;
}

static void resp_line(struct resp *r, const char *line)
{
    switch (r->st) {
    case R_STATUS:
        /* "HTTP/1.x NNN reason" */
        if (strncmp(line, "HTTP/1.", 7) != 0 || !line[7] || line[8] != ' ' ||
            line[9] < '1' || line[9] > '5' || line[10] < '0' || line[10] > '9' ||
            line[11] < '0' || line[11] > '9') {
            r->st = R_ERROR;
            return;
        }
        r->http10 = line[7] == '0';
        r->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
        r->st = R_HEADERS;
        return;
    case R_HEADERS:
        if (!*line)
            resp_headers_done(r);
        else
            resp_header(r, line);
        return;
    case R_CHUNK_SIZE: {
        long long n = chunk_size(line);
        if (n < 0) {
            r->st = R_ERROR;
        } else if (n == 0) {
            r->st = R_TRAILERS;
        } else {
            r->body_left = n;
            r->st = R_CHUNK_DATA;
        }
        return;
    }
    case R_CHUNK_CRLF:
        r->st = *line ? R_ERROR : R_CHUNK_SIZE;
        return;
    case R_TRAILERS:
        if (!*line)
            r->st = R_DONE;
        return;
    default:
        return;
    }
}

/* Feed n bytes; returns how many belong to this response (the rest, if any, is the
 * next pipelined response). Stops at R_DONE or R_ERROR. */
static size_t resp_feed(struct resp *r, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && r->st != R_DONE && r->st != R_ERROR) {
        if (r->st == R_BODY || r->st == R_CHUNK_DATA) {
            size_t take = n - i;
            if (r->body_left >= 0 && (long long)take > r->body_left)
                take = (size_t)r->body_left;
            i += take;
            r->seen += take;
            if (r->body_left >= 0) {
                r->body_left -= (long long)take;
                if (r->body_left == 0)
                    r->st = r->st == R_BODY ? R_DONE : R_CHUNK_CRLF;
            }
            continue;
        }
        char ch = p[i++];
        r->seen++;
        int in_head = r->st == R_STATUS || r->st == R_HEADERS || r->st == R_TRAILERS;
        if ((in_head && ++r->hdr > HEADER_MAX) || ++r->linetotal > HEADER_MAX) {
            r->st = R_ERROR;
            break;
        }
        if (ch != '\n') {
            if (r->linelen < LINE_KEEP - 1)
                r->line[r->linelen++] = ch;
            continue;
        }
        if (r->linelen > 0 && r->line[r->linelen - 1] == '\r')
            r->linelen--;
        r->line[r->linelen] = '\0';
        r->linelen = 0;
        r->linetotal = 0;
        resp_line(r, r->line);
    }
    return i;
}

/* End of file: complete only when the body was delimited by it. */
static enum resp_state resp_eof(struct resp *r)
{
    if (r->st == R_BODY && r->body_left < 0)
        r->st = R_DONE;
    else if (r->st != R_DONE)
        r->st = R_ERROR;
    return r->st;
}

/* ------------------------------------------------------------ connections */

enum conn_state { C_IDLE, C_CONNECTING, C_WRITING, C_READING };

struct conn {
    int fd;
    enum conn_state st;
    uint32_t gen;    /* changes with every new fd: guards against stale events */
    uint32_t want;   /* events currently registered with epoll */
    int reused;      /* this batch rides on a kept-alive connection */
    int retried;     /* already retried once on a fresh connection */
    int noreuse;     /* a response of this batch forbids reusing the connection */
    int nreq, ndone; /* requests in this batch, responses complete so far */
    double sent_at;  /* when the batch was started: its deadline is sent_at + timeout */
    double *starts;  /* intended start of each request of the batch (pipeline slots) */
    size_t sent;     /* batch bytes written */
    struct resp resp;
    int prev, next;  /* in-flight FIFO links, -1 at the ends */
    int next_idle;   /* idle stack link */
};

struct lg {
    const struct loadgen_opts *o;
    struct sa_any addr; /* the server: IPv4 or IPv6 */
    char *batch;    /* the request repeated `depth` times */
    size_t reqlen;
    int head;       /* the request is HEAD */
    int retry;      /* retry once on a fresh connection (idempotent, not no_retry) */
    int depth;      /* pipelining depth D */
    double timeout;
    double rate;    /* open loop when > 0 */
    int ep;
    struct conn *c;
    double *starts; /* nconn * depth */
    int nconn;
    int head_q, tail_q; /* in-flight FIFO: head has the earliest deadline */
    int idle;       /* top of the idle stack, -1 when empty */
    long started, inflight;
    double t0, t_end;
    struct loadgen_result *res;
    size_t cap;
    char rbuf[64 * 1024]; /* one read buffer for all connections: one thread */
};

/* Intended start of request k of the open loop. */
static double intended(const struct lg *g, long k)
{
    return g->t0 + (double)k / g->rate;
}

/* Is there a request left to start (now or, in the open loop, later)? */
static int may_start(const struct lg *g, double now)
{
    if (g->o->stop && atomic_load_explicit(g->o->stop, memory_order_relaxed))
        return 0;
    if (g->o->requests > 0)
        return g->started < g->o->requests;
    if (g->rate > 0)
        return intended(g, g->started) < g->t_end;
    return now < g->t_end;
}

/* ... and may it start now? The open loop waits for its intended time. */
static int due(const struct lg *g, double now)
{
    return may_start(g, now) && (g->rate <= 0 || intended(g, g->started) <= now);
}

static void fifo_append(struct lg *g, int i)
{
    struct conn *c = &g->c[i];
    c->prev = g->tail_q;
    c->next = -1;
    if (g->tail_q >= 0)
        g->c[g->tail_q].next = i;
    else
        g->head_q = i;
    g->tail_q = i;
    g->inflight++;
}

static void fifo_remove(struct lg *g, int i)
{
    struct conn *c = &g->c[i];
    if (c->prev >= 0)
        g->c[c->prev].next = c->next;
    else
        g->head_q = c->next;
    if (c->next >= 0)
        g->c[c->next].prev = c->prev;
    else
        g->tail_q = c->prev;
    c->prev = c->next = -1;
    g->inflight--;
}

static void idle_push(struct lg *g, int i)
{
    g->c[i].st = C_IDLE;
    g->c[i].next_idle = g->idle;
    g->idle = i;
}

static int idle_pop(struct lg *g)
{
    int i = g->idle;
    g->idle = g->c[i].next_idle;
    return i;
}

static void conn_close_fd(struct conn *c)
{
    /* Closing our only reference also drops the fd from the epoll set. */
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->want = 0;
}

static int set_want(struct lg *g, int i, uint32_t events)
{
    struct conn *c = &g->c[i];
    if (c->want == events)
        return 0;
    struct epoll_event ev = {.events = events,
                             .data.u64 = ((uint64_t)c->gen << 32) | (uint32_t)i};
    if (epoll_ctl(g->ep, c->want ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) < 0)
        return -1;
    c->want = events;
    return 0;
}

/* Record request k of slot i's batch as kind. Returns -1 (ENOMEM) when the sample
 * array cannot grow. */
static int record(struct lg *g, const struct conn *c, int k, enum lg_kind kind, double now)
{
    struct loadgen_result *r = g->res;
    enum lg_error err = loadgen_kind_error(kind);
    double latency = now - c->starts[k];
    int worker = k == c->ndone ? c->resp.worker : -1; /* later ones got no response */
    if (!g->o->no_samples) {
        if (r->nsamples == g->cap) {
            size_t ncap = g->cap ? g->cap * 2 : 1024;
            struct loadgen_sample *ns = realloc(r->samples, ncap * sizeof *ns);
            if (!ns)
                return -1;
            r->samples = ns;
            g->cap = ncap;
        }
        struct loadgen_sample *s = &r->samples[r->nsamples++];
        s->start_s = c->starts[k] - g->t0;
        s->latency_s = latency;
        s->worker = worker;
        s->error = err;
        s->kind = kind;
    }
    r->kinds[kind]++;
    if (g->o->live)
        atomic_fetch_add_explicit(&g->o->live->kinds[kind], 1, memory_order_relaxed);
    if (err == LG_OK) {
        r->ok++;
        hist_record_s(r->latency, latency);
        if (worker >= 0 && worker < LOADGEN_MAX_WORKERS)
            r->per_worker[worker]++;
        if (c->resp.status >= 100 && c->resp.status < 600)
            r->status[c->resp.status / 100]++;
    } else {
        r->errors[err]++;
    }
    return 0;
}

static int start_batch(struct lg *g, int i, double now);
static int do_write(struct lg *g, int i, double now);

/* Record every request of the batch not yet answered as failed with kind. */
static int fail_rest(struct lg *g, int i, enum lg_kind kind, double now)
{
    struct conn *c = &g->c[i];
    for (; c->ndone < c->nreq; c->ndone++) {
        if (record(g, c, c->ndone, kind, now) < 0)
            return -1;
        c->resp.worker = -1;
    }
    return 0;
}

/* Open a fresh connection for slot i and begin a non-blocking connect. A failure of
 * socket() or an immediate connect() failure fails the batch (LG_K_REFUSED for
 * ECONNREFUSED, else LG_K_CONNECT); only an epoll failure (our own bug or the kernel
 * out of memory) stops the run (-1). */
static int open_conn(struct lg *g, int i, double now)
{
    struct conn *c = &g->c[i];
    enum lg_kind kind = LG_K_CONNECT;
    c->gen++;
    c->fd = socket(g->addr.u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd >= 0) {
        g->res->connects++;
        if (connect(c->fd, &g->addr.u.sa, g->addr.len) < 0 &&
            errno != EINPROGRESS) {
            if (errno == ECONNREFUSED)
                kind = LG_K_REFUSED;
            conn_close_fd(c);
        }
    }
    if (c->fd < 0) {
        fifo_remove(g, i);
        idle_push(g, i);
        return fail_rest(g, i, kind, now);
    }
    c->st = C_CONNECTING;
    return set_want(g, i, EPOLLOUT);
}

/* The batch in slot i is over (kind == LG_K_OK: every response complete; else kind
 * for the unanswered rest). Record, then reuse the connection (keep-alive), retry once
 * on a fresh connection (a kept-alive connection the server had already closed), or
 * close it and make the slot idle. */
static int finish(struct lg *g, int i, enum lg_kind kind, double now)
{
    struct conn *c = &g->c[i];
    if (g->retry && c->reused && !c->retried && c->ndone == 0 && c->resp.seen == 0 &&
        (kind == LG_K_RESET || kind == LG_K_EOF)) {
        /* The server closed a kept-alive connection just as we reused it, before ANY
         * byte of a response: an idempotent request may be retried once on a new
         * connection (RFC 9112 9.3.1), as browsers and curl do. Counted, never hidden:
         * the retry's own outcome is recorded as usual. The deadline stays that of the
         * original batch. */
        conn_close_fd(c);
        c->reused = 0;
        c->retried = 1;
        c->sent = 0;
        resp_init(&c->resp, g->head);
        g->res->retried += c->nreq;
        if (g->o->live)
            atomic_fetch_add_explicit(&g->o->live->retried, c->nreq, memory_order_relaxed);
        return open_conn(g, i, now);
    }
    fifo_remove(g, i);
    if (fail_rest(g, i, kind, now) < 0)
        return -1;
    int reusable = kind == LG_K_OK && g->o->keepalive && !c->noreuse;
    if (reusable && g->rate <= 0 && may_start(g, now)) {
        c->reused = 1;
        return start_batch(g, i, now);
    }
    if (!reusable || g->rate <= 0)
        conn_close_fd(c);
    idle_push(g, i); /* open loop: with its fd, ready for the next due request */
    return 0;
}

/* Begin a batch in slot i (the caller checked that a request is due): on its
 * kept-alive fd, or on a new connection. */
static int start_batch(struct lg *g, int i, double now)
{
    struct conn *c = &g->c[i];
    int n = 0;
    while (n < g->depth && due(g, now)) {
        c->starts[n++] = g->rate > 0 ? intended(g, g->started) : now;
        g->started++;
    }
    c->nreq = n;
    c->ndone = 0;
    c->sent_at = now;
    c->sent = 0;
    c->retried = 0;
    c->noreuse = 0;
    resp_init(&c->resp, g->head);
    fifo_append(g, i);
    if (c->fd >= 0) {
        c->reused = 1;
        c->st = C_WRITING;
        return do_write(g, i, now);
    }
    c->reused = 0;
    return open_conn(g, i, now);
}

static enum lg_kind io_error_kind(int e)
{
    return e == ECONNREFUSED ? LG_K_REFUSED : LG_K_RESET;
}

static int do_write(struct lg *g, int i, double now)
{
    struct conn *c = &g->c[i];
    size_t len = (size_t)c->nreq * g->reqlen;
    while (c->sent < len) {
        ssize_t n = send(c->fd, g->batch + c->sent, len - c->sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return set_want(g, i, EPOLLOUT);
            return finish(g, i, io_error_kind(errno), now);
        }
        c->sent += (size_t)n;
        g->res->bytes_written += n;
    }
    c->st = C_READING;
    return set_want(g, i, EPOLLIN);
}

/* Response ndone of slot i is complete. */
static int complete_one(struct lg *g, int i, double now)
{
    struct conn *c = &g->c[i];
    if (!resp_reusable(&c->resp))
        c->noreuse = 1;
    if (record(g, c, c->ndone, LG_K_OK, now) < 0)
        return -1;
    c->ndone++;
    resp_init(&c->resp, g->head);
    return 0;
}

static int do_read(struct lg *g, int i, double now)
{
    struct conn *c = &g->c[i];
    for (;;) {
        ssize_t n = read(c->fd, g->rbuf, sizeof g->rbuf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return 0;
            return finish(g, i, io_error_kind(errno), now);
        }
        if (n == 0) {
            if (resp_eof(&c->resp) != R_DONE)
                return finish(g, i, LG_K_EOF, now);
            c->resp.conn_close = 1; /* the body ran to EOF: the connection is gone */
            if (complete_one(g, i, now) < 0)
                return -1;
            return finish(g, i, c->ndone == c->nreq ? LG_K_OK : LG_K_EOF, now);
        }
        g->res->bytes_read += n;
        size_t off = 0;
        while (off < (size_t)n) {
            off += resp_feed(&c->resp, g->rbuf + off, (size_t)n - off);
            if (c->resp.st == R_ERROR)
                return finish(g, i, LG_K_BAD, now);
            if (c->resp.st != R_DONE)
                break; /* all bytes used, the response goes on */
            if (complete_one(g, i, now) < 0)
                return -1;
            if (c->ndone == c->nreq) {
                /* Bytes past the last response were not asked for: never reuse. */
                if (off < (size_t)n)
                    c->noreuse = 1;
                return finish(g, i, LG_K_OK, now);
            }
        }
    }
}

/* An idle kept-alive connection (open loop) became readable: the server closed it
 * or sent something unasked. Either way it cannot carry a request any more. */
static void idle_event(struct lg *g, int i)
{
    struct conn *c = &g->c[i];
    ssize_t n = recv(c->fd, g->rbuf, sizeof g->rbuf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    conn_close_fd(c);
}

static int on_event(struct lg *g, int i, double now)
{
    struct conn *c = &g->c[i];
    switch (c->st) {
    case C_CONNECTING: {
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
            soerr = errno;
        if (soerr)
            return finish(g, i, soerr == ECONNREFUSED ? LG_K_REFUSED : LG_K_CONNECT, now);
        c->st = C_WRITING;
        return do_write(g, i, now);
    }
    case C_WRITING:
        return do_write(g, i, now);
    case C_READING:
        return do_read(g, i, now);
    case C_IDLE:
        idle_event(g, i);
        break;
    }
    return 0;
}

static int expire(struct lg *g, double now)
{
    while (g->head_q >= 0 && g->c[g->head_q].sent_at + g->timeout <= now)
        if (finish(g, g->head_q, LG_K_TIMEOUT, now) < 0)
            return -1;
    return 0;
}

/* How long epoll may sleep: until the earliest deadline, or in the open loop until
 * the next intended start when a connection is free for it. NULL: no limit needed
 * (cannot happen while something is in flight or due). */
static struct timespec *wait_for(const struct lg *g, double now, struct timespec *ts)
{
    double until = -1;
    if (g->head_q >= 0)
        until = g->c[g->head_q].sent_at + g->timeout;
    if (g->rate > 0 && g->idle >= 0 && may_start(g, now)) {
        double next = intended(g, g->started);
        if (until < 0 || next < until)
            until = next;
    }
    if (until < 0)
        return NULL;
    double left = until - now;
    if (left < 0)
        left = 0;
    if (left > 3600)
        left = 3600;
    ts->tv_sec = (time_t)left;
    ts->tv_nsec = (long)((left - (double)ts->tv_sec) * 1e9);
    return ts;
}

static int run_loop(struct lg *g)
{
    struct epoll_event ev[MAX_EVENTS];
    for (;;) {
        double now = mono_s();
        while (g->idle >= 0 && due(g, now))
            if (start_batch(g, idle_pop(g), now) < 0)
                return -1;
        if (g->inflight == 0 && !may_start(g, now))
            return 0;
        struct timespec ts;
        struct timespec *tp = wait_for(g, now, &ts);
        if (!tp) {
            ts = (struct timespec){0, 0}; /* nothing to wait for: look again at once */
            tp = &ts;
        }
        int n = epoll_pwait2(g->ep, ev, MAX_EVENTS, tp, NULL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        now = mono_s();
        for (int k = 0; k < n; k++) {
            uint32_t i = (uint32_t)ev[k].data.u64;
            uint32_t gen = (uint32_t)(ev[k].data.u64 >> 32);
            if (i >= (uint32_t)g->nconn || g->c[i].gen != gen || g->c[i].fd < 0)
                continue;
            if (on_event(g, (int)i, now) < 0)
                return -1;
        }
        if (expire(g, now) < 0)
            return -1;
    }
}

/* ------------------------------------------------------------ public API */

/* Does the request begin with an idempotent method (RFC 9110 9.2.2)? Only those may
 * be retried automatically. */
static int idempotent(const char *req, size_t len)
{
    static const char *const methods[] = {"GET ", "HEAD ", "OPTIONS ", "TRACE ", "PUT ",
                                          "DELETE "};
    for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++) {
        size_t n = strlen(methods[k]);
        if (len >= n && memcmp(req, methods[k], n) == 0)
            return 1;
    }
    return 0;
}

int loadgen_resolve(const char *host, uint16_t port, struct sa_any *a)
{
    if (sa_parse_ip(host, port, a) == 0)
        return 0;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(host, NULL, &hints, &res) != 0) {
        errno = EINVAL;
        return -1;
    }
    int rc = -1;
    for (struct addrinfo *ai = res; ai && rc < 0; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof a->u)
            continue;
        memset(a, 0, sizeof *a);
        memcpy(&a->u, ai->ai_addr, ai->ai_addrlen);
        a->len = ai->ai_addrlen;
        if (ai->ai_family == AF_INET)
            a->u.in4.sin_port = htons(port);
        else
            a->u.in6.sin6_port = htons(port);
        rc = 0;
    }
    freeaddrinfo(res);
    if (rc < 0)
        errno = EINVAL;
    return rc;
}

static int setup(struct lg *g, const struct loadgen_opts *o, struct loadgen_result *r)
{
    const char *host = o->host ? o->host : "127.0.0.1";
    if (o->port == 0 || o->connections < 1 || o->connections > 65535 || o->requests < 0 ||
        o->duration_s < 0 || o->timeout_s < 0 || (o->requests == 0 && !(o->duration_s > 0)) ||
        o->pipeline < 0 || o->pipeline > LOADGEN_MAX_PIPELINE || o->rate < 0 ||
        loadgen_resolve(host, o->port, &g->addr) < 0) {
        errno = EINVAL;
        return -1;
    }
    g->o = o;
    g->res = r;
    g->timeout = o->timeout_s > 0 ? o->timeout_s : 5.0;
    g->rate = o->rate;
    g->depth = o->pipeline > 1 ? o->pipeline : 1;
    g->head_q = g->tail_q = g->idle = -1;
    char *dflt = NULL;
    const char *req = o->request;
    if (req) {
        g->reqlen = o->request_len ? o->request_len : strlen(req);
    } else {
        int v6 = strchr(host, ':') && host[0] != '[';
        int n = asprintf(&dflt, "GET / HTTP/1.1\r\nHost: %s%s%s\r\nConnection: %s\r\n\r\n",
                         v6 ? "[" : "", host, v6 ? "]" : "", o->keepalive ? "keep-alive" : "close");
        if (n < 0) {
            errno = ENOMEM;
            return -1;
        }
        req = dflt;
        g->reqlen = (size_t)n;
    }
    if (g->reqlen == 0) {
        errno = EINVAL;
        return -1;
    }
    g->head = g->reqlen >= 5 && memcmp(req, "HEAD ", 5) == 0;
    g->retry = !o->no_retry && idempotent(req, g->reqlen);
    /* The batch buffer: D copies back to back, so a batch goes out in one send(). */
    g->batch = malloc(g->reqlen * (size_t)g->depth);
    if (g->batch)
        for (int k = 0; k < g->depth; k++)
            memcpy(g->batch + (size_t)k * g->reqlen, req, g->reqlen);
    free(dflt);
    r->latency = malloc(sizeof *r->latency);
    if (!g->batch || !r->latency)
        return -1;
    hist_init(r->latency);
    r->nthreads = 1;
    g->nconn = o->connections;
    if (o->requests > 0 && o->requests < g->nconn)
        g->nconn = (int)o->requests; /* more slots than requests would stay idle */
    g->c = calloc((size_t)g->nconn, sizeof *g->c);
    g->starts = calloc((size_t)g->nconn * (size_t)g->depth, sizeof *g->starts);
    if (!g->c || !g->starts)
        return -1;
    for (int i = g->nconn - 1; i >= 0; i--) {
        g->c[i].fd = -1;
        g->c[i].prev = g->c[i].next = -1;
        g->c[i].starts = g->starts + (size_t)i * (size_t)g->depth;
        idle_push(g, i);
    }
    g->ep = epoll_create1(EPOLL_CLOEXEC);
    return g->ep < 0 ? -1 : 0;
}

static void teardown(struct lg *g)
{
    int e = errno;
    if (g->c)
        for (int i = 0; i < g->nconn; i++)
            conn_close_fd(&g->c[i]);
    if (g->ep >= 0)
        close(g->ep);
    free(g->c);
    free(g->starts);
    free(g->batch);
    free(g);
    errno = e;
}

int loadgen_run(const struct loadgen_opts *opts, struct loadgen_result *result)
{
    memset(result, 0, sizeof *result);
    struct lg *g = calloc(1, sizeof *g); /* 64 KiB read buffer: not on the stack */
    if (!g)
        return -1;
    g->ep = -1; /* before anything can fail: teardown closes it when >= 0 */
    int rc = setup(g, opts, result);
    if (rc == 0) {
        g->t0 = mono_s();
        g->t_end = g->t0 + opts->duration_s;
        rc = run_loop(g);
        result->elapsed_s = mono_s() - g->t0;
        result->thread_ok[0] = result->ok;
        result->thread_requests[0] = result->ok + result->errors[LG_ERR_CONNECT] +
                                     result->errors[LG_ERR_RESET] +
                                     result->errors[LG_ERR_TIMEOUT] +
                                     result->errors[LG_ERR_PROTOCOL];
    }
    if (rc < 0) {
        int e = errno;
        loadgen_result_free(result);
        errno = e;
    }
    teardown(g);
    return rc;
}

/* ------------------------------------------------------------ threads */

struct lg_thread {
    struct loadgen_opts o;
    struct loadgen_result r;
    int rc, err;
};

static void *thread_main(void *arg)
{
    struct lg_thread *t = arg;
    t->rc = loadgen_run(&t->o, &t->r);
    t->err = errno;
    return NULL;
}

/* into += from; from's samples are appended (from keeps its own). */
static int merge(struct loadgen_result *into, const struct loadgen_result *from)
{
    if (from->nsamples) {
        struct loadgen_sample *ns =
            realloc(into->samples, (into->nsamples + from->nsamples) * sizeof *ns);
        if (!ns)
            return -1;
        memcpy(ns + into->nsamples, from->samples, from->nsamples * sizeof *ns);
        into->samples = ns;
        into->nsamples += from->nsamples;
    }
    into->ok += from->ok;
    for (int k = 0; k <= LG_ERR_PROTOCOL; k++)
        into->errors[k] += from->errors[k];
    for (int k = 0; k < LG_K_COUNT; k++)
        into->kinds[k] += from->kinds[k];
    into->retried += from->retried;
    for (int w = 0; w < LOADGEN_MAX_WORKERS; w++)
        into->per_worker[w] += from->per_worker[w];
    for (int k = 0; k < 6; k++)
        into->status[k] += from->status[k];
    into->bytes_read += from->bytes_read;
    into->bytes_written += from->bytes_written;
    into->connects += from->connects;
    if (from->elapsed_s > into->elapsed_s)
        into->elapsed_s = from->elapsed_s;
    hist_merge(into->latency, from->latency);
    return 0;
}

int loadgen_run_threads(const struct loadgen_opts *opts, int nthreads,
                        struct loadgen_result *result)
{
    memset(result, 0, sizeof *result);
    if (nthreads < 1 || nthreads > LOADGEN_MAX_THREADS || opts->connections < nthreads ||
        (opts->requests > 0 && opts->requests < nthreads)) {
        errno = EINVAL;
        return -1;
    }
    if (nthreads == 1)
        return loadgen_run(opts, result);
    struct lg_thread *t = calloc((size_t)nthreads, sizeof *t);
    pthread_t *tid = calloc((size_t)nthreads, sizeof *tid);
    result->latency = malloc(sizeof *result->latency);
    if (!t || !tid || !result->latency) {
        free(t);
        free(tid);
        free(result->latency);
        result->latency = NULL;
        errno = ENOMEM;
        return -1;
    }
    hist_init(result->latency);
    int started = 0, rc = 0, err = 0;
    for (int i = 0; i < nthreads; i++) {
        t[i].o = *opts;
        t[i].o.connections = opts->connections / nthreads + (i < opts->connections % nthreads);
        if (opts->requests > 0)
            t[i].o.requests = opts->requests / nthreads + (i < opts->requests % nthreads);
        t[i].o.rate = opts->rate / nthreads;
        int e = pthread_create(&tid[i], NULL, thread_main, &t[i]);
        if (e) {
            rc = -1;
            err = e;
            break;
        }
        started++;
    }
    for (int i = 0; i < started; i++) {
        int e = pthread_join(tid[i], NULL);
        if (e && !rc) {
            rc = -1;
            err = e;
        }
        if (t[i].rc < 0 && !rc) {
            rc = -1;
            err = t[i].err;
        }
        if (t[i].rc == 0) {
            if (!rc && merge(result, &t[i].r) < 0) {
                rc = -1;
                err = ENOMEM;
            }
            result->thread_ok[i] = t[i].r.thread_ok[0];
            result->thread_requests[i] = t[i].r.thread_requests[0];
            loadgen_result_free(&t[i].r);
        }
    }
    free(t);
    free(tid);
    result->nthreads = nthreads;
    if (rc < 0) {
        loadgen_result_free(result);
        errno = err;
    }
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double loadgen_percentile(const struct loadgen_result *result, double q)
{
    if (!result->ok)
        return 0;
    double *v = malloc((size_t)result->ok * sizeof *v);
    if (!v)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < result->nsamples && n < (size_t)result->ok; i++)
        if (result->samples[i].error == LG_OK)
            v[n++] = result->samples[i].latency_s;
    if (n == 0) {
        free(v);
        return 0;
    }
    qsort(v, n, sizeof *v, cmp_double);
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    /* Nearest rank: the smallest value with at least q*n values at or below it. */
    double want = q * (double)n;
    size_t rank = (size_t)want;
    if ((double)rank < want)
        rank++;
    if (rank < 1)
        rank = 1;
    double x = v[rank - 1];
    free(v);
    return x;
}

int loadgen_write_csv(const struct loadgen_result *result, FILE *f)
{
    if (fprintf(f, "start_s,latency_s,worker,error\n") < 0)
        return -1;
    for (size_t i = 0; i < result->nsamples; i++) {
        const struct loadgen_sample *s = &result->samples[i];
        if (fprintf(f, "%.6f,%.9f,%d,%s\n", s->start_s, s->latency_s, s->worker,
                    loadgen_error_name(s->error)) < 0)
            return -1;
    }
    return fflush(f) == 0 ? 0 : -1;
}

void loadgen_result_free(struct loadgen_result *result)
{
    free(result->samples);
    free(result->latency);
    memset(result, 0, sizeof *result);
}

enum lg_error loadgen_kind_error(enum lg_kind k)
{
    switch (k) {
    case LG_K_OK:
    case LG_K_COUNT:
        break;
    case LG_K_REFUSED:
    case LG_K_CONNECT:
        return LG_ERR_CONNECT;
    case LG_K_RESET:
        return LG_ERR_RESET;
    case LG_K_TIMEOUT:
        return LG_ERR_TIMEOUT;
    case LG_K_EOF:
    case LG_K_BAD:
        return LG_ERR_PROTOCOL;
    }
    return LG_OK;
}

const char *loadgen_kind_name(enum lg_kind k)
{
    static const char *const names[LG_K_COUNT] = {"ok", "refused", "connect", "reset",
                                                  "eof", "timeout", "bad"};
    return (unsigned)k < LG_K_COUNT ? names[k] : "unknown";
}

const char *loadgen_error_name(enum lg_error e)
{
    switch (e) {
    case LG_OK:
        return "ok";
    case LG_ERR_CONNECT:
        return "connect";
    case LG_ERR_RESET:
        return "reset";
    case LG_ERR_TIMEOUT:
        return "timeout";
    case LG_ERR_PROTOCOL:
        return "protocol";
    }
    return "unknown";
}
