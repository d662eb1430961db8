/* test_http.c — fdhttpd's HTTP over real sockets: static files (sendfile, ranges,
 * conditionals, the root's walls), request bodies (Content-Length, chunked, echo,
 * discard, 413, 100-continue), limits and timeouts, and the public conformance probe.
 * Each test starts its own server on port 0 (common/kit/srvharness.h) with a fresh
 * docroot.
 * Every test has the same .timeout: Criterion 2.4's runner drops the pending timeouts
 * that sort after a shorter new one (labs/01-naive/test_naive.c says how). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include "fdcount.h"
#include "labpath.h"
#include "lib/fcache.h"
#include "srvharness.h"
#include "tests/srvtest.h"
#include "lib/reply.h"
#include "sock.h"
#include "spawn.h"

#define TMO 120
#define BIG (1LL << 30) /* the sparse file: 1 GiB */
#define MANY (FC_MAX_ENTRIES + 76) /* more distinct big files than a worker caches */

static char root[96];   /* <tmp>/root: the docroot */
static char outer[64];  /* <tmp>: holds root and a file outside it */

static void put(const char *rel, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert_geq(fd, 0, "%s: %s", p, strerror(errno));
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void make_root(void)
{
    snprintf(outer, sizeof outer, "/tmp/fdh-http-XXXXXX");
    cr_assert_not_null(mkdtemp(outer));
    snprintf(root, sizeof root, "%s/root", outer);
    cr_assert_eq(mkdir(root, 0755), 0);
    char p[256];
    snprintf(p, sizeof p, "%s/dir", root);
    cr_assert_eq(mkdir(p, 0755), 0);
    put("a.txt", "0123456789abcdefghij\n");
    put("dir/index.html", "<p>dir index</p>\n");
    snprintf(p, sizeof p, "%s/secret", outer);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "SECRET\n", 7), 7);
    close(fd);
    snprintf(p, sizeof p, "%s/out", root);
    cr_assert_eq(symlink("../secret", p), 0);
    snprintf(p, sizeof p, "%s/big", root);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, BIG), 0, "a sparse file: no block is written");
    close(fd);
}

static void rm_root(void)
{
    rm_tree(outer);
}

/* Starts fdhttpd (1 worker, the test root) with extra options (NULL-terminated). */
static void start(struct fdh_srv *s, const char *const *extra)
{
    const char *const base[] = {"-l", "127.0.0.1:0", "-w", "1", "--root", root, NULL};
    start_args(s, base, extra);
}

/* A client connection with its own receive buffer (responses are framed by
 * Content-Length; every response of this server has one, or none for HEAD/304/1xx). */
struct cli {
    int fd;
    char buf[1 << 16];
    size_t len;
};

static void cli_open(struct cli *c, uint16_t port)
{
    c->fd = tcp_connect("127.0.0.1", port, SOCK_CLOEXEC);
    cr_assert_geq(c->fd, 0);
    c->len = 0;
    struct timeval tv = {20, 0}; /* bounds every read: a hang fails, never blocks */
    cr_assert_eq(setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
}

static void cli_send(struct cli *c, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
        cr_assert_gt(n, 0, "send: %s", strerror(errno));
        data += n, len -= (size_t)n;
    }
}
#define SEND(c, lit) cli_send((c), (lit), strlen(lit))

/* Reads more into the buffer: bytes read, 0 at end of file. */
static ssize_t cli_fill(struct cli *c)
{
    cr_assert_lt(c->len, sizeof c->buf - 1, "response too large for the test buffer");
    ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
    cr_assert_geq(n, 0, "read: %s", strerror(errno));
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    return n;
}

struct resp {
    int status;
    char head[4096];
    char body[1 << 15];
    long long clen; /* -1 when absent */
};

/* One response into *r (body only when has_body and Content-Length says so). Returns 0,
 * or -1 when the connection ended before a complete head. */
static int cli_resp(struct cli *c, struct resp *r, int has_body)
{
    char *end;
    while ((end = strstr(c->buf, "\r\n\r\n")) == NULL)
        if (cli_fill(c) == 0)
            return -1;
    size_t hl = (size_t)(end - c->buf) + 4;
    cr_assert_lt(hl, sizeof r->head);
    memcpy(r->head, c->buf, hl);
    r->head[hl] = '\0';
    cr_assert_eq(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1, "%s", r->head);
    const char *cl = strstr(r->head, "\r\nContent-Length: ");
    r->clen = cl ? atoll(cl + 18) : -1;
    size_t bl = has_body && r->clen > 0 ? (size_t)r->clen : 0;
    cr_assert_lt(bl, sizeof r->body);
    while (c->len < hl + bl)
        cr_assert_gt(cli_fill(c), 0, "end of file inside a body");
    memcpy(r->body, c->buf + hl, bl);
    r->body[bl] = '\0';
    memmove(c->buf, c->buf + hl + bl, c->len - hl - bl + 1);
    c->len -= hl + bl;
    return 0;
}

/* 1 when the server closed the connection (end of file, nothing more). */
static int cli_eof(struct cli *c)
{
    return c->len == 0 && cli_fill(c) == 0;
}

static void get(struct cli *c, const char *target, const char *extra, struct resp *r)
{
    char req[1024];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n%s\r\n", target, extra ? extra : "");
    SEND(c, req);
    cr_assert_eq(cli_resp(c, r, 1), 0, "no response to %s", target);
}

TestSuite(http, .init = make_root, .fini = rm_root, .timeout = TMO);

