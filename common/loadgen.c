/* loadgen.c — see loadgen.h.
 *
 * Structure (meant to grow into lab 11's fdload: pipelining and histograms plug in
 * at the marked places without changing the loop):
 *
 *   struct resp  a streaming HTTP/1.x response parser. resp_feed() takes whatever
 *                bytes a read() returned and says how many belonged to this response;
 *                resp_eof() decides what an end of file means. It keeps only one short
 *                line of state, so 65535 connections cost a few hundred bytes each.
 *   struct conn  one connection slot, a small state machine:
 *                  IDLE -> CONNECTING -(EPOLLOUT, SO_ERROR 0)-> WRITING -> READING
 *                  READING -(complete)-> WRITING again on the same fd (keep-alive)
 *                                       or IDLE (fd closed)
 *                  any state -(error or timeout)-> IDLE (fd closed, error recorded)
 *   struct lg    the run: one epoll instance, the slots, the in-flight FIFO, the idle
 *                stack and the result being filled.
 *
 * Timeouts without a heap: every request gets the same timeout, so deadlines come in
 * the order requests started. Slots with a request in flight sit in a FIFO ordered by
 * start time; its head is always the next deadline (O(1) per request).
 *
 * Stale events: each slot carries a generation number that changes whenever it gets a
 * new fd; epoll events carry (generation, slot) so an event can never be applied to a
 * later connection that happens to reuse the slot.
 */
#include "loadgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEADER_MAX (64 * 1024) /* larger response headers are a protocol error */
#define LINE_KEEP 128          /* bytes of each header line kept for parsing */
#define MAX_EVENTS 256

/* ------------------------------------------------------------ response parser */

enum resp_state { R_STATUS, R_HEADERS, R_BODY, R_DONE, R_ERROR };

struct resp {
    enum resp_state st;
    int worker;            /* X-Worker, -1 when absent */
    int status;            /* HTTP status code */
    int conn_close;        /* "Connection: close" seen */
    int chunked;           /* Transfer-Encoding: chunked (not supported) */
    long long content_len; /* -1 when absent */
    long long body_left;   /* -1: body runs to EOF */
    size_t seen;           /* bytes of this response so far */
    size_t linelen;        /* bytes in line[] (the rest of a long line is dropped) */
    char line[LINE_KEEP];
};

static void resp_init(struct resp *r)
{
    memset(r, 0, sizeof *r);
    r->st = R_STATUS;
    r->worker = -1;
    r->content_len = -1;
    r->body_left = -1;
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

static void resp_header_line(struct resp *r, const char *line)
{
    const char *v;
    if (r->st == R_STATUS) {
        /* "HTTP/1.x NNN reason" */
        if (strncmp(line, "HTTP/1.", 7) != 0 || !line[7] || line[8] != ' ' ||
            line[9] < '1' || line[9] > '5' || line[10] < '0' || line[10] > '9' ||
            line[11] < '0' || line[11] > '9') {
            r->st = R_ERROR;
            return;
        }
        r->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
        r->st = R_HEADERS;
        return;
    }
    if (!*line) { /* the blank line: headers are over */
        if (r->chunked) {
            r->st = R_ERROR;
        } else if (r->content_len >= 0) {
            r->body_left = r->content_len;
            r->st = r->body_left == 0 ? R_DONE : R_BODY;
        } else {
            r->st = R_BODY; /* until EOF */
        }
        return;
    }
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
        if (strncasecmp(v, "close", 5) == 0)
            r->conn_close = 1;
    } else if ((v = header_value(line, "Transfer-Encoding"))) {
        if (strcasestr(v, "chunked"))
            r->chunked = 1;
    }
}

/* Feed n bytes; returns how many belong to this response (the rest, if any, would be
 * the next pipelined response). Stops at R_DONE or R_ERROR. */
