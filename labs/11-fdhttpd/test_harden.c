/* test_harden.c — what an attack on a default fdhttpd found, each fault as a test:
 * slow bodies that held connections for ever, workers serving as root, a busy loop on
 * a chunked line longer than the buffer, per-request memory kept by idle connections,
 * a Unix socket file answered 500, an ETag that showed the inode, /status for anyone.
 * Each test starts its own server (common/kit/srvharness.h) on port 0 over a fresh
 * docroot; loopback only. The privilege test needs root (CI runs as root) and says so
 * when it is skipped.
 * Every test has the same .timeout (labs/01-naive/test_naive.c says why). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/conn.h"
#include "kv.h"
#include "labpath.h"
#include "sock.h"
#include "srvharness.h"
#include "tests/srvtest.h"

#define TMO 120

static char outer[64]; /* mkdtemp: root/ and what lies outside it */
static char root[96];

static void path_of(char *p, size_t cap, const char *rel)
{
    snprintf(p, cap, "%s/%s", outer, rel);
}

static void put(const char *rel, const char *text, mode_t mode)
{
    char p[256];
    path_of(p, sizeof p, rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    cr_assert_geq(fd, 0, "%s: %s", p, strerror(errno));
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    cr_assert_eq(fchmod(fd, mode), 0);
    close(fd);
}

static void make_root(void)
{
    snprintf(outer, sizeof outer, "/tmp/fdh-harden-XXXXXX");
    cr_assert_not_null(mkdtemp(outer));
    snprintf(root, sizeof root, "%s/root", outer);
    cr_assert_eq(mkdir(root, 0755), 0);
    cr_assert_eq(chmod(root, 0755), 0); /* whatever the umask: the workers' user reads it */
    put("root/ok.txt", "fine\n", 0644);
}

static void rm_root(void)
{
    rm_tree(outer);
}

TestSuite(harden, .init = make_root, .fini = rm_root);

static void start(struct fdh_srv *s, const char *const *extra)
{
    const char *const base[] = {"-l", "127.0.0.1:0", "-w", "1", "--access-log", "off", "--root", root, NULL};
    start_args(s, base, extra);
}

static int status_of(const char *resp)
{
    int st = 0;
    return sscanf(resp, "HTTP/1.%*d %d", &st) == 1 ? st : 0;
}

/* One exchange on a fresh connection ("Connection: close" added): the status. */
static int get(uint16_t port, const char *target, char *resp, size_t cap)
{
    char req[512];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", target);
    cr_assert_gt(fdh_http(port, req, resp, cap, 20000), 0, "GET %s: %s", target, strerror(errno));
    return status_of(resp);
}

static int connect_to(uint16_t port, int rcv_timeout_s)
{
    int fd = tcp_connect("127.0.0.1", port, SOCK_CLOEXEC);
    cr_assert_geq(fd, 0);
    struct timeval tv = {rcv_timeout_s, 0}; /* bounds every read: a hang fails, never blocks */
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        cr_assert_gt(k, 0, "send: %s", strerror(errno));
        p += k;
        n -= (size_t)k;
    }
}

/* Reads one response head (and whatever follows in the same reads); its status, 0 when
 * the connection ended or timed out first. */
static int read_status(int fd)
{
    char buf[4096];
    size_t len = 0;
    while (len < sizeof buf - 1) {
        ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            return status_of(buf);
    }
    return 0;
}

/* ---------------------------------------------------------------- slow bodies */

/* A body that trickles one byte every 300 ms never lets the io timeout (1 s) expire,
 * since each byte restarts it: without a bound on the whole body, four such
 * connections fill --max-conns 4 for as long as the attacker likes and a normal client
 * waits in the backlog. With the minimum rate (FDH_BODY_MIN_RATE) each body has a
 * deadline, the trickles are cut with 408 while they still trickle, and the normal
 * client is served during the attack. */
