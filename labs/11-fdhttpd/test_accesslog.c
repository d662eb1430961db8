/* test_accesslog.c — fdhttpd's per-worker buffered access log (--access-log,
 * lib/accesslog.h): one line per response with the right status and body bytes;
 * buffered (a line is not in the file as soon as its response is); written on the
 * timer while the server runs and at exit (SIGQUIT, SIGTERM); two workers appending to
 * one file leave only whole lines; "off" writes nothing; a bad path is refused.
 * Every test has the same .timeout: Criterion 2.4's runner drops the pending timeouts
 * that sort after a shorter new one (labs/01-naive/test_naive.c says how). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "clock.h"
#include "io.h"
#include "kv.h"
#include "labpath.h"
#include "evloop.h"
#include "lib/accesslog.h"
#include "srvharness.h"
#include "tests/srvtest.h"
#include "lib/reply.h"
#include "sock.h"
#include "spawn.h"

#define TMO 120
#define LAB "11-fdhttpd"
#define ATXT "0123456789abcdefghij\n"

static char tmp[64];
static char root[96];
static char logp[96];

static void setup(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/fdh-alog-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    snprintf(root, sizeof root, "%s/root", tmp);
    snprintf(logp, sizeof logp, "%s/access.log", tmp);
    cr_assert_eq(mkdir(root, 0755), 0);
    char p[160];
    snprintf(p, sizeof p, "%s/a.txt", root);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, ATXT, strlen(ATXT)), (ssize_t)strlen(ATXT));
    close(fd);
}

static void teardown(void)
{
    rm_tree(tmp);
}

TestSuite(access_log, .init = setup, .fini = teardown, .timeout = TMO);

/* Starts fdhttpd with W workers on the test root; log: a path, "off", or NULL (the
 * default). */
static void start(struct fdh_srv *s, int workers, const char *log)
{
    char w[8];
    snprintf(w, sizeof w, "%d", workers);
    char *argv[16] = {(char *)bin(), "-l", "127.0.0.1:0", "-w", w, "--root", root, NULL};
    if (log)
        argv[7] = "--access-log", argv[8] = (char *)log, argv[9] = NULL;
    cr_assert_eq(fdh_srv_start(s, bin(), argv, 30), 0, "start: %s", s->err);
}

static void stop(struct fdh_srv *s, int sig)
{
    stop_with(s, sig, 40);
}

static long file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

/* The whole log file (common/runtime/io.h), asserted readable. */
static char *slurp(const char *p)
{
    char *buf = read_file(p, NULL);
    cr_assert_not_null(buf, "%s: %s", p, strerror(errno));
    return buf;
}

static long count_lines(const char *p)
{
    if (file_size(p) <= 0)
        return 0;
    char *b = slurp(p);
    long n = 0;
    for (char *q = b; *q; q++)
        n += *q == '\n';
    free(b);
    return n;
}

/* Polls until the log holds want lines (bounded: 10 s); returns the last count. */
static long lines_until(const char *p, long want)
{
    long n = -1;
    for (int i = 0; i < 500 && (n = count_lines(p)) != want; i++)
        sleep_ms(20);
    return n;
}

/* One exchange on a kept-alive connection: sends req, reads one response (framed by
 * Content-Length); returns the status, *clen the Content-Length (0 when absent). */