static size_t resp_feed(struct resp *r, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && (r->st == R_STATUS || r->st == R_HEADERS)) {
        char ch = p[i++];
        r->seen++;
        if (r->seen > HEADER_MAX) {
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
        resp_header_line(r, r->line);
    }
    if (r->st == R_BODY && i < n) {
        size_t take = n - i;
        if (r->body_left >= 0 && (long long)take > r->body_left)
            take = (size_t)r->body_left;
        i += take;
        r->seen += take;
        if (r->body_left >= 0) {
            r->body_left -= (long long)take;
            if (r->body_left == 0)
                r->st = R_DONE;
        }
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
    int reused;      /* this request rides on a kept-alive connection */
    int retried;     /* already retried once on a fresh connection */
    double start;    /* request start (monotonic) */
    size_t sent;     /* request bytes written */
    struct resp resp;
    int prev, next;  /* in-flight FIFO links, -1 at the ends */
    int next_idle;   /* idle stack link */
};

struct lg {
    const struct loadgen_opts *o;
    struct sockaddr_in addr;
    const char *req;
    size_t reqlen;
    char *req_owned;
    double timeout;
    int ep;
    struct conn *c;
    int nconn;
    int head, tail; /* in-flight FIFO: head has the earliest deadline */
    int idle;       /* top of the idle stack, -1 when empty */
    long started, inflight;
    double t0, t_end;
    struct loadgen_result *res;
    size_t cap;
    char rbuf[64 * 1024]; /* one read buffer for all connections: one thread */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int may_start(const struct lg *g, double now)
{
    return g->o->requests > 0 ? g->started < g->o->requests : now < g->t_end;
}

static void fifo_append(struct lg *g, int i)
{
    struct conn *c = &g->c[i];
    c->prev = g->tail;
    c->next = -1;
    if (g->tail >= 0)
        g->c[g->tail].next = i;
    else
        g->head = i;
    g->tail = i;
    g->inflight++;
}

static void fifo_remove(struct lg *g, int i)
{
    struct conn *c = &g->c[i];
    if (c->prev >= 0)
        g->c[c->prev].next = c->next;
    else
        g->head = c->next;
    if (c->next >= 0)
        g->c[c->next].prev = c->prev;
    else
        g->tail = c->prev;
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

/* Append one sample. Returns -1 (ENOMEM) when the sample array cannot grow. */
static int record(struct lg *g, const struct conn *c, enum lg_error err, double now)
{
    struct loadgen_result *r = g->res;
    if (r->nsamples == g->cap) {
        size_t ncap = g->cap ? g->cap * 2 : 1024;
        struct loadgen_sample *ns = realloc(r->samples, ncap * sizeof *ns);
        if (!ns)
            return -1;
        r->samples = ns;
        g->cap = ncap;
    }
    struct loadgen_sample *s = &r->samples[r->nsamples++];
    s->start_s = c->start - g->t0;
    s->latency_s = now - c->start;
    s->worker = c->resp.worker;
    s->error = err;
    if (err == LG_OK) {
        r->ok++;
        if (s->worker >= 0 && s->worker < LOADGEN_MAX_WORKERS)
            r->per_worker[s->worker]++;
    } else {
        r->errors[err]++;
    }
    return 0;
}

static int start_request(struct lg *g, int i, double now);
static int do_write(struct lg *g, int i, double now);

/* Open a fresh connection for slot i and begin a non-blocking connect. A failure of
 * socket() or an immediate connect() failure is this request's LG_ERR_CONNECT; only
 * an epoll failure (our own bug or the kernel out of memory) stops the run (-1). */
static int open_conn(struct lg *g, int i, double now)
{
    struct conn *c = &g->c[i];
    c->gen++;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd >= 0 && connect(c->fd, (struct sockaddr *)&g->addr, sizeof g->addr) < 0 &&
        errno != EINPROGRESS) {
        conn_close_fd(c);
    }
    if (c->fd < 0) {
        fifo_remove(g, i);
        idle_push(g, i);
        return record(g, c, LG_ERR_CONNECT, now);
    }
    c->st = C_CONNECTING;
    return set_want(g, i, EPOLLOUT);
}

/* The request in slot i is over. Record it, then reuse the connection for the next
 * request (keep-alive), retry once on a fresh connection (a kept-alive connection the
 * server had already closed), or close it and make the slot idle. */
static int finish(struct lg *g, int i, enum lg_error err, double now)
{
    struct conn *c = &g->c[i];
    if (err != LG_OK && c->reused && !c->retried && c->resp.seen == 0 &&
        (err == LG_ERR_RESET || err == LG_ERR_PROTOCOL)) {
        /* The server closed an idle keep-alive connection just as we reused it: the
         * request never reached it, so a GET may be retried (RFC 9112 9.3.1). The
         * start time and thus the deadline stay those of the original request. */
        conn_close_fd(c);
        c->reused = 0;
        c->retried = 1;
        c->sent = 0;
        resp_init(&c->resp);
        return open_conn(g, i, now);
    }
    fifo_remove(g, i);
    if (record(g, c, err, now) < 0)
        return -1;
    int reusable = err == LG_OK && g->o->keepalive && !c->resp.conn_close &&
                   c->resp.content_len >= 0;
    if (reusable && may_start(g, now)) {
        c->reused = 1;
        return start_request(g, i, now);
    }
    conn_close_fd(c);
    idle_push(g, i);
    return 0;
}

/* Begin a request in slot i: on its kept-alive fd, or on a new connection. */
static int start_request(struct lg *g, int i, double now)
{
    struct conn *c = &g->c[i];
    g->started++;
    c->start = now;
    c->sent = 0;
    c->retried = 0;
    resp_init(&c->resp);
    fifo_append(g, i);
    if (c->fd >= 0) {
        c->st = C_WRITING;
        return do_write(g, i, now);
    }
    c->reused = 0;
    return open_conn(g, i, now);
}

static enum lg_error io_error_kind(int e)
{
    return e == ECONNREFUSED ? LG_ERR_CONNECT : LG_ERR_RESET;
}

static int do_write(struct lg *g, int i, double now)
{
    struct conn *c = &g->c[i];
    while (c->sent < g->reqlen) {
        ssize_t n = send(c->fd, g->req + c->sent, g->reqlen - c->sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return set_want(g, i, EPOLLOUT);
            return finish(g, i, io_error_kind(errno), now);
        }
        c->sent += (size_t)n;
    }
    /* Pipelining would write the next request here instead of waiting. */
    c->st = C_READING;
    return set_want(g, i, EPOLLIN);
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
        if (n == 0)
            return finish(g, i, resp_eof(&c->resp) == R_DONE ? LG_OK : LG_ERR_PROTOCOL, now);
        size_t used = resp_feed(&c->resp, g->rbuf, (size_t)n);
        if (c->resp.st == R_ERROR)
            return finish(g, i, LG_ERR_PROTOCOL, now);
        if (c->resp.st == R_DONE) {
            /* Bytes past the response were not asked for: never reuse such a
             * connection (a pipelining version would hand them to the next one). */
            if (used < (size_t)n)
                c->resp.conn_close = 1;
            return finish(g, i, LG_OK, now);
        }
    }
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
            return finish(g, i, LG_ERR_CONNECT, now);
        c->st = C_WRITING;
        return do_write(g, i, now);
    }
    case C_WRITING:
        return do_write(g, i, now);
    case C_READING:
        return do_read(g, i, now);
    case C_IDLE:
        break;
    }
    return 0;
}