Test(http, static_files_over_the_socket, .timeout = TMO)
{
    struct fdh_srv s;
    start(&s, NULL);
    struct cli c;
    struct resp r;
    cli_open(&c, s.port);
    get(&c, "/a.txt", NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.head);
    cr_assert_str_eq(r.body, "0123456789abcdefghij\n", "the file's exact bytes");
    cr_assert(strstr(r.head, "X-Worker: 0\r\n"));
    const char *etag = strstr(r.head, "ETag: ");
    cr_assert_not_null(etag);
    char tag[128];
    cr_assert_eq(sscanf(etag, "ETag: %127[^\r]", tag), 1);
    get(&c, "/dir/", NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "<p>dir index</p>\n", "a directory serves its index.html");
    get(&c, "/nope", NULL, &r);
    cr_assert_eq(r.status, 404);
    get(&c, "/out", NULL, &r);
    cr_assert_eq(r.status, 403, "a symlink out of the root: %s", r.head);
    cr_assert_null(strstr(r.body, "SECRET"));
    char inm[200];
    snprintf(inm, sizeof inm, "If-None-Match: %s\r\n", tag);
    get(&c, "/a.txt", inm, &r);
    cr_assert_eq(r.status, 304, "%s", r.head);
    get(&c, "/a.txt", "Range: bytes=10-19\r\n", &r);
    cr_assert_eq(r.status, 206);
    cr_assert_str_eq(r.body, "abcdefghij");
    cr_assert(strstr(r.head, "Content-Range: bytes 10-19/21\r\n"), "%s", r.head);
    get(&c, "/a.txt", "Range: bytes=100-\r\n", &r);
    cr_assert_eq(r.status, 416, "%s", r.head);
    SEND(&c, "HEAD /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    cr_assert_eq(cli_resp(&c, &r, 0), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.clen, 21, "HEAD: GET's Content-Length, no body");
    /* still the same kept-alive connection, and no stray HEAD body before this: */
    get(&c, "/a.txt", "Connection: close\r\n", &r);
    cr_assert_str_eq(r.body, "0123456789abcdefghij\n");
    cr_assert(cli_eof(&c), "Connection: close is honoured");
    close(c.fd);
    stop_term(&s);
}

Test(http, traversal_never_leaves_the_root, .timeout = TMO)
{
    struct fdh_srv s;
    start(&s, NULL);
    const char *targets[] = {"/../secret", "/dir/../../secret", "/%2e%2e/secret", "/..%2fsecret",
                             "/dir/%2E%2E/%2E%2E/secret", "/..\\secret", "//../secret", "/./../secret"};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        struct cli c;
        struct resp r;
        cli_open(&c, s.port);
        char req[256];
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", targets[i]);
        SEND(&c, req);
        if (cli_resp(&c, &r, 1) == 0) {
            cr_assert(r.status == 400 || r.status == 404, "%s -> %d", targets[i], r.status);
            cr_assert_null(strstr(r.body, "SECRET"), "%s leaked the file", targets[i]);
        } /* else: closed without an answer, which leaks nothing either */
        close(c.fd);
    }
    stop_term(&s);
}