static int exchange(int fd, const char *req, long *clen)
{
    size_t n = strlen(req);
    cr_assert_eq(send(fd, req, n, MSG_NOSIGNAL), (ssize_t)n);
    char buf[8192];
    size_t len = 0;
    char *end = NULL;
    while (end == NULL) {
        ssize_t k = read(fd, buf + len, sizeof buf - 1 - len);
        cr_assert_gt(k, 0, "no response to %.40s", req);
        len += (size_t)k;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    int status = -1;
    cr_assert_eq(sscanf(buf, "HTTP/1.1 %d", &status), 1);
    const char *cl = strstr(buf, "\r\nContent-Length: ");
    *clen = cl ? atol(cl + 18) : 0;
    size_t want = (size_t)(end + 4 - buf) + (strncmp(req, "HEAD", 4) == 0 ? 0 : (size_t)*clen);
    while (len < want) {
        ssize_t k = read(fd, buf + len, sizeof buf - 1 - len);
        cr_assert_gt(k, 0);
        len += (size_t)k;
    }
    cr_assert_eq(len, want, "exactly one response");
    return status;
}

static int open_client(uint16_t port)
{
    int fd = tcp_connect("127.0.0.1", port, SOCK_CLOEXEC);
    cr_assert_geq(fd, 0);
    struct timeval tv = {20, 0};
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    return fd;
}

Test(access_log, one_line_per_response_with_status_and_body_bytes, .timeout = TMO)
{
    struct fdh_srv s;
    start(&s, 1, logp);
    cr_assert(kv_is(s.out, "access_log", logp), "the master names the log: %s", s.out);
    int fd = open_client(s.port);
    long cl, cl404 = -1;
    char longreq[600];
    snprintf(longreq, sizeof longreq, "GET /nope?%0400d HTTP/1.1\r\nHost: t\r\n\r\n", 7);
    struct {
        const char *req;
        int status;
    } ex[] = {
        {"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n", 200},
        {"HEAD /a.txt HTTP/1.1\r\nHost: t\r\n\r\n", 200},
        {"GET /nope?q=1 HTTP/1.1\r\nHost: t\r\n\r\n", 404},
        {"GET /a.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=10-19\r\n\r\n", 206},
        {"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world", 200},
        {"GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200},
        {longreq, 404},
    };
    int lagged = 0;
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        cr_assert_eq(exchange(fd, ex[i].req, &cl), ex[i].status, "%s", ex[i].req);
        if (i == 2)
            cl404 = cl;
        /* Buffered: the line of an answered request is (almost always) not in the file
         * yet. Seen once is enough; timing can only hide it, never fake it. */
        lagged |= count_lines(logp) < (long)i + 1;
    }
    cr_assert(lagged, "every line was in the file as soon as its response: not buffered");
    /* A request that cannot be parsed is logged too, with "-" for the request. */
    cr_assert_eq(exchange(fd, "BAD\r\n\r\n", &cl), 400);
    close(fd);
    /* The timer writes the lines while the server runs (at most 1 s later). */
    cr_assert_eq(lines_until(logp, 8), 8, "the 1 s flush");
    char *log = slurp(logp);
    char want[1024];
    const char *line = log;
    char *exp[8];
    char e404[128];
    snprintf(e404, sizeof e404, "\"GET /nope?q=1 HTTP/1.1\" 404 %ld\n", cl404);
    exp[0] = "\"GET /a.txt HTTP/1.1\" 200 21\n";
    exp[1] = "\"HEAD /a.txt HTTP/1.1\" 200 0\n";
    exp[2] = e404;
    exp[3] = "\"GET /a.txt HTTP/1.1\" 206 10\n";
    exp[4] = "\"POST /echo HTTP/1.1\" 200 11\n";
    exp[5] = "\"GET /a.txt HTTP/1.0\" 200 21\n";
    exp[6] = NULL; /* the long one: checked below */
    exp[7] = "\"-\" 400 ";
    for (int i = 0; i < 8; i++) {
        const char *nl = strchr(line, '\n');
        cr_assert_not_null(nl, "line %d missing:\n%s", i, log);
        /* PEER - - [dd/Mon/yyyy:hh:mm:ss +0000] "request" status bytes */
        int day, year, hh, mm, ss;
        char mon[4];
        cr_assert_eq(sscanf(line, "127.0.0.1 - - [%2d/%3[A-Za-z]/%4d:%2d:%2d:%2d +0000] \"", &day, mon, &year, &hh, &mm,
                            &ss),
                     6, "line %d: %.*s", i, (int)(nl - line), line);
        const char *q = strchr(line, '"');
        if (exp[i])
            cr_assert(strncmp(q, exp[i], strlen(exp[i])) == 0, "line %d: %.*s\nwant %s", i, (int)(nl - line), line,
                      exp[i]);
        else {
            snprintf(want, sizeof want, "\"GET /nope?%0200d", 0);
            cr_assert(strncmp(q, want, 30) == 0, "%.*s", (int)(nl - line), line);
            cr_assert_not_null(strstr(q, "...\" 404 "), "a long target is cut: %.*s", (int)(nl - line), line);
            cr_assert_lt(nl - line, 400, "bounded line");
        }
        line = nl + 1;
    }
    cr_assert_eq(*line, '\0', "nothing else:\n%s", log);
    free(log);
    stop(&s, SIGTERM);
}

static void flushed_at_exit(int sig)
{
    struct fdh_srv s;
    start(&s, 2, logp);
    for (int i = 0; i < 20; i++) {
        char resp[4096];
        cr_assert_gt(fdh_http(s.port, "GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", resp, sizeof resp,
                              5000), 0);
    }
    long early = count_lines(logp);
    stop(&s, sig); /* at once: most likely before the 1 s timer */
    cr_assert_eq(count_lines(logp), 20, "every line is in the file when the workers have exited (%ld before)",
                 early);
    char *log = slurp(logp);
    const char *p = log;
    for (int i = 0; i < 20; i++, p = strchr(p, '\n') + 1)
        cr_assert_not_null(strstr(p, "\"GET /a.txt HTTP/1.1\" 200 21\n"));
    free(log);
}

Test(access_log, flushed_when_workers_drain_on_sigquit, .timeout = TMO) { flushed_at_exit(SIGQUIT); }
Test(access_log, flushed_when_workers_stop_on_sigterm, .timeout = TMO) { flushed_at_exit(SIGTERM); }

Test(access_log, two_workers_append_whole_lines_to_one_file, .timeout = TMO)
{
    struct fdh_srv s;
    start(&s, 2, logp);
    char port[16];
    snprintf(port, sizeof port, "%u", (unsigned)s.port);
    struct run_result r = {0};
    /* 30,000 lines of ~75 bytes: each worker's buffer fills (64 KiB) many times. */
    cr_assert_eq(run_lab(&r, 90, LAB, "fdload", "--kv", "-p", port, "-c", "16", "-t", "2", "-n", "30000", "-k",
                         "--pipeline", "8", "--path", "/a.txt", NULL),
                 0);
    cr_assert_eq(run_exit_code(&r), 0, "%s", r.err);
    cr_assert(kv_is(r.out, "ok", "30000"), "%s", r.out);
    run_result_free(&r);
    stop(&s, SIGTERM);
    char *log = slurp(logp);
    long n = 0, good = 0;
    for (char *line = log, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        cr_assert_not_null(nl, "the file ends in a whole line");
        *nl = '\0';
        int day, year, hh, mm, ss, used = 0;
        char mon[4];
        if (sscanf(line, "127.0.0.1 - - [%2d/%3[A-Za-z]/%4d:%2d:%2d:%2d +0000] \"GET /a.txt HTTP/1.1\" 200 21%n", &day,
                   mon, &year, &hh, &mm, &ss, &used) == 6 &&
            line[used] == '\0')
            good++;
        n++;
    }
    free(log);
    cr_assert_eq(n, 30000, "one line per response");
    cr_assert_eq(good, 30000, "every line whole: no two workers' writes interleaved");
}

/* 1 when some process of the server (master or a worker) holds a file named path. */
static int holds(const struct fdh_srv *s, const char *path)
{
    char body[16384];
    cr_assert_eq(fdh_status(s->port, body, sizeof body), 0);
    long pids[3] = {s->pid, -1, -1};
    kv_long(body, "worker.0.pid", &pids[1]);
    kv_long(body, "worker.1.pid", &pids[2]);
    int found = 0;
    for (int i = 0; i < 3; i++) {
        if (pids[i] <= 0)
            continue;
        char d[64];
        snprintf(d, sizeof d, "/proc/%ld/fd", pids[i]);
        DIR *dir = opendir(d);
        cr_assert_not_null(dir);
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            char l[400], t[4096];
            snprintf(l, sizeof l, "%s/%s", d, e->d_name);
            ssize_t k = readlink(l, t, sizeof t - 1);
            if (k > 0) {
                t[k] = '\0';
                found |= strcmp(t, path) == 0;
            }
        }
        closedir(dir);
    }
    return found;
}