static int expire(struct lg *g, double now)
{
    while (g->head >= 0 && g->c[g->head].start + g->timeout <= now)
        if (finish(g, g->head, LG_ERR_TIMEOUT, now) < 0)
            return -1;
    return 0;
}

static int wait_ms(const struct lg *g, double now)
{
    if (g->head < 0)
        return 0;
    double left = g->c[g->head].start + g->timeout - now;
    if (left <= 0)
        return 0;
    /* Round up: waking a little early would only spin. */
    return left > 3600 ? 3600 * 1000 : (int)(left * 1000.0) + 1;
}

static int run_loop(struct lg *g)
{
    struct epoll_event ev[MAX_EVENTS];
    for (;;) {
        double now = now_s();
        while (g->idle >= 0 && may_start(g, now))
            if (start_request(g, idle_pop(g), now) < 0)
                return -1;
        if (g->inflight == 0 && !may_start(g, now))
            return 0;
        int n = epoll_wait(g->ep, ev, MAX_EVENTS, wait_ms(g, now));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        now = now_s();
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

static int setup(struct lg *g, const struct loadgen_opts *o, struct loadgen_result *r)
{
    const char *host = o->host ? o->host : "127.0.0.1";
    memset(&g->addr, 0, sizeof g->addr);
    g->addr.sin_family = AF_INET;
    g->addr.sin_port = htons(o->port);
    if (o->port == 0 || o->connections < 1 || o->connections > 65535 || o->requests < 0 ||
        o->duration_s < 0 || o->timeout_s < 0 || (o->requests == 0 && !(o->duration_s > 0)) ||
        inet_pton(AF_INET, host, &g->addr.sin_addr) != 1) {
        errno = EINVAL;
        return -1;
    }
    g->o = o;
    g->res = r;
    g->timeout = o->timeout_s > 0 ? o->timeout_s : 5.0;
    g->head = g->tail = g->idle = -1;
    if (o->request) {
        g->req = o->request;
    } else {
        int n = asprintf(&g->req_owned, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: %s\r\n\r\n",
                         host, o->keepalive ? "keep-alive" : "close");
        if (n < 0) {
            g->req_owned = NULL;
            errno = ENOMEM;
            return -1;
        }
        g->req = g->req_owned;
    }
    g->reqlen = strlen(g->req);
    if (g->reqlen == 0) {
        errno = EINVAL;
        return -1;
    }
    g->nconn = o->connections;
    if (o->requests > 0 && o->requests < g->nconn)
        g->nconn = (int)o->requests; /* more slots than requests would stay idle */
    g->c = calloc((size_t)g->nconn, sizeof *g->c);
    if (!g->c)
        return -1;
    for (int i = g->nconn - 1; i >= 0; i--) {
        g->c[i].fd = -1;
        g->c[i].prev = g->c[i].next = -1;
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
    free(g->req_owned);
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
        g->t0 = now_s();
        g->t_end = g->t0 + opts->duration_s;
        rc = run_loop(g);
        result->elapsed_s = now_s() - g->t0;
    }
    if (rc < 0) {
        int e = errno;
        free(result->samples);
        memset(result, 0, sizeof *result);
        errno = e;
    }
    teardown(g);
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
    memset(result, 0, sizeof *result);
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