Test(harden, slow_bodies_are_cut_and_normal_clients_served, .timeout = TMO)
{
    struct fdh_srv s;
    const char *opt[] = {"--io-timeout", "1", "--max-conns", "4", NULL};
    start(&s, opt);
    enum { SLOW = 4, ROUNDS = 40 };
    int slow[SLOW], cut[SLOW] = {0};
    const char head[] = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n";
    for (int i = 0; i < SLOW; i++) {
        slow[i] = connect_to(s.port, 20);
        send_all(slow[i], head, sizeof head - 1);
    }
    int normal = connect_to(s.port, 20);
    const char greq[] = "GET /ok.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    send_all(normal, greq, sizeof greq - 1);
    int served = 0, ncut = 0, round = 0;
    for (; round < ROUNDS && (ncut < SLOW || !served); round++) {
        struct timespec ts = {0, 300 * 1000 * 1000};
        nanosleep(&ts, NULL);
        for (int i = 0; i < SLOW; i++) {
            if (cut[i])
                continue;
            struct pollfd p = {.fd = slow[i], .events = POLLIN};
            if (poll(&p, 1, 0) == 1) {
                int st = read_status(slow[i]);
                cr_assert(st == 408 || st == 0, "a cut body gets 408 (or just the close): %d", st);
                cut[i] = 1;
                ncut++;
                continue;
            }
            (void)!send(slow[i], "x", 1, MSG_NOSIGNAL); /* the trickle goes on */
        }
        struct pollfd p = {.fd = normal, .events = POLLIN};
        if (!served && poll(&p, 1, 0) == 1) {
            cr_assert_eq(read_status(normal), 200, "the normal client is answered");
            served = 1;
        }
    }
    cr_assert_eq(ncut, SLOW, "every trickling body was cut while it still trickled (after %d rounds)", round);
    cr_assert(served, "the normal client was served during the attack");
    for (int i = 0; i < SLOW; i++)
        close(slow[i]);
    close(normal);
    stop_term(&s);
}

/* ---------------------------------------------------------------- privileges */

/* Started as root, the workers run as nobody: /proc/PID/status says so, and a file no
 * unprivileged user may read — mode 000, or a hard link to a root-only file outside
 * the root — is 403, not served. */
Test(harden, workers_drop_root_to_nobody, .timeout = TMO)
{
    if (geteuid() != 0) {
        cr_skip_test("needs root: the workers' switch of user happens only when fdhttpd starts as root");
        return;
    }
    struct passwd *pw = getpwnam("nobody");
    if (pw == NULL) {
        cr_skip_test("no user 'nobody' on this machine: the default --user is missing");
        return;
    }
    uid_t nobody = pw->pw_uid;
    put("root/zero.txt", "mode 000\n", 0);
    put("private", "root only\n", 0600);
    char a[256], b[256];
    path_of(a, sizeof a, "private");
    path_of(b, sizeof b, "root/link.txt");
    cr_assert_eq(link(a, b), 0, "link: %s", strerror(errno));

    struct fdh_srv s;
    start(&s, NULL);
    cr_assert(kv_is(s.out, "user", "nobody"), "%s", s.out);
    char st[8192];
    cr_assert_eq(fdh_status(s.port, st, sizeof st), 0);
    long pid = kv_long_or(st, "worker.0.pid", 0);
    cr_assert_gt(pid, 0, "%s", st);
    char p[64], line[4096];
    snprintf(p, sizeof p, "/proc/%ld/status", pid);
    FILE *f = fopen(p, "re");
    cr_assert_not_null(f, "%s: %s", p, strerror(errno));
    long r = -1, e = -1, sv = -1, fs = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Uid: %ld %ld %ld %ld", &r, &e, &sv, &fs) == 4)
            break;
    fclose(f);
    cr_assert(r == (long)nobody && e == r && sv == r && fs == r, "worker uids %ld %ld %ld %ld, want %ld", r, e, sv,
              fs, (long)nobody);
    char resp[4096];
    cr_assert_eq(get(s.port, "/ok.txt", resp, sizeof resp), 200, "%s", resp);
    cr_assert_eq(get(s.port, "/zero.txt", resp, sizeof resp), 403, "a mode-000 file: %s", resp);
    cr_assert_eq(get(s.port, "/link.txt", resp, sizeof resp), 403, "a hard link to a root-only file: %s", resp);
    stop_term(&s);

    /* --user root keeps root (the explicit choice of an operator) */
    const char *opt[] = {"--user", "root", NULL};
    start(&s, opt);
    cr_assert(kv_is(s.out, "user", "root"), "%s", s.out);
    cr_assert_eq(get(s.port, "/zero.txt", resp, sizeof resp), 200, "root reads a mode-000 file: %s", resp);
    stop_term(&s);
}