Test(access_log, off_writes_nothing_default_is_next_to_the_binary, .timeout = TMO)
{
    struct fdh_srv s;
    start(&s, 2, "off");
    cr_assert(kv_is(s.out, "access_log", "off"), "%s", s.out);
    for (int i = 0; i < 10; i++) {
        char resp[4096];
        cr_assert_gt(fdh_http(s.port, "GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", resp, sizeof resp,
                              5000), 0);
    }
    char *dflt = NULL;
    {
        char exe[4096];
        cr_assert_not_null(realpath(bin(), exe));
        *strrchr(exe, '/') = '\0';
        cr_assert(asprintf(&dflt, "%s/access.log", exe) > 0);
    }
    cr_assert_eq(holds(&s, dflt), 0, "off: no process holds %s", dflt);
    stop(&s, SIGTERM);
    cr_assert_eq(file_size(logp), -1, "nothing created in the test directory");
    /* Without the flag: access.log next to the binary, held by the workers. */
    start(&s, 2, NULL);
    char *named = kv_get(s.out, "access_log");
    cr_assert_not_null(named, "%s", s.out);
    char real[4096];
    cr_assert_not_null(realpath(named, real), "%s", named);
    cr_assert_str_eq(real, dflt);
    cr_assert_eq(holds(&s, dflt), 1, "the workers hold the default log open");
    free(named);
    free(dflt);
    stop(&s, SIGTERM);
}

