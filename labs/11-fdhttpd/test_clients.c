/* test_clients.c — fdhttpd driven by REAL clients: curl, Python's http.client
 * (tests/http_client.py), ApacheBench (ab) and fdload; and what only many clients show:
 * 1,000 kept-alive connections at once, kill -9 of a worker under load (a connection
 * pinned on the other worker goes on), descriptor counts after 100,000 requests.
 * (Pipelining, the sparse gigabyte over a raw socket and the trickling client are in
 * test_http.c; the lab's own kill/fds scenarios in test_fdhttpd.c.)
 *
 * Every server is started on port 0 through common/kit/srvharness.h, in a fresh
 * docroot under a mkdtemp directory (the suite's init/fini), and stopped with SIGTERM: exit 0, nothing
 * left in its process group. Clients run through spawn.h (bounded, group killed).
 * Every test has the same .timeout: Criterion 2.4's runner drops the pending timeouts
 * that sort after a shorter new one (labs/01-naive/test_naive.c says how). */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "clock.h"
#include "fdcount.h"
#include "io.h"
#include "kv.h"
#include "labpath.h"
#include "srvharness.h"
#include "tests/srvtest.h"
#include "sock.h"
#include "spawn.h"

#define TMO 120
#define LAB "11-fdhttpd"
#define BIG (1LL << 30)   /* the sparse file */
#define DATA_LEN 100000   /* data.bin: binary bytes, echoed and compared */
#define ATXT "0123456789abcdefghij\n"

static char outer[64];  /* mkdtemp: root/, etc/passwd (what an escape would reach), scratch */
static char root[96];

static void put(const char *rel, const void *data, size_t n)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", outer, rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert_geq(fd, 0, "%s: %s", p, strerror(errno));
    cr_assert_eq(write(fd, data, n), (ssize_t)n);
    cr_assert_eq(close(fd), 0);
}

static char *path_of(const char *rel)
{
    static char p[4][256];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof p[i], "%s/%s", outer, rel);
    return p[i];
}

static void make_root(void)
{
    snprintf(outer, sizeof outer, "/tmp/fdh-clients-XXXXXX");
    cr_assert_not_null(mkdtemp(outer));
    snprintf(root, sizeof root, "%s/root", outer);
    cr_assert_eq(mkdir(root, 0755), 0);
    cr_assert_eq(mkdir(path_of("etc"), 0755), 0);
    put("etc/passwd", "root:x:0:0:LEAKED\n", 18);
    put("root/a.txt", ATXT, strlen(ATXT));
    put("root/index.html", "<h1>clients</h1>\n", 17);
    static unsigned char data[DATA_LEN];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 131 + (i >> 8)); /* NULs, CR, LF, 0xff included */
    put("root/data.bin", data, sizeof data);
    int fd = open(path_of("root/big"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, BIG), 0, "a sparse file: no block is written");
    close(fd);
}

static void rm_root(void)
{
    rm_tree(outer);
}

/* Starts fdhttpd (W workers, the test root, the access log off unless extra names one)
 * with extra options (NULL-terminated). */
static void start(struct fdh_srv *s, int workers, const char *const *extra)
{
    char w[8];
    snprintf(w, sizeof w, "%d", workers);
    int has_log = 0;
    for (const char *const *e = extra; e && *e; e++)
        has_log |= strcmp(*e, "--access-log") == 0;
    /* With a log in extra, base ends at the NULL in place of "--access-log". */
    const char *const base[] = {"-l", "127.0.0.1:0", "-w", w, "--root", root,
                                has_log ? NULL : "--access-log", "off", NULL};
    start_args(s, base, extra);
}

/* Runs a client program (PATH searched) to completion, bounded; asserts it ran and
 * left nothing behind. The caller checks the exit code it wants. */
static void run(struct run_result *r, double tmo, ...)
{
    char *argv[40];
    int n = 0;
    va_list ap;
    va_start(ap, tmo);
    for (char *a; n < 39 && (a = va_arg(ap, char *)) != NULL;)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    *r = (struct run_result){0};
    cr_assert_eq(run_capture(argv, tmo, r), 0, "cannot run %s", argv[0]);
    cr_assert_eq(r->timed_out, 0, "%s timed out:\n%s\n%s", argv[0], r->out, r->err);
    cr_assert_eq(r->leftovers, 0);
}