/* ---------------------------------------------------------------- the busy loop */

/* With a buffer smaller than the chunked decoder's line bounds, a chunk extension (or
 * a trailer field line) longer than the buffer can never be completed: the answer is
 * an error at once — not a read event that fires with a full buffer until the io
 * timeout (30 s here: the 20 s receive timeout would fail first). */
Test(harden, chunked_line_longer_than_the_buffer_is_answered_at_once, .timeout = TMO)
{
    struct fdh_srv s;
    const char *opt[] = {"--max-header-bytes", "1024", "--io-timeout", "30", NULL};
    start(&s, opt);
    static char req[8192], pad[2001];
    memset(pad, 'a', sizeof pad - 1);
    const char *form[] = {"5;ext=%s\r\nhello\r\n0\r\n\r\n", "5\r\nhello\r\n0\r\nX-Trailer: %s\r\n\r\n"};
    const int want[] = {400, 431};
    for (int i = 0; i < 2; i++) {
        int n = snprintf(req, sizeof req, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
        n += snprintf(req + n, sizeof req - (size_t)n, form[i], pad);
        int fd = connect_to(s.port, 20);
        send_all(fd, req, (size_t)n);
        cr_assert_eq(read_status(fd), want[i], "%s: answered at once", i ? "a trailer line" : "a chunk extension");
        close(fd);
    }
    char resp[4096];
    cr_assert_eq(get(s.port, "/ok.txt", resp, sizeof resp), 200, "the worker still serves");
    stop_term(&s);
}

/* ---------------------------------------------------------------- memory per connection */

/* 20 connections each echo a 1,000,000-byte body and stay open, idle: the body
 * buffers are released when each response is out, so what the connections hold
 * (total.held_bytes of /status) is at most the /status page's own text buffer. */
Test(harden, echo_buffers_released_when_the_response_is_out, .timeout = TMO)
{
    struct fdh_srv s;
    start(&s, NULL);
    enum { CONNS = 20, BODY = 1000000 };
    static char body[BODY], resp[BODY + 4096];
    memset(body, 'b', sizeof body);
    int fds[CONNS];
    for (int i = 0; i < CONNS; i++) {
        fds[i] = connect_to(s.port, 20);
        char head[128];
        int n = snprintf(head, sizeof head, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n", BODY);
        send_all(fds[i], head, (size_t)n);
        send_all(fds[i], body, sizeof body);
        size_t len = 0;
        char *end = NULL;
        while (end == NULL || len < (size_t)(end + 4 - resp) + BODY) {
            ssize_t k = recv(fds[i], resp + len, sizeof resp - 1 - len, 0);
            cr_assert_gt(k, 0, "echo %d: %s", i, k < 0 ? strerror(errno) : "closed");
            len += (size_t)k;
            resp[len] = '\0';
            if (end == NULL)
                end = strstr(resp, "\r\n\r\n");
        }
        cr_assert_eq(status_of(resp), 200);
    }
    char st[8192];
    cr_assert_eq(fdh_status(s.port, st, sizeof st), 0);
    long held = kv_long_or(st, "total.held_bytes", -1);
    long active = kv_long_or(st, "total.active", -1);
    cr_assert_geq(active, CONNS, "the echo connections are still open: %s", st);
    cr_assert(held >= 0 && held <= 65536, "held %ld bytes with %d idle connections (each echoed %d)", held, CONNS,
              BODY);
    /* What each of them still holds: the one allocation fdh_conn_open made, which
     * /status states (note 11 quotes it through lab 11's conn_idle_bytes). */
    cr_assert_eq(kv_long_or(st, "conn.idle_bytes", -1), (long)fdh_conn_idle_bytes(16384), "%s", st);
    cr_assert_geq(kv_long_or(st, "conn.idle_bytes", -1), 16385 + FDH_OUT_MAX);
    for (int i = 0; i < CONNS; i++)
        close(fds[i]);

    /* The worst case while a body is collected: max_body + 1 bytes (default 1 MiB + 1),
     * also for a chunked body, whose buffer doubles only up to that bound. held counts
     * the /status request's own text buffer (16 KiB) too. */
    int fd = connect_to(s.port, 20);
    const char head[] = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    send_all(fd, head, sizeof head - 1);
    char size[32];
    long max = 1L << 20;
    int n = snprintf(size, sizeof size, "%lx\r\n", max);
    send_all(fd, size, (size_t)n);
    send_all(fd, body, sizeof body);
    send_all(fd, body, (size_t)max - sizeof body);
    send_all(fd, "\r\n", 2); /* a chunk of exactly max_body bytes: the buffer must grow once more */
    for (int tries = 0; tries < 100; tries++) { /* the worker takes the bytes as they come */
        cr_assert_eq(fdh_status(s.port, st, sizeof st), 0);
        held = kv_long_or(st, "total.held_bytes", -1);
        if (held >= max)
            break;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    cr_assert(held >= max && held <= max + 1 + 16384, "a body in flight holds %ld bytes (max_body + 1 = %ld)", held,
              max + 1);
    close(fd);
    stop_term(&s);
}

/* ---------------------------------------------------------------- smaller ones */

/* A Unix socket in the docroot is no file to serve: 403, not 500. */
Test(harden, unix_socket_in_the_root_is_403, .timeout = TMO)
{
    char p[256];
    path_of(p, sizeof p, "root/sock");
    int u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(u, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    cr_assert_lt(strlen(p), sizeof sa.sun_path);
    strcpy(sa.sun_path, p);
    cr_assert_eq(bind(u, (struct sockaddr *)&sa, sizeof sa), 0, "bind %s: %s", p, strerror(errno));
    cr_assert_eq(chmod(p, 0666), 0);
    struct fdh_srv s;
    start(&s, NULL);
    char resp[4096];
    cr_assert_eq(get(s.port, "/sock", resp, sizeof resp), 403, "%s", resp);
    stop_term(&s);
    close(u);
}

/* The ETag is made of the size and the mtime: no inode number. */
Test(harden, etag_carries_no_inode, .timeout = TMO)
{
    struct fdh_srv s;
    start(&s, NULL);
    char resp[4096], p[256], tag[128], want[128];
    cr_assert_eq(get(s.port, "/ok.txt", resp, sizeof resp), 200);
    const char *e = strstr(resp, "\r\nETag: ");
    cr_assert_not_null(e, "%s", resp);
    cr_assert_eq(sscanf(e, "\r\nETag: %127[^\r]", tag), 1);
    path_of(p, sizeof p, "root/ok.txt");
    struct stat sb;
    cr_assert_eq(stat(p, &sb), 0);
    snprintf(want, sizeof want, "\"%llx-%llx\"", (unsigned long long)sb.st_size,
             (unsigned long long)((long long)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec));
    cr_assert_str_eq(tag, want, "size-mtime only");
    char ino[32];
    snprintf(ino, sizeof ino, "\"%llx-", (unsigned long long)sb.st_ino);
    cr_assert_null(strstr(tag, ino), "no inode in %s", tag);
    stop_term(&s);
}

/* --status: loopback by default (this client is on loopback: served), off is 404. */
Test(harden, status_can_be_turned_off, .timeout = TMO)
{
    struct fdh_srv s;
    char resp[8192];
    start(&s, NULL);
    cr_assert_eq(get(s.port, "/status", resp, sizeof resp), 200, "loopback (the default) gets it: %s", resp);
    stop_term(&s);
    const char *off[] = {"--status", "off", NULL};
    start(&s, off);
    cr_assert_eq(get(s.port, "/status", resp, sizeof resp), 404, "%s", resp);
    stop_term(&s);
}