Test(access_log, bad_path_is_refused_with_a_reason, .timeout = TMO)
{
    char p[160];
    snprintf(p, sizeof p, "%s/no/such/dir/access.log", tmp);
    char *argv[] = {(char *)bin(), "-t", "--access-log", p, NULL};
    struct run_result r = {0};
    cr_assert_eq(run_capture(argv, 30, &r), 0);
    cr_assert_eq(run_exit_code(&r), 1);
    cr_assert_not_null(strstr(r.err, "--access-log"), "%s", r.err);
    cr_assert_not_null(strstr(r.err, "No such file or directory"), "%s", r.err);
    run_result_free(&r);
    char *argv2[] = {(char *)bin(), "--help", NULL};
    cr_assert_eq(run_capture(argv2, 30, &r), 0);
    cr_assert_not_null(strstr(r.out, "--access-log PATH|off"), "--help documents it");
    run_result_free(&r);
}

/* The request line goes into the log escaped: CR, LF, '"', '\\', controls and bytes
 * above 0x7e become \xHH, so a request can never end its line early or forge another
 * one; a long request line is cut at ALOG_REQ_MAX bytes (never in the middle of an
 * escape) and marked "...". At the unit level: the parser would refuse most of these
 * bytes before they reach the log, the log must not rely on it. */
Test(access_log, request_line_escaped_and_cut_never_forges_a_line, .timeout = TMO)
{
    struct evloop *el = evloop_new();
    cr_assert_not_null(el);
    struct alog *al = alog_open(logp, el);
    cr_assert_not_null(al, "%s", strerror(errno));
    static const char evil[] = "/a\"b\\c\r\nX \x01\xff\" 200 0\n1.2.3.4 - - [x] \"GET / HTTP/1.1";
    char longt[1000];
    memset(longt, 0x01, sizeof longt);
    longt[0] = '/';
    const char *targets[] = {evil, longt};
    size_t lens[] = {sizeof evil - 1, sizeof longt};
    time_t now = time(NULL);
    for (int i = 0; i < 2; i++) {
        struct http_request req = {.method = {"GET", 3}, .target = {targets[i], lens[i]}, .minor_version = 1};
        struct alog_req q = {.len = 0};
        alog_request(al, &q, -1, &req);
        struct reply r;
        reply_simple(&r, 200, "text/plain", "x", 1, NULL, REPLY_KEEP, now);
        alog_reply(al, &q, -1, now, &r);
    }
    alog_close(al);
    evloop_free(el);
    cr_assert_eq(count_lines(logp), 2, "two responses, two lines");
    char *log = slurp(logp);
    cr_assert_not_null(log);
    char *nl = strchr(log, '\n');
    cr_assert_not_null(nl);
    *nl = '\0';
    const char *want = "\"GET /a\\x22b\\x5cc\\x0d\\x0aX \\x01\\xff\\x22 200 0\\x0a1.2.3.4 - - [x] \\x22GET / HTTP/1.1"
                       " HTTP/1.1\" 200 1";
    cr_assert_not_null(strstr(log, want), "line 1: %s\nwant: %s", log, want);
    cr_assert_eq(strncmp(log, "- - - [", 7), 0, "no peer (not a socket): \"-\": %s", log);
    const char *l2 = nl + 1;
    cr_assert_not_null(strstr(l2, "\"GET /\\x01\\x01"), "%s", l2);
    cr_assert_not_null(strstr(l2, "...\" 200 1\n"), "cut and marked: %s", l2);
    const char *q1 = strchr(l2, '"'), *q2 = strstr(l2, "...\"");
    cr_assert_leq(q2 - (q1 + 1), ALOG_REQ_MAX, "at most ALOG_REQ_MAX bytes of request line");
    cr_assert_eq((q2 - (q1 + 1) - 5) % 4, 0, "whole escapes only (\"GET /\" then \\x01 each)");
    free(log);
}