static char url_buf[8][256];
static int url_i;
static char *url(const struct fdh_srv *s, const char *path)
{
    url_i = (url_i + 1) % 8;
    snprintf(url_buf[url_i], sizeof url_buf[url_i], "http://127.0.0.1:%u%s", (unsigned)s->port, path);
    return url_buf[url_i];
}

/* The whole of a (small) file (common/runtime/io.h); *len its size. */
static char *slurp(const char *p, size_t *len)
{
    char *buf = read_file(p, len);
    cr_assert_not_null(buf, "%s: %s", p, strerror(errno));
    return buf;
}

static void same_file(const char *a, const char *b)
{
    size_t la, lb;
    char *x = slurp(a, &la), *y = slurp(b, &lb);
    cr_assert_eq(la, lb, "%s: %zu bytes, %s: %zu", a, la, b, lb);
    cr_assert_eq(memcmp(x, y, la), 0, "%s and %s differ", a, b);
    free(x);
    free(y);
}

TestSuite(clients, .init = make_root, .fini = rm_root, .timeout = TMO);

/* ---------------------------------------------------------------- curl */

Test(clients, curl_get_head_range_etag_echo_404_traversal, .timeout = TMO)
{
    struct fdh_srv s;
    start(&s, 2, NULL);
    struct run_result r;
    char *out = path_of("curl.out");

    /* GET: the file's exact bytes, its type, its size. */
    run(&r, 30, "curl", "-sS", "--http1.1", "-o", out, "-w", "%{http_code} %{size_download} %{content_type}",
        url(&s, "/data.bin"), NULL);
    cr_assert_eq(run_exit_code(&r), 0, "%s", r.err);
    cr_assert_str_eq(r.out, "200 100000 application/octet-stream");
    same_file(out, path_of("root/data.bin"));
    run_result_free(&r);
    run(&r, 30, "curl", "-sS", "-o", out, "-w", "%{http_code} %{content_type}", url(&s, "/"), NULL);
    cr_assert_str_eq(r.out, "200 text/html; charset=utf-8");
    same_file(out, path_of("root/index.html"));
    run_result_free(&r);

    /* HEAD: GET's head (Content-Length 21), no body. */
    run(&r, 30, "curl", "-sS", "-I", "-w", "size_download=%{size_download}\n", url(&s, "/a.txt"), NULL);
    cr_assert(strncmp(r.out, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", r.out);
    cr_assert_not_null(strstr(r.out, "\r\nContent-Length: 21\r\n"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "size_download=0\n"), "%s", r.out);
    run_result_free(&r);

    /* Range: 206 and exactly those bytes. */
    run(&r, 30, "curl", "-sS", "-r", "10-19", "-o", out, "-w", "%{http_code}", url(&s, "/a.txt"), NULL);
    cr_assert_str_eq(r.out, "206");
    size_t len;
    char *body = slurp(out, &len);
    cr_assert_str_eq(body, "abcdefghij");
    free(body);
    run_result_free(&r);

    /* If-None-Match with the ETag the server gave: 304. */
    run(&r, 30, "curl", "-sS", "-D", "-", "-o", "/dev/null", url(&s, "/a.txt"), NULL);
    char *et = strstr(r.out, "\r\nETag: ");
    cr_assert_not_null(et, "%s", r.out);
    char inm[160];
    cr_assert_eq(sscanf(et, "\r\nETag: %120[^\r]", inm + 15), 1);
    memcpy(inm, "If-None-Match: ", 15);
    run_result_free(&r);
    run(&r, 30, "curl", "-sS", "-H", inm, "-o", out, "-w", "%{http_code} %{size_download}", url(&s, "/a.txt"), NULL);
    cr_assert_str_eq(r.out, "304 0", "%s", inm);
    run_result_free(&r);

    /* POST --data-binary: echoed byte for byte (NULs, CR LF and all). */
    char at[300];
    snprintf(at, sizeof at, "@%s", path_of("root/data.bin"));
    run(&r, 30, "curl", "-sS", "--data-binary", at, "-H", "Content-Type: application/octet-stream", "-o", out,
        "-w", "%{http_code} %{size_upload}", url(&s, "/echo"), NULL);
    cr_assert_str_eq(r.out, "200 100000", "%s", r.err);
    same_file(out, path_of("root/data.bin"));
    run_result_free(&r);

    /* 404. */
    run(&r, 30, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", url(&s, "/nope"), NULL);
    cr_assert_str_eq(r.out, "404");
    run_result_free(&r);

    /* Traversal sent as is (curl would otherwise squash the dots): never a file outside
     * the root — neither the system's /etc/passwd nor the one next to the root. */
    const char *escapes[] = {"/../../etc/passwd", "/../etc/passwd", "/%2e%2e/etc/passwd", "/..%2fetc/passwd",
                             "/a.txt/../../etc/passwd"};
    for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++) {
        unlink(out);
        run(&r, 30, "curl", "-sS", "--path-as-is", "-o", out, "-w", "%{http_code}", url(&s, escapes[i]), NULL);
        int code = atoi(r.out);
        cr_assert(code == 400 || code == 403 || code == 404, "%s -> %s", escapes[i], r.out);
        body = slurp(out, &len);
        cr_assert_null(strstr(body, "root:"), "%s leaked a passwd file", escapes[i]);
        free(body);
        run_result_free(&r);
    }
    stop_term(&s);
}

Test(clients, curl_reuses_one_kept_alive_connection, .timeout = TMO)
{
    struct fdh_srv s;
    start(&s, 2, NULL);
    struct run_result r;
    /* Four URLs in one curl: one connection made, then reused (num_connects 1, 0, 0, 0),
     * every answer from the same worker — a 404 does not end the connection. */
    run(&r, 30, "curl", "--http1.1", "-sS", "-v", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null", "-o",
        "/dev/null", "-w", "%{num_connects} %{http_code}\n", url(&s, "/a.txt"), url(&s, "/index.html"),
        url(&s, "/nope"), url(&s, "/data.bin"), NULL);
    cr_assert_eq(run_exit_code(&r), 0, "%s", r.err);
    cr_assert_str_eq(r.out, "1 200\n0 200\n0 404\n0 200\n", "%s", r.err);
    cr_assert_not_null(strstr(r.err, "Re-using existing"), "curl -v says so: %s", r.err); /* 7.x and 8.x wordings */
    /* curl -v prints the response heads on stderr: one X-Worker value for all four. */
    const char *p = r.err;
    char first[8] = "";
    int seen = 0;
    while ((p = strstr(p, "< X-Worker: ")) != NULL) {
        char w[8];
        cr_assert_eq(sscanf(p, "< X-Worker: %7[0-9]", w), 1);
        if (!seen++)
            snprintf(first, sizeof first, "%s", w);
        cr_assert_str_eq(w, first, "all on one connection, so one worker");
        p++;
    }
    cr_assert_eq(seen, 4, "%s", r.err);
    run_result_free(&r);
    stop_term(&s);
}

/* ---------------------------------------------------------------- Python http.client */

static void python(const struct fdh_srv *s, const char *mode, struct run_result *r)
{
    char port[16];
    snprintf(port, sizeof port, "%u", (unsigned)s->port);
    run(r, 100, "python3", "labs/" LAB "/tests/http_client.py", port, mode, NULL);
    cr_assert_eq(run_exit_code(r), 0, "http_client.py %s:\n%s\n%s", mode, r->out, r->err);
    cr_assert(kv_is(r->out, "ok", "1"), "%s", r->out);
}

Test(clients, python_http_client_keepalive_chunked_and_sparse_gigabyte, .timeout = TMO)
{
    struct fdh_srv s;
    start(&s, 2, NULL);
    struct run_result r;
    python(&s, "keepalive", &r);
    cr_assert(kv_is(r.out, "requests", "5"));
    cr_assert(kv_is(r.out, "connections", "1"), "HEAD answers (a 404 too) carry no body: %s", r.out);
    run_result_free(&r);
    python(&s, "chunked", &r);
    cr_assert(kv_is(r.out, "status", "200"));
    run_result_free(&r);
    python(&s, "big", &r);
    cr_assert(kv_is(r.out, "content_length", "1073741824"), "%s", r.out);
    cr_assert(kv_is(r.out, "bytes", "1073741824"), "exactly Content-Length bytes: %s", r.out);
    run_result_free(&r);
    stop_term(&s);
}

/* ---------------------------------------------------------------- ab */

Test(clients, ab_2000_kept_alive_requests_no_failure, .timeout = TMO)
{
    struct fdh_srv s;
    start(&s, 2, NULL);
    struct run_result r;
    /* ab speaks HTTP/1.0 with "Connection: Keep-Alive": the server must answer
     * "Connection: keep-alive" or ab counts no keep-alive request. */
    run(&r, 100, "ab", "-q", "-n", "2000", "-c", "20", "-k", url(&s, "/a.txt"), NULL);
    cr_assert_eq(run_exit_code(&r), 0, "%s\n%s", r.out, r.err);
    long v;
    const char *p = strstr(r.out, "Complete requests:");
    cr_assert(p && sscanf(p, "Complete requests: %ld", &v) == 1 && v == 2000, "%s", r.out);
    p = strstr(r.out, "Failed requests:");
    cr_assert(p && sscanf(p, "Failed requests: %ld", &v) == 1 && v == 0, "%s", r.out);
    cr_assert_null(strstr(r.out, "Non-2xx responses"), "%s", r.out);
    p = strstr(r.out, "Keep-Alive requests:");
    cr_assert(p && sscanf(p, "Keep-Alive requests: %ld", &v) == 1 && v == 2000, "%s", r.out);
    p = strstr(r.out, "Document Length:");
    cr_assert(p && sscanf(p, "Document Length: %ld", &v) == 1 && v == 21, "%s", r.out);
    run_result_free(&r);
    stop_term(&s);
}

/* ---------------------------------------------------------------- fdload */

static long kvl(const struct run_result *r, const char *key)
{
    long v;
    cr_assert_eq(kv_long(r->out, key, &v), 0, "no %s in:\n%s\n%s", key, r->out, r->err);
    return v;
}

/* fdload against the server: it must have run (exit 0) and closed every socket. */
#define FDLOAD(r, tmo, ...)                                                                  \
    do {                                                                                     \
        *(r) = (struct run_result){0};                                                       \
        cr_assert_eq(run_lab(r, tmo, LAB, "fdload", "--kv", __VA_ARGS__, NULL), 0);         \
        cr_assert_eq((r)->timed_out, 0, "%s", (r)->err);                                     \
        cr_assert_eq((r)->leftovers, 0);                                                     \
        cr_assert_eq(run_exit_code(r), 0, "fdload: %s", (r)->err);                           \
        cr_assert(kv_is((r)->out, "fds_leaked", "0"), "%s", (r)->out);                        \
    } while (0)

Test(clients, fdload_pipelined_posts_and_closing_runs_without_error, .timeout = TMO)
{
    struct fdh_srv s;
    start(&s, 2, NULL);
    char port[16];
    snprintf(port, sizeof port, "%u", (unsigned)s.port);
    struct run_result r;
    FDLOAD(&r, 90, "-p", port, "-c", "32", "-t", "2", "-n", "20000", "-k", "--pipeline", "8", "--path", "/a.txt");
    cr_assert_eq(kvl(&r, "ok"), 20000);
    cr_assert_eq(kvl(&r, "status.2xx"), 20000);
    cr_assert_eq(kvl(&r, "errors.transport"), 0);
    cr_assert_eq(kvl(&r, "connections_opened"), 32, "kept alive: no connection was lost");
    cr_assert_eq(kvl(&r, "worker.0") + kvl(&r, "worker.1"), 20000, "every answer names worker 0 or 1");
    run_result_free(&r);
    FDLOAD(&r, 90, "-p", port, "-c", "8", "-t", "2", "-n", "2000", "-k", "--pipeline", "4", "-m", "POST",
           "--path", "/echo", "--body-size", "3000");
    cr_assert_eq(kvl(&r, "ok"), 2000);
    cr_assert_eq(kvl(&r, "status.2xx"), 2000);
    cr_assert_eq(kvl(&r, "errors.transport"), 0);
    run_result_free(&r);
    FDLOAD(&r, 90, "-p", port, "-c", "8", "-t", "2", "-n", "2000", "--path", "/index.html");
    cr_assert_eq(kvl(&r, "ok"), 2000);
    cr_assert_eq(kvl(&r, "connections_opened"), 2000, "one connection per request");
    cr_assert_eq(kvl(&r, "errors.transport"), 0);
    run_result_free(&r);
    stop_term(&s);
}

/* ---------------------------------------------------------------- many connections */

/* One response on fd (blocking, SO_RCVTIMEO bounded): status, or -1. The body must be
 * exactly want (NULL: not checked); *worker gets X-Worker. */
static int read_resp(int fd, const char *want, int *worker)
{
    char buf[4096];
    size_t len = 0;
    char *end = NULL;
    while (end == NULL) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    int status = -1;
    if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
        return -1;
    const char *cl = strstr(buf, "\r\nContent-Length: ");
    size_t blen = cl ? (size_t)atol(cl + 18) : 0, hl = (size_t)(end + 4 - buf);
    if (hl + blen >= sizeof buf)
        return -1;
    while (len < hl + blen) {
        ssize_t n = read(fd, buf + len, hl + blen - len);
        if (n <= 0)
            return -1;
        len += (size_t)n;
    }
    buf[hl + blen] = '\0';
    const char *xw = strstr(buf, "\r\nX-Worker: ");
    if (worker)
        *worker = xw ? atoi(xw + 12) : -1;
    if (want && (blen != strlen(want) || memcmp(buf + hl, want, blen) != 0))
        return -1;
    return status;
}

static void send_str(int fd, const char *s)
{
    size_t n = strlen(s);
    cr_assert_eq(send(fd, s, n, MSG_NOSIGNAL), (ssize_t)n, "send: %s", strerror(errno));
}

static int open_client(uint16_t port)
{
    int fd = tcp_connect("127.0.0.1", port, SOCK_CLOEXEC);
    cr_assert_geq(fd, 0, "connect: %s", strerror(errno));
    struct timeval tv = {20, 0}; /* bounds every read: a hang fails, never blocks */
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    return fd;
}

static long status_val(uint16_t port, const char *key)
{
    char body[16384];
    long v = -1;
    if (fdh_status(port, body, sizeof body) == 0 && kv_long(body, key, &v) == 0)
        return v;
    return -1;
}

/* Polls /status until total.active (minus the /status connection itself) is want. */
static long active_until(uint16_t port, long want)
{
    long v = -1;
    for (int i = 0; i < 1500 && v != want; i++) {
        v = status_val(port, "total.active");
        v = v < 0 ? -1 : v - 1;
        if (v != want)
            sleep_ms(20);
    }
    return v;
}

/* The "Max open files" soft limit of a process, from /proc/PID/limits; -1 unknown. */
static long nofile_of(pid_t pid)
{
    char p[64], buf[4096];
    snprintf(p, sizeof p, "/proc/%d/limits", (int)pid);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    const char *l = strstr(buf, "Max open files");
    return l ? strtol(l + 14, NULL, 10) : -1;
}

#define NCONN 1000

Test(clients, thousand_kept_alive_connections_at_once, .timeout = TMO)
{
    /* 1,000 sockets here, plus what the test itself holds. */
    struct rlimit rl;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < NCONN + 200) {
        cr_assert_geq(rl.rlim_max, NCONN + 200, "the hard RLIMIT_NOFILE is too low for this test");
        rl.rlim_cur = NCONN + 200;
        cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    struct fdh_srv s;
    start(&s, 2, NULL); /* the workers inherit the limit: one may get them all */
    long wpid = status_val(s.port, "worker.0.pid");
    cr_assert_gt(wpid, 0);
    cr_assert_geq(nofile_of((pid_t)wpid), NCONN + 50, "the worker's own RLIMIT_NOFILE");

    static int fd[NCONN];
    for (int i = 0; i < NCONN; i++) {
        fd[i] = open_client(s.port);
        send_str(fd[i], "GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    }
    int per[2] = {0, 0};
    for (int i = 0; i < NCONN; i++) {
        int w = -1;
        cr_assert_eq(read_resp(fd[i], ATXT, &w), 200, "connection %d", i);
        cr_assert(w == 0 || w == 1, "connection %d: X-Worker %d", i, w);
        per[w]++;
    }
    cr_assert_eq(active_until(s.port, NCONN), NCONN, "all 1,000 are open at the same time");
    /* Each is still alive: a second request on every one, answered by the same worker. */
    for (int i = 0; i < NCONN; i++)
        send_str(fd[i], "GET /index.html HTTP/1.1\r\nHost: t\r\n\r\n");
    int per2[2] = {0, 0};
    for (int i = 0; i < NCONN; i++) {
        int w = -1;
        cr_assert_eq(read_resp(fd[i], "<h1>clients</h1>\n", &w), 200, "connection %d, request 2", i);
        cr_assert(w == 0 || w == 1);
        per2[w]++;
    }
    cr_assert(per[0] == per2[0] && per[1] == per2[1], "the same connections, the same workers");
    for (int i = 0; i < NCONN; i++)
        close(fd[i]);
    cr_assert_eq(active_until(s.port, 0), 0, "every connection closed in the server too");
    /* Still fine: a new connection is served. */
    char resp[4096];
    cr_assert_gt(fdh_http(s.port, "GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", resp, sizeof resp,
                          5000), 0);
    cr_assert(strncmp(resp, "HTTP/1.1 200 ", 13) == 0, "%s", resp);
    stop_term(&s);
}

Test(clients, head_answers_carry_no_body_even_errors, .timeout = TMO)
{
    /* http.client and curl both tolerate a stray body after a HEAD answer by accident
     * (a discarded read buffer, a dropped connection), so this one is checked on the
     * wire: HEAD of a missing file, then a GET, pipelined on one connection — the
     * second answer must follow the first head at once. */
    struct fdh_srv s;
    start(&s, 1, NULL);
    int fd = open_client(s.port);
    send_str(fd, "HEAD /nope HTTP/1.1\r\nHost: t\r\n\r\nHEAD /a.txt HTTP/1.1\r\nHost: t\r\n\r\n"
                 "GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    char buf[8192];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    close(fd);
    char *h1 = strstr(buf, "\r\n\r\n");
    cr_assert(strncmp(buf, "HTTP/1.1 404 ", 13) == 0 && h1, "%s", buf);
    cr_assert(strncmp(h1 + 4, "HTTP/1.1 200 ", 13) == 0, "no body after the HEAD 404:\n%s", buf);
    char *h2 = strstr(h1 + 4, "\r\n\r\n");
    cr_assert(h2 && strncmp(h2 + 4, "HTTP/1.1 200 ", 13) == 0, "no body after the HEAD 200:\n%s", buf);
    char *h3 = strstr(h2 + 4, "\r\n\r\n");
    cr_assert(h3 && strcmp(h3 + 4, ATXT) == 0, "%s", buf);
    stop_term(&s);
}

/* ---------------------------------------------------------------- kill -9 under load */

struct bg_fdload {
    char port[16];
    struct run_result r;
    int rc;
};

static void *fdload_thread(void *arg)
{
    struct bg_fdload *b = arg; /* no cr_* here: not the test's thread */
    b->rc = run_lab(&b->r, 60, LAB, "fdload", "--kv", "-p", b->port, "-c", "16", "-t", "2", "-d", "4", "-k",
                    "--path", "/a.txt", "--timeout", "5", NULL);
    return NULL;
}

/* One request on the pinned connection: 200 from worker `want`, on the same socket. */
static void pinned_ok(int fd, int want, const char *when)
{
    send_str(fd, "GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    int w = -1;
    cr_assert_eq(read_resp(fd, ATXT, &w), 200, "the pinned connection failed %s", when);
    cr_assert_eq(w, want, "%s", when);
}

Test(clients, kill9_worker_under_fdload_other_worker_unaffected, .timeout = TMO)
{
    struct fdh_srv s;
    start(&s, 2, NULL);
    double t0 = mono_s();
    /* A kept-alive connection pinned on worker 1 (reuseport: the kernel hashes each
     * connection to one worker's listener; try until one lands on worker 1). */
    int pin = -1;
    for (int i = 0; i < 64 && pin < 0; i++) {
        int fd = open_client(s.port);
        send_str(fd, "GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
        int w = -1;
        cr_assert_eq(read_resp(fd, ATXT, &w), 200);
        if (w == 1)
            pin = fd;
        else
            close(fd);
    }
    cr_assert_geq(pin, 0, "no connection reached worker 1 in 64 tries");

    struct bg_fdload b = {0};
    snprintf(b.port, sizeof b.port, "%u", (unsigned)s.port);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, fdload_thread, &b), 0);
    /* Kill once the load flows and the worker is older than the crash window (1 s), so
     * it is respawned at once rather than after a back-off. */
    while (mono_s() - t0 < 1.3)
        sleep_ms(20);
    long base = status_val(s.port, "total.requests");
    for (int i = 0; i < 500 && status_val(s.port, "total.requests") < base + 500; i++)
        sleep_ms(10);
    pinned_ok(pin, 1, "before the kill");
    long old = status_val(s.port, "worker.0.pid");
    /* What worker 0 holds now: fdload keeps its 16 connections (it opens new ones only
     * after an error), so these are the connections the kill can cost. */
    long held = status_val(s.port, "worker.0.active");
    cr_assert_gt(old, 0);
    cr_assert_eq(kill((pid_t)old, SIGKILL), 0);
    pinned_ok(pin, 1, "right after the kill");
    long now = -1, starts = -1;
    for (int i = 0; i < 1000; i++) { /* bounded: 10 s */
        now = status_val(s.port, "worker.0.pid");
        starts = status_val(s.port, "worker.0.starts");
        if (now > 0 && now != old && starts >= 2)
            break;
        sleep_ms(10);
    }
    cr_assert(now > 0 && now != old && starts == 2, "respawned in slot 0: pid %ld -> %ld, starts %ld", old, now,
              starts);
    pinned_ok(pin, 1, "after the respawn");
    cr_assert_eq(status_val(s.port, "worker.1.starts"), 1, "worker 1 was never restarted");
    pthread_join(th, NULL);
    cr_assert_eq(b.rc, 0);
    cr_assert_eq(b.r.timed_out, 0);
    cr_assert_eq(b.r.leftovers, 0);
    cr_assert_eq(run_exit_code(&b.r), 0, "%s", b.r.err);
    /* Only what the dead worker held can fail: at most the one request in flight on each
     * of its connections (the connections queued in its listener wait for the new
     * worker: the master holds the listener). */
    long errors = kvl(&b.r, "errors.transport");
    cr_assert_leq(held, 17, "fdload's 16 and perhaps the /status connection");
    cr_assert_leq(errors, held, "%ld errors, worker 0 held %ld connections: %s", errors, held, b.r.out);
    cr_assert_gt(kvl(&b.r, "ok"), 0);
    cr_assert_gt(kvl(&b.r, "worker.1"), 0);
    cr_log_info("kill9: worker 0 held %ld connections, fdload: ok=%ld errors=%ld", held, kvl(&b.r, "ok"), errors);
    cr_assert(kv_is(b.r.out, "fds_leaked", "0"));
    run_result_free(&b.r);
    /* The new worker 0 serves new connections. */
    int served0 = 0;
    for (int i = 0; i < 64 && !served0; i++) {
        int fd = open_client(s.port);
        send_str(fd, "GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        int w = -1;
        cr_assert_eq(read_resp(fd, ATXT, &w), 200);
        served0 = w == 0;
        close(fd);
    }
    cr_assert(served0, "the respawned worker 0 answers");
    pinned_ok(pin, 1, "at the end");
    close(pin);
    for (int i = 0; i < 50 && strstr(s.err, "killed by signal 9") == NULL; i++)
        fdh_srv_pump(&s, 20);
    cr_assert_not_null(strstr(s.err, "killed by signal 9"), "the master logs the death: %s", s.err);
    stop_term(&s);
}

/* ---------------------------------------------------------------- fds after 100,000 */

/* Descriptors of the master and of worker 0 and 1, once only the /status connection is
 * open; pids too (a respawn would make the counts meaningless). */
static void count_fds(const struct fdh_srv *s, int fds[3], long pids[2])
{
    cr_assert_eq(active_until(s->port, 0), 0, "connections still open");
    fds[0] = fd_count_of(s->pid);
    for (int i = 0; i < 2; i++) {
        char k[32];
        snprintf(k, sizeof k, "worker.%d.pid", i);
        pids[i] = status_val(s->port, k);
        cr_assert_gt(pids[i], 0);
        fds[i + 1] = fd_count_of((pid_t)pids[i]);
    }
    /* A worker counted while it still holds the /status connection shows one more;
     * count again until two readings agree (bounded). */
    for (int tries = 0; tries < 50; tries++) {
        int again[3] = {fd_count_of(s->pid), fd_count_of((pid_t)pids[0]), fd_count_of((pid_t)pids[1])};
        if (memcmp(again, fds, sizeof again) == 0)
            break;
        memcpy(fds, again, sizeof again);
        sleep_ms(20);
    }
    for (int i = 0; i < 3; i++)
        cr_assert_gt(fds[i], 0);
}

Test(clients, fd_counts_unchanged_after_100000_requests, .timeout = TMO)
{
    struct fdh_srv s;
    const char *opt[] = {"--access-log", path_of("access.log"), NULL};
    start(&s, 2, opt);
    int before[3], after[3];
    long pids[2], pids2[2];
    count_fds(&s, before, pids);
    char port[16];
    snprintf(port, sizeof port, "%u", (unsigned)s.port);
    double t0 = mono_s();
    struct run_result r;
    /* Kept alive and pipelined (fast), on a file: each request opens the file and
     * sends it with sendfile — the descriptors that could leak. */
    FDLOAD(&r, 100, "-p", port, "-c", "8", "-t", "2", "-n", "100000", "-k", "--pipeline", "16", "--path", "/a.txt");
    cr_assert_eq(kvl(&r, "ok"), 100000);
    cr_assert_eq(kvl(&r, "status.2xx"), 100000);
    cr_assert_eq(kvl(&r, "errors.transport"), 0);
    run_result_free(&r);
    /* And connections that come and go, some ending with an error (a 404 keeps them,
     * garbage closes them). */
    FDLOAD(&r, 60, "-p", port, "-c", "8", "-t", "2", "-n", "1000", "--path", "/nope");
    cr_assert_eq(kvl(&r, "status.4xx"), 1000);
    run_result_free(&r);
    for (int i = 0; i < 50; i++) {
        char resp[4096];
        cr_assert_gt(fdh_http(s.port, "BAD\r\n\r\n", resp, sizeof resp, 5000), 0);
    }
    double took = mono_s() - t0;
    count_fds(&s, after, pids2);
    cr_assert(pids[0] == pids2[0] && pids[1] == pids2[1], "no worker was replaced");
    cr_assert_eq(after[0], before[0], "master: %d fds before, %d after", before[0], after[0]);
    cr_assert_eq(after[1], before[1], "worker 0: %d fds before, %d after", before[1], after[1]);
    cr_assert_eq(after[2], before[2], "worker 1: %d fds before, %d after", before[2], after[2]);
    cr_log_info("fd_counts_unchanged_after_100000_requests: load took %.2f s", took);
    stop_term(&s);
}