Test(http, sparse_gigabyte_by_sendfile_exact_count, .timeout = TMO)
{
    struct fdh_srv s;
    start(&s, NULL);
    struct cli c;
    cli_open(&c, s.port);
    SEND(&c, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
    char *end;
    while ((end = strstr(c.buf, "\r\n\r\n")) == NULL)
        cr_assert_gt(cli_fill(&c), 0);
    cr_assert(strncmp(c.buf, "HTTP/1.1 200 ", 13) == 0, "%s", c.buf);
    cr_assert(strstr(c.buf, "\r\nContent-Length: 1073741824\r\n"), "%s", c.buf);
    long long got = (long long)(c.len - (size_t)(end + 4 - c.buf));
    static char sink[1 << 16];
    while (got < BIG) {
        ssize_t n = read(c.fd, sink, sizeof sink); /* counted, not stored */
        cr_assert_gt(n, 0, "after %lld bytes: %s", got, n < 0 ? strerror(errno) : "eof");
        got += n;
    }
    cr_assert_eq(got, BIG, "exactly Content-Length bytes");
    /* The connection is kept alive and framed right: the next answer follows at once. */
    c.len = 0;
    c.buf[0] = '\0';
    struct resp r;
    get(&c, "/a.txt", NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "0123456789abcdefghij\n");
    close(c.fd);
    stop_term(&s);
}

Test(http, pipelined_requests_answered_in_order, .timeout = TMO)
{
    struct fdh_srv s;
    start(&s, NULL);
    struct cli c;
    cli_open(&c, s.port);
    /* Ten requests in one send: files (sendfile), 404s, a range, /status. */
    char req[4096] = "";
    const char *t[] = {"/a.txt", "/nope", "/dir/", "/a.txt", "/status", "/a.txt", "/x", "/a.txt", "/dir/", "/a.txt"};
    for (int i = 0; i < 10; i++)
        snprintf(req + strlen(req), sizeof req - strlen(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", t[i]);
    SEND(&c, req);
    for (int i = 0; i < 10; i++) {
        struct resp r;
        cr_assert_eq(cli_resp(&c, &r, 1), 0, "response %d", i);
        if (strcmp(t[i], "/a.txt") == 0)
            cr_assert_str_eq(r.body, "0123456789abcdefghij\n", "response %d", i);
        else if (strcmp(t[i], "/dir/") == 0)
            cr_assert_str_eq(r.body, "<p>dir index</p>\n", "response %d", i);
        else if (strcmp(t[i], "/status") == 0)
            cr_assert(r.status == 200 && strstr(r.body, "worker.0.pid="), "response %d", i);
        else
            cr_assert_eq(r.status, 404, "response %d", i);
    }
    close(c.fd);
    stop_term(&s);
}

Test(http, bodies_echoed_discarded_and_framed, .timeout = TMO)
{
    struct fdh_srv s;
    start(&s, NULL);
    struct cli c;
    struct resp r;
    cli_open(&c, s.port);
    SEND(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world");
    cr_assert_eq(cli_resp(&c, &r, 1), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "hello world");
    /* chunked, with an extension and a trailer, then a pipelined GET on the same connection */
    SEND(&c, "PUT /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
             "5;x=y\r\nhello\r\n6\r\n chunk\r\n0\r\nT: v\r\n\r\n"
             "GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    cr_assert_eq(cli_resp(&c, &r, 1), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "hello chunk");
    cr_assert(strstr(r.head, "Content-Length: 11\r\n"), "a Content-Length response");
    cr_assert_eq(cli_resp(&c, &r, 1), 0);
    cr_assert_str_eq(r.body, "0123456789abcdefghij\n", "the GET after the chunked body");
    /* A body on a request that is not /echo: read, discarded, answered, kept alive. */
    SEND(&c, "POST /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 20\r\n\r\nGET /nope HTTP/1.1\r\n"
             "GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    cr_assert_eq(cli_resp(&c, &r, 1), 0);
    cr_assert_eq(r.status, 405, "%s", r.head);
    cr_assert_eq(cli_resp(&c, &r, 1), 0);
    cr_assert_str_eq(r.body, "0123456789abcdefghij\n", "the body was not taken for a request");
    /* A body sent in pieces. */
    SEND(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nabc");
    usleep(20000);
    SEND(&c, "def");
    cr_assert_eq(cli_resp(&c, &r, 1), 0);
    cr_assert_str_eq(r.body, "abcdef");
    /* Expect: 100-continue: the interim answer first, then the final one. */
    SEND(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
    cr_assert_eq(cli_resp(&c, &r, 0), 0);
    cr_assert_eq(r.status, 100, "%s", r.head);
    SEND(&c, "xyz");
    cr_assert_eq(cli_resp(&c, &r, 1), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "xyz");
    close(c.fd);
    stop_term(&s);
}

Test(http, body_errors_close, .timeout = TMO)
{
    struct fdh_srv s;
    const char *opt[] = {"--max-body", "100", NULL};
    start(&s, opt);
    struct cli c;
    struct resp r;
    /* Content-Length over the limit: 413 at once, before the body, and close. */
    cli_open(&c, s.port);
    SEND(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\nExpect: 100-continue\r\n\r\n");
    cr_assert_eq(cli_resp(&c, &r, 1), 0);
    cr_assert_eq(r.status, 413, "no 100 Continue for a rejected body: %s", r.head);
    cr_assert(cli_eof(&c));
    close(c.fd);
    /* Chunked over the limit: 413 once the limit is crossed. */
    cli_open(&c, s.port);
    SEND(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n");
    char data[101];
    memset(data, 'x', 100);
    cli_send(&c, data, 100);
    SEND(&c, "\r\n1\r\nx\r\n0\r\n\r\n");
    cr_assert_eq(cli_resp(&c, &r, 1), 0);
    cr_assert_eq(r.status, 413);
    cr_assert(cli_eof(&c));
    close(c.fd);
    /* Exactly the limit is fine. */
    cli_open(&c, s.port);
    SEND(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n");
    cli_send(&c, data, 100);
    cr_assert_eq(cli_resp(&c, &r, 1), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.clen, 100);
    close(c.fd);
    /* A bad chunk: 400 and close. */
    cli_open(&c, s.port);
    SEND(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n");
    cr_assert_eq(cli_resp(&c, &r, 1), 0);
    cr_assert_eq(r.status, 400);
    cr_assert(strstr(r.head, "Connection: close"));
    cr_assert(cli_eof(&c));
    close(c.fd);
    stop_term(&s);
}

Test(http, head_limits_431_414, .timeout = TMO)
{
    struct fdh_srv s;
    const char *opt[] = {"--max-header-bytes", "1024", "--max-headers", "4", NULL};
    start(&s, opt);
    struct cli c;
    struct resp r;
    char req[9000];
    /* a head over 1024 bytes */
    cli_open(&c, s.port);
    snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: t\r\nX-Long: %0900d\r\nX-More: %0200d\r\n\r\n", 0, 0);
    SEND(&c, req);
    cr_assert_eq(cli_resp(&c, &r, 1), 0);
    cr_assert_eq(r.status, 431);
    cr_assert(cli_eof(&c));
    close(c.fd);
    /* five field lines, one more than --max-headers */
    cli_open(&c, s.port);
    SEND(&c, "GET / HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n");
    cr_assert_eq(cli_resp(&c, &r, 1), 0);
    cr_assert_eq(r.status, 431);
    close(c.fd);
    /* four are fine */
    cli_open(&c, s.port);
    SEND(&c, "GET /a.txt HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
    cr_assert_eq(cli_resp(&c, &r, 1), 0);
    cr_assert_eq(r.status, 200);
    close(c.fd);
    stop_term(&s);
    /* a request-line over 8192 bytes (with room for the head) */
    const char *opt2[] = {"--max-header-bytes", "16384", NULL};
    start(&s, opt2);
    cli_open(&c, s.port);
    snprintf(req, sizeof req, "GET /%08200d HTTP/1.1\r\nHost: t\r\n\r\n", 0);
    SEND(&c, req);
    cr_assert_eq(cli_resp(&c, &r, 1), 0);
    cr_assert_eq(r.status, 414);
    close(c.fd);
    stop_term(&s);
}

/* --max-conns pauses accepting: the listener leaves the worker's epoll set, so a
 * connection over the limit waits in the kernel's backlog (no 503) and is served once
 * another one closes. */
Test(http, max_conns_pauses_accepting_then_serves, .timeout = TMO)
{
    struct fdh_srv s;
    const char *opt[] = {"--max-conns", "2", NULL};
    start(&s, opt);
    struct cli a, b, c;
    struct resp r;
    cli_open(&a, s.port);
    cli_open(&b, s.port);
    get(&a, "/a.txt", NULL, &r); /* both are in the worker now */
    get(&b, "/a.txt", NULL, &r);
    cli_open(&c, s.port); /* the kernel completes the handshake: it is in the backlog */
    SEND(&c, "GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    /* Not accepted while the worker is full: no answer, no 503, no close. (A correct
     * server can never fail this, however slow the machine: it only looks for bytes
     * that must not come.) */
    struct pollfd pf = {.fd = c.fd, .events = POLLIN};
    cr_assert_eq(poll(&pf, 1, 300), 0, "the third connection must wait, not be answered");
    get(&a, "/a.txt", NULL, &r); /* the kept connections are still served */
    cr_assert_eq(r.status, 200);
    close(b.fd); /* room again: the worker accepts c and answers it */
    cr_assert_eq(cli_resp(&c, &r, 1), 0, "the waiting connection is served");
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "0123456789abcdefghij\n");
    close(c.fd);
    close(a.fd);
    stop_term(&s);
}

Test(http, slowloris_closed_after_header_timeout_others_served, .timeout = TMO)
{
    struct fdh_srv s;
    const char *opt[] = {"--header-timeout", "0.5", NULL};
    start(&s, opt);
    struct cli slow, c;
    struct resp r;
    cli_open(&slow, s.port);
    /* One byte every 100 ms: progress all the time, but the head never completes. */
    char head[256];
    snprintf(head, sizeof head, "GET /a.txt HTTP/1.1\r\nHost: t\r\nX-Slow: %0200d", 0); /* >= 20 s of trickle */
    int closed = 0;
    for (size_t i = 0; head[i] && !closed; i++) {
        if (send(slow.fd, head + i, 1, MSG_NOSIGNAL) < 0) {
            closed = 1;
            break;
        }
        /* meanwhile another client is served by the same (single) worker */
        cli_open(&c, s.port);
        get(&c, "/a.txt", NULL, &r);
        cr_assert_eq(r.status, 200);
        close(c.fd);
        usleep(100000);
        char b[512];
        ssize_t n = recv(slow.fd, b, sizeof b - 1, MSG_DONTWAIT);
        if (n >= 0) {
            b[n > 0 ? n : 0] = '\0';
            cr_assert(n == 0 || strncmp(b, "HTTP/1.1 408", 12) == 0, "%s", b);
            closed = 1;
        }
    }
    cr_assert(closed, "the trickling client was closed before its head was complete");
    close(slow.fd);
    stop_term(&s);
}

Test(http, keepalive_idle_closed, .timeout = TMO)
{
    struct fdh_srv s;
    const char *opt[] = {"--keepalive-timeout", "0.3", NULL};
    start(&s, opt);
    struct cli c;
    struct resp r;
    cli_open(&c, s.port);
    get(&c, "/a.txt", NULL, &r);
    cr_assert_eq(r.status, 200);
    /* nothing more is sent: the server closes, silently (the read is bounded by SO_RCVTIMEO) */
    cr_assert(cli_eof(&c), "idle keep-alive connection closed");
    close(c.fd);
    stop_term(&s);
}

/* /status's total.active, polled until it equals want (bounded); returns the last value. */
static long active_until(uint16_t port, long want)
{
    long v = -1;
    for (int i = 0; i < 3000 && v != want; i++) {
        char body[8192];
        if (fdh_status(port, body, sizeof body) == 0) {
            const char *p = strstr(body, "total.active=");
            v = p ? atol(p + 13) - 1 : -1; /* minus the /status connection itself */
        }
        if (v != want)
            usleep(20000);
    }
    return v;
}

Test(http, io_timeout_closes_stalled_send_and_body, .timeout = TMO)
{
    struct fdh_srv s;
    const char *opt[] = {"--io-timeout", "0.3", NULL};
    start(&s, opt);
    /* A client that asks for 1 GiB and never reads: the socket buffers fill, sending
     * makes no progress, and the connection is closed. */
    struct cli c;
    cli_open(&c, s.port);
    SEND(&c, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
    cr_assert_eq(active_until(s.port, 0), 0, "the stalled connection was closed");
    long long got = 0;
    static char sink[1 << 16];
    ssize_t n;
    while ((n = read(c.fd, sink, sizeof sink)) > 0)
        got += n;
    cr_assert_lt(got, BIG, "cut short: %lld bytes", got);
    close(c.fd);
    /* A body that stops coming: 408, then close. */
    cli_open(&c, s.port);
    SEND(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
    struct resp r;
    cr_assert_eq(cli_resp(&c, &r, 1), 0);
    cr_assert_eq(r.status, 408, "%s", r.head);
    cr_assert(cli_eof(&c));
    close(c.fd);
    stop_term(&s);
}

Test(http, conformance_probe_passes, .timeout = TMO)
{
    const char *probe = "../shared/conformance/probe.py";
    if (access(probe, R_OK) != 0)
        cr_skip_test("%s is absent (a clean clone without ../shared)", probe);
    struct fdh_srv s;
    char *argv[] = {(char *)bin(), "-l", "127.0.0.1:0", "-w", "2", NULL};
    cr_assert_eq(fdh_srv_start(&s, bin(), argv, 30), 0, "%s", s.err);
    char port[16];
    snprintf(port, sizeof port, "%u", s.port);
    char *pargv[] = {"python3", (char *)probe, "--port", port, "--body-path", "/echo", NULL};
    struct run_result pr = {0};
    cr_assert_eq(run_capture(pargv, 100, &pr), 0);
    cr_assert_eq(pr.timed_out, 0);
    const char *last = pr.out + strlen(pr.out);
    while (last > pr.out && last[-1] == '\n')
        last--;
    while (last > pr.out && last[-1] != '\n')
        last--;
    int passed = -1, failed = -1;
    cr_assert_eq(sscanf(last, "%d passed, %d failed", &passed, &failed), 2, "last line: %s", last);
    cr_assert_eq(failed, 0, "%s", pr.out);
    cr_assert_gt(passed, 0);
    cr_assert_eq(run_exit_code(&pr), 0, "%s\n%s", pr.out, pr.err);
    run_result_free(&pr);
    stop_term(&s);
}

/* ---------------------------------------------------------------- the hot path */

/* A key's value in a /status body, -1 when absent. */
static long status_val(const char *body, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\n%s=", key);
    const char *p = strstr(body, k);
    return p ? atol(p + strlen(k)) : -1;
}

/* Sixteen pipelined requests that arrive in one segment are answered in order, and
 * their responses leave in ONE write (worker.0.writes counts sendmsg/sendfile calls). */
Test(http, pipelined_batch_answered_in_order_in_one_write, .timeout = TMO)
{
    struct fdh_srv s;
    start(&s, NULL);
    struct cli c;
    struct resp r;
    cli_open(&c, s.port);
    get(&c, "/a.txt", NULL, &r); /* warm the cache: the batch is all cache hits */
    get(&c, "/dir/", NULL, &r);
    get(&c, "/status", NULL, &r);
    long w0 = status_val(r.body, "worker.0.writes");
    cr_assert_geq(w0, 0);
    char req[4096] = "";
    const char *t[] = {"/a.txt", "/dir/", "/nope", "/a.txt"};
    for (int i = 0; i < 16; i++)
        snprintf(req + strlen(req), sizeof req - strlen(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", t[i % 4]);
    SEND(&c, req); /* < 1 KiB in one send: one segment on loopback */
    for (int i = 0; i < 16; i++) {
        cr_assert_eq(cli_resp(&c, &r, 1), 0, "response %d", i);
        if (i % 4 == 0 || i % 4 == 3)
            cr_assert_str_eq(r.body, "0123456789abcdefghij\n", "response %d", i);
        else if (i % 4 == 1)
            cr_assert_str_eq(r.body, "<p>dir index</p>\n", "response %d", i);
        else
            cr_assert_eq(r.status, 404, "response %d", i);
    }
    get(&c, "/status", NULL, &r);
    long w1 = status_val(r.body, "worker.0.writes");
    /* +1: the first /status response itself (counted after its text was made). */
    cr_assert_eq(w1 - w0, 1 + 1, "16 responses in one write (writes %ld -> %ld)", w0, w1);
    close(c.fd);
    stop_term(&s);
}

/* A file replaced or removed on disk is noticed within the cache's revalidation bound
 * (lib/fcache.h, FC_VALID_MS = 1 s): polled for at most 10 s. */
static int poll_body(uint16_t port, const char *target, int want_status, const char *want_body, struct resp *r)
{
    for (int i = 0; i < 200; i++) {
        struct cli c;
        cli_open(&c, port);
        get(&c, target, NULL, r);
        close(c.fd);
        if (r->status == want_status && (want_body == NULL || strcmp(r->body, want_body) == 0))
            return 1;
        usleep(50000);
    }
    return 0;
}

Test(http, file_cache_notices_replaced_and_removed_files, .timeout = TMO)
{
    struct fdh_srv s;
    start(&s, NULL);
    struct resp r;
    char etag1[128] = "", p[256], q[256];
    put("c.txt", "first\n");
    cr_assert(poll_body(s.port, "/c.txt", 200, "first\n", &r));
    const char *e = strstr(r.head, "ETag: ");
    cr_assert_not_null(e);
    sscanf(e + 6, "%127[^\r]", etag1);
    /* Replaced (a new inode under the name): new bytes and a new ETag. */
    put("c.new", "second, longer\n");
    snprintf(p, sizeof p, "%s/c.new", root);
    snprintf(q, sizeof q, "%s/c.txt", root);
    cr_assert_eq(rename(p, q), 0);
    cr_assert(poll_body(s.port, "/c.txt", 200, "second, longer\n", &r), "the replaced file is served");
    cr_assert_null(strstr(r.head, etag1), "with a new ETag");
    /* Removed: 404. */
    cr_assert_eq(unlink(q), 0);
    cr_assert(poll_body(s.port, "/c.txt", 404, NULL, &r), "the removed file is 404");
    stop_term(&s);
}

/* Connection: close: the full response, then end of file (never a reset), and nothing
 * stays open in the worker (connections, descriptors). */
Test(http, connection_close_leaves_nothing_behind, .timeout = TMO)
{
    struct fdh_srv s;
    start(&s, NULL);
    char body[8192];
    cr_assert_eq(fdh_status(s.port, body, sizeof body), 0);
    long pid = status_val(body, "worker.0.pid");
    cr_assert_gt(pid, 0);
    struct cli c;
    struct resp r;
    cli_open(&c, s.port);
    get(&c, "/a.txt", NULL, &r); /* warm the cache: its fds are not a leak */
    close(c.fd);
    cr_assert_eq(active_until(s.port, 0), 0);
    int fds0 = fd_count_of((pid_t)pid);
    for (int i = 0; i < 50; i++) {
        cli_open(&c, s.port);
        get(&c, i % 2 ? "/a.txt" : "/nope", "Connection: close\r\n", &r);
        cr_assert_eq(r.status, i % 2 ? 200 : 404);
        cr_assert_not_null(strstr(r.head, "Connection: close"));
        char b;
        ssize_t n = read(c.fd, &b, 1);
        cr_assert_eq(n, 0, "end of file after the response (%zd: %s)", n, n < 0 ? strerror(errno) : "data");
        close(c.fd);
    }
    cr_assert_eq(active_until(s.port, 0), 0, "no connection left in the worker");
    cr_assert_eq(fd_count_of((pid_t)pid), fds0, "no descriptor left in the worker");
    stop_term(&s);
}

/* Out of descriptors at accept4 (EMFILE, a low RLIMIT_NOFILE inherited by the server):
 * the worker keeps serving its connections, logs the condition a bounded number of times
 * (no busy loop), and every waiting connection is served once descriptors are free. */
Test(http, emfile_pauses_accepting_and_recovers, .timeout = TMO)
{
    struct rlimit old, low;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = 24; /* the worker uses ~10; the rest are connections */
    struct fdh_srv s;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    char *argv[] = {(char *)bin(), "-l", "127.0.0.1:0", "-w", "1", "--root", root, NULL};
    int st = fdh_srv_start(&s, bin(), argv, 30);
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0); /* only the server keeps the low limit */
    cr_assert_eq(st, 0, "start: %s", s.err);
    enum { N = 30 };
    static struct cli c[N];
    struct resp r;
    for (int i = 0; i < N; i++) {
        cli_open(&c[i], s.port);
        /* /status: it needs no descriptor (a file could fairly be 503 while out of fds) */
        SEND(&c[i], "GET /status HTTP/1.1\r\nHost: t\r\n\r\n");
    }
    /* The first ones are served at once; one of them again (still served while the
     * listener is paused). */
    cr_assert_eq(cli_resp(&c[0], &r, 1), 0);
    cr_assert_eq(r.status, 200);
    get(&c[0], "/status", NULL, &r);
    cr_assert_eq(r.status, 200);
    /* Each client closes after its answer, freeing a descriptor for the next. */
    for (int i = 0; i < N; i++) {
        if (i > 0) {
            cr_assert_eq(cli_resp(&c[i], &r, 1), 0, "connection %d served", i);
            cr_assert_eq(r.status, 200);
        }
        close(c[i].fd);
    }
    kill(s.pid, SIGTERM);
    cr_assert_eq(fdh_srv_wait(&s, 30), 0, "%s", s.err);
    cr_assert_eq(fdh_srv_leftovers(&s), 0);
    int logs = 0;
    for (const char *p = s.err; (p = strstr(p, "not accepting")) != NULL; p++)
        logs++;
    cr_assert_geq(logs, 1, "EMFILE was hit and logged: %s", s.err);
    cr_assert_leq(logs, N, "logged once per episode, not per wake-up (%d lines)", logs);
    fdh_srv_free(&s);
}

/* passfd: the MASTER accepts, so it is the one that runs out of descriptors. Its limit
 * is lowered to what it holds (prlimit on its pid only, the worker keeps its own): the
 * clients wait in the backlog, the master says so once (no busy loop on the
 * level-triggered listener), and when the limit is raised again every client is served. */
Test(http, passfd_master_emfile_pauses_accepting_and_recovers, .timeout = TMO)
{
    struct fdh_srv s;
    char *argv[] = {(char *)bin(), "-l", "127.0.0.1:0", "-w", "1", "-a", "passfd", "--root", root, NULL};
    cr_assert_eq(fdh_srv_start(&s, bin(), argv, 30), 0, "start: %s", s.err);
    struct rlimit old, low;
    cr_assert_eq(prlimit(s.pid, RLIMIT_NOFILE, NULL, &old), 0);
    /* A new descriptor takes the lowest free number, and EMFILE means "none below the
     * limit": so the limit is the master's lowest free number (not its count: there
     * may be holes). */
    int lowest = -1;
    for (int fd = 0; fd < 1024 && lowest < 0; fd++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)s.pid, fd);
        struct stat st;
        if (lstat(path, &st) != 0) /* the link itself: a socket's target is no path */
            lowest = fd;
    }
    cr_assert_gt(lowest, 2);
    low = old;
    low.rlim_cur = (rlim_t)lowest; /* the accepted connection finds no number */
    cr_assert_eq(prlimit(s.pid, RLIMIT_NOFILE, &low, NULL), 0);
    enum { N = 5 };
    static struct cli c[N];
    for (int i = 0; i < N; i++) {
        cli_open(&c[i], s.port);
        SEND(&c[i], "GET /status HTTP/1.1\r\nHost: t\r\n\r\n");
    }
    int seen = 0; /* bounded: 20 s */
    for (int i = 0; i < 200 && !seen; i++) {
        fdh_srv_pump(&s, 100);
        seen = s.err && strstr(s.err, "not accepting") != NULL;
    }
    cr_assert(seen, "the master logged EMFILE: %s", s.err);
    cr_assert_eq(prlimit(s.pid, RLIMIT_NOFILE, &old, NULL), 0);
    struct resp r;
    for (int i = 0; i < N; i++) {
        cr_assert_eq(cli_resp(&c[i], &r, 1), 0, "connection %d served once descriptors are back", i);
        cr_assert_eq(r.status, 200);
        close(c[i].fd);
    }
    kill(s.pid, SIGTERM);
    cr_assert_eq(fdh_srv_wait(&s, 30), 0, "%s", s.err);
    cr_assert_eq(fdh_srv_leftovers(&s), 0);
    int logs = 0;
    for (const char *p = s.err; (p = strstr(p, "not accepting")) != NULL; p++)
        logs++;
    cr_assert_eq(logs, 1, "logged once for the episode, not per wake-up (%d lines)", logs);
    fdh_srv_free(&s);
}

/* ---------------------------------------------------------------- short writes */

/* The bytes of a test file: a pattern that differs at every offset of a period that is
 * prime to every size used, so a shifted or repeated chunk never compares equal. */
static void pattern(char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (char)((i * 7 + i / 251 + seed) & 0xff);
}

static void put_bytes(const char *rel, const char *data, size_t n)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert_geq(fd, 0, "%s: %s", p, strerror(errno));
    cr_assert_eq(write(fd, data, n), (ssize_t)n);
    close(fd);
}

/* What one pipelined request must get back: status, Content-Length (-1: not checked,
 * the /status text), and the exact body (NULL: none on the wire). */
struct want {
    int status;
    long long clen;
    const char *body;
    size_t blen;
    const char *needle; /* when body is NULL and blen > 0: a string the body contains */
};

/* Many pipelined requests mixing every kind of output (cached small files from memory,
 * a big file by sendfile, ranges of both, HEAD, 304, 404, 416, /status from c->big,
 * /echo bodies) while the client does NOT read: the server's sendmsg and sendfile run
 * into a full socket (the client's receive buffer is 4 KiB, megabytes are due) and must
 * resume in the middle of an iovec, of a memory tail and of a file, over and over.
 * Then the client reads everything: every response must be there, in order, framed by
 * its Content-Length, every byte equal. The requests are written by a child process
 * (no cr_* there) so that the test never deadlocks on its own unread replies. */
static void short_writes(const char *const *opts, int stall_ms, int with_bodies)
{
    enum { ROUNDS = 120, PER = 12, MSZ = 40000, SSZ = 12000, HSZ = 5000, ESZ = 16200 };
    static char m[MSZ], sm[SSZ], hm[HSZ], eb[ROUNDS][ESZ];
    pattern(m, MSZ, 1);
    pattern(sm, SSZ, 2);
    pattern(hm, HSZ, 5);
    put_bytes("m.bin", m, MSZ);
    put_bytes("h.bin", hm, HSZ);
    put_bytes("s.bin", sm, SSZ);
    struct fdh_srv s;
    start(&s, opts);

    size_t cap = (size_t)ROUNDS * (PER * 200 + ESZ) + 256, rl = 0;
    char *req = malloc(cap);
    static struct want w[ROUNDS * PER + 1];
    size_t nw = 0;
    cr_assert_not_null(req);
#define RQ(...) (rl += (size_t)snprintf(req + rl, cap - rl, __VA_ARGS__))
    for (int k = 0; k < ROUNDS; k++) {
        RQ("GET /m.bin HTTP/1.1\r\nHost: t\r\n\r\n");
        w[nw++] = (struct want){200, MSZ, m, MSZ, NULL};
        RQ("GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
        w[nw++] = (struct want){200, 21, "0123456789abcdefghij\n", 21, NULL};
        if (with_bodies) {
            pattern(eb[k], ESZ, (unsigned)k + 3);
            RQ("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n", ESZ);
            memcpy(req + rl, eb[k], ESZ);
            rl += ESZ;
            w[nw++] = (struct want){200, ESZ, eb[k], ESZ, NULL};
        }
        /* 5 KB then 12 KB from memory: the second body no longer fits in out after
         * the first, so it leaves as the memory tail, the 2nd iovec of one sendmsg */
        RQ("GET /h.bin HTTP/1.1\r\nHost: t\r\n\r\n");
        w[nw++] = (struct want){200, HSZ, hm, HSZ, NULL};
        RQ("GET /s.bin HTTP/1.1\r\nHost: t\r\n\r\n");
        w[nw++] = (struct want){200, SSZ, sm, SSZ, NULL};
        RQ("GET /m.bin HTTP/1.1\r\nHost: t\r\nRange: bytes=100-30099\r\n\r\n");
        w[nw++] = (struct want){206, 30000, m + 100, 30000, NULL};
        RQ("HEAD /m.bin HTTP/1.1\r\nHost: t\r\n\r\n");
        w[nw++] = (struct want){200, MSZ, NULL, 0, NULL};
        RQ("GET /s.bin HTTP/1.1\r\nHost: t\r\nRange: bytes=-500\r\n\r\n");
        w[nw++] = (struct want){206, 500, sm + SSZ - 500, 500, NULL};
        RQ("GET /status HTTP/1.1\r\nHost: t\r\n\r\n");
        w[nw++] = (struct want){200, -1, NULL, 1, "worker.0.pid="};
        RQ("GET /m.bin HTTP/1.1\r\nHost: t\r\nIf-None-Match: *\r\n\r\n");
        w[nw++] = (struct want){304, -1, NULL, 0, NULL};
        RQ("GET /nope HTTP/1.1\r\nHost: t\r\n\r\n");
        w[nw++] = (struct want){404, -1, NULL, 1, "404 Not Found"};
        RQ("GET /m.bin HTTP/1.1\r\nHost: t\r\nRange: bytes=50000-\r\n\r\n");
        w[nw++] = (struct want){416, -1, NULL, 1, "416 Range Not Satisfiable"};
    }
    RQ("GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    w[nw++] = (struct want){200, 21, "0123456789abcdefghij\n", 21, NULL};
#undef RQ
    cr_assert_lt(rl, cap);

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0);
    int small = 4096; /* before connect: the window the server may fill stays small */
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(s.port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0, "connect: %s", strerror(errno));
    struct timeval tv = {30, 0}; /* bounds every read and write: a hang fails */
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), 0);

    pid_t writer = fork();
    cr_assert_geq(writer, 0);
    if (writer == 0) { /* no cr_* here */
        size_t off = 0;
        while (off < rl) {
            ssize_t n = send(fd, req + off, rl - off, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                _exit(1);
            off += (size_t)n;
        }
        _exit(0);
    }
    usleep((useconds_t)stall_ms * 1000); /* not reading: the server's writes hit EAGAIN meanwhile */
    size_t rcap = 16u << 20, got = 0;
    char *in = malloc(rcap + 1);
    int rerr = 0;
    while (in != NULL && got < rcap) {
        /* Then slowly, 16 KiB at a time: the server finds room for a part of what it
         * has queued at each wake-up, so its writes keep ending short. */
        ssize_t n = read(fd, in + got, rcap - got < 16384 ? rcap - got : 16384);
        usleep(200);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rerr = errno;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    int wst = 0;
    pid_t wr = waitpid(writer, &wst, 0);
    close(fd);
    cr_assert_not_null(in);
    cr_assert_eq(rerr, 0, "read: %s after %zu bytes", strerror(rerr), got);
    cr_assert_eq(wr, writer);
    cr_assert(WIFEXITED(wst) && WEXITSTATUS(wst) == 0, "the writer sent every request");
    in[got] = '\0';

    size_t pos = 0;
    for (size_t i = 0; i < nw; i++) {
        char *end = memmem(in + pos, got - pos, "\r\n\r\n", 4);
        cr_assert_not_null(end, "response %zu of %zu: no complete head at byte %zu of %zu", i, nw, pos, got);
        size_t hl = (size_t)(end - (in + pos)) + 4;
        char head[4096];
        cr_assert_lt(hl, sizeof head, "response %zu: head of %zu bytes", i, hl);
        memcpy(head, in + pos, hl);
        head[hl] = '\0';
        int st = 0;
        cr_assert_eq(sscanf(head, "HTTP/1.1 %d", &st), 1, "response %zu: %.80s", i, head);
        cr_assert_eq(st, w[i].status, "response %zu: %s", i, head);
        const char *cl = strstr(head, "\r\nContent-Length: ");
        long long clen = cl ? atoll(cl + 18) : -1;
        if (w[i].clen >= 0)
            cr_assert_eq(clen, w[i].clen, "response %zu: %s", i, head);
        pos += hl;
        size_t bl = w[i].body != NULL || w[i].blen > 0 ? (size_t)(clen > 0 ? clen : 0) : 0;
        cr_assert_leq(bl, got - pos, "response %zu: body cut (%zu of %zu bytes)", i, got - pos, bl);
        if (w[i].body != NULL)
            cr_assert(memcmp(in + pos, w[i].body, bl) == 0, "response %zu: body bytes differ", i);
        else if (w[i].needle != NULL)
            cr_assert_not_null(memmem(in + pos, bl, w[i].needle, strlen(w[i].needle)), "response %zu", i);
        pos += bl;
    }
    cr_assert_eq(pos, got, "nothing after the last response (%zu extra bytes)", got - pos);
    free(in);
    free(req);
    stop_term(&s);
}

Test(http, pipelined_short_writes_resume_every_byte_in_order, .timeout = TMO) { short_writes(NULL, 300, 1); }

/* The same with the client stalled (not reading) for longer than the idle and header
 * timeouts, well within --io-timeout: a connection with output queued waits for the
 * client under the io timeout (worker.h: T_SEND), whatever timer was armed when the
 * requests came in. Before the fix (conn.c advance) the 1 s header/idle timer armed
 * while the requests were read was still running when a write ran into EAGAIN, and it
 * closed the connection (a reset: unread requests) with responses still queued. */
Test(http, stalled_reader_is_bounded_by_io_timeout_not_idle_timer, .timeout = TMO)
{
    static const char *const opts[] = {"--keepalive-timeout", "1", "--header-timeout", "1", "--io-timeout", "20", NULL};
    short_writes(opts, 2500, 0); /* GETs only: no body timer (io timeout) is armed */
}

/* A sparse file of `size` bytes (no block written): bigger than FC_SMALL_MAX, so the
 * cache keeps its descriptor open. */
static void put_sparse(const char *path, off_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
    cr_assert_eq(ftruncate(fd, size), 0);
    close(fd);
}

/* HEAD of every many/fNNNN on one kept-alive connection, pipelined 50 at a time. */
static void head_all(struct cli *c, int want_status)
{
    struct resp r;
    for (int i = 0; i < MANY; i += 50) {
        char req[50 * 64] = "";
        int n = MANY - i < 50 ? MANY - i : 50;
        for (int k = 0; k < n; k++)
            snprintf(req + strlen(req), sizeof req - strlen(req), "HEAD /many/f%04d HTTP/1.1\r\nHost: t\r\n\r\n", i + k);
        SEND(c, req);
        for (int k = 0; k < n; k++) {
            cr_assert_eq(cli_resp(c, &r, 0), 0, "HEAD %d", i + k);
            cr_assert_eq(r.status, want_status, "HEAD %d: %s", i + k, r.head);
        }
    }
}

/* The open-file cache holds at most FC_MAX_ENTRIES descriptors per worker: after more
 * distinct big files than that, the worker has exactly that many more descriptors than
 * before (the evicted entries' closed), and after every file was replaced on disk and
 * revalidated, still exactly that many (the replaced entries' closed too). */
Test(http, cache_descriptors_bounded_evicted_and_replaced_closed, .timeout = TMO)
{
    char p[256], q[256];
    snprintf(p, sizeof p, "%s/many", root);
    cr_assert_eq(mkdir(p, 0755), 0);
    for (int i = 0; i < MANY; i++) {
        snprintf(p, sizeof p, "%s/many/f%04d", root, i);
        put_sparse(p, FC_SMALL_MAX + 1000);
    }
    struct fdh_srv s;
    start(&s, NULL);
    char body[8192];
    cr_assert_eq(fdh_status(s.port, body, sizeof body), 0);
    long pid = status_val(body, "worker.0.pid");
    cr_assert_gt(pid, 0);
    struct cli c;
    cli_open(&c, s.port);
    struct resp r;
    get(&c, "/status", NULL, &r); /* the connection is set up (TCP_NODELAY...) */
    int base = fd_count_of((pid_t)pid);
    cr_assert_gt(base, 0);
    /* The worker's bound: FC_MAX_ENTRIES, or a quarter of the descriptor limit it
     * inherited from us when that is lower (worker.c). */
    struct rlimit nl;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &nl), 0);
    int bound = nl.rlim_cur != RLIM_INFINITY && nl.rlim_cur / 4 < FC_MAX_ENTRIES ? (int)(nl.rlim_cur / 4) : FC_MAX_ENTRIES;
    head_all(&c, 200);
    int n1 = fd_count_of((pid_t)pid);
    cr_assert_eq(n1 - base, bound, "%d distinct big files: %d descriptors more (want the bound, %d)", MANY, n1 - base,
                 bound);
    /* Replace every file (a new inode under the name), wait out the trust period. */
    for (int i = 0; i < MANY; i++) {
        snprintf(q, sizeof q, "%s/many/t", root);
        put_sparse(q, FC_SMALL_MAX + 2000);
        snprintf(p, sizeof p, "%s/many/f%04d", root, i);
        cr_assert_eq(rename(q, p), 0);
    }
    usleep((FC_VALID_MS + 200) * 1000);
    head_all(&c, 200);
    int n2 = fd_count_of((pid_t)pid);
    cr_assert_eq(n2 - base, bound, "after replacement: %d descriptors more", n2 - base);
    /* Removed: 404, and their entries (descriptors) go at the revalidation. */
    for (int i = 0; i < MANY; i++) {
        snprintf(p, sizeof p, "%s/many/f%04d", root, i);
        cr_assert_eq(unlink(p), 0);
    }
    usleep((FC_VALID_MS + 200) * 1000);
    head_all(&c, 404);
    int n3 = fd_count_of((pid_t)pid);
    cr_assert_eq(n3, base, "every file gone: no descriptor kept (%d more)", n3 - base);
    close(c.fd);
    stop_term(&s);
}

/* The worker's clock (Date, the cache's trust period) is the time of the event being
 * served, not of the loop iteration before an idle wait: on a kept-alive connection,
 * after the worker slept longer than FC_VALID_MS, a file replaced meanwhile is served
 * new, and Date is now. Before the fix both were taken from before the wait: the old
 * bytes and a Date as old as the idle time. */
Test(http, first_request_after_idle_wait_sees_fresh_clock, .timeout = TMO)
{
    struct fdh_srv s;
    start(&s, NULL);
    struct cli c;
    struct resp r;
    char p[256], q[256];
    put("k.txt", "old\n");
    cli_open(&c, s.port);
    get(&c, "/k.txt", NULL, &r);
    cr_assert_str_eq(r.body, "old\n");
    put("k.new", "new!\n");
    snprintf(p, sizeof p, "%s/k.new", root);
    snprintf(q, sizeof q, "%s/k.txt", root);
    cr_assert_eq(rename(p, q), 0);
    usleep((FC_VALID_MS + 2000) * 1000); /* the worker waits in epoll_wait meanwhile */
    get(&c, "/k.txt", NULL, &r);
    time_t now = time(NULL);
    cr_assert_str_eq(r.body, "new!\n", "replaced more than FC_VALID_MS ago: %s", r.head);
    const char *d = strstr(r.head, "\r\nDate: ");
    cr_assert_not_null(d);
    time_t dt;
    cr_assert_eq(http_date_parse(d + 8, HTTP_DATE_LEN, &dt), 0);
    cr_assert(dt >= now - 1 && dt <= now, "Date is now (%ld s off)", (long)(now - dt));
    close(c.fd);
    unlink(q);
    stop_term(&s);
}

/* With a low RLIMIT_NOFILE (64) the cache keeps at most a quarter of it open: a hundred
 * distinct big files on one connection are all served (no 503 for want of a
 * descriptor), and new connections are still accepted. Before the fix the cache took
 * descriptors up to FC_MAX_ENTRIES (1024) and the worker ran out at about 50 files. */
Test(http, cache_within_a_low_nofile_limit, .timeout = TMO)
{
    char p[256];
    for (int i = 0; i < 100; i++) {
        snprintf(p, sizeof p, "%s/lim%03d", root, i);
        put_sparse(p, FC_SMALL_MAX + 1000);
    }
    struct rlimit old, low;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = 64;
    struct fdh_srv s;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    char *argv[] = {(char *)bin(), "-l", "127.0.0.1:0", "-w", "1", "--root", root, NULL};
    int st = fdh_srv_start(&s, bin(), argv, 30);
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0); /* only the server keeps the low limit */
    cr_assert_eq(st, 0, "start: %s", s.err);
    struct cli c;
    struct resp r;
    cli_open(&c, s.port);
    for (int i = 0; i < 100; i++) {
        char t[32];
        snprintf(t, sizeof t, "/lim%03d", i);
        char req[128];
        snprintf(req, sizeof req, "HEAD %s HTTP/1.1\r\nHost: t\r\n\r\n", t);
        SEND(&c, req);
        cr_assert_eq(cli_resp(&c, &r, 0), 0, "%s", t);
        cr_assert_eq(r.status, 200, "%s: %s", t, r.head);
    }
    struct cli c2;
    cli_open(&c2, s.port);
    get(&c2, "/a.txt", NULL, &r);
    cr_assert_eq(r.status, 200, "a new connection is still served");
    close(c2.fd);
    close(c.fd);
    stop_term(&s);
}
