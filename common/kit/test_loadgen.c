/* Tests for loadgen.h and labreply.h.
 *
 * The servers are forked children running a plain accept loop (no cr_* in them).
 * Each dies with the test process (PR_SET_PDEATHSIG) and after 30 s at the latest
 * (alarm), and every test kills and reaps its own. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdcount.h"
#include "kv.h"
#include "labpath.h"
#include "labreply.h"
#include "loadgen.h"
#include "pdeath.h"
#include "sock.h"
#include "spawn.h"

enum srv_mode {
    SRV_LAB,       /* lab_serve(fd, worker id) */
    SRV_GARBAGE,   /* read the request, answer something that is not HTTP */
    SRV_SILENT_EOF,/* read the request, close without answering */
    SRV_KEEPALIVE  /* answer every request on a connection, X-Worker = connection number */
};

struct srv {
    pid_t pid[4];
    int n;
    uint16_t port;
};

/* Byte-wise "\r\n\r\n" matcher: requests may arrive in any pieces. */
static int count_request_ends(const char *p, size_t n, int *state)
{
    static const char end[] = "\r\n\r\n";
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == end[*state])
            (*state)++;
        else
            *state = p[i] == '\r' ? 1 : 0;
        if (*state == 4) {
            found++;
            *state = 0;
        }
    }
    return found;
}

static void read_one_request(int fd)
{
    char buf[4096];
    int st = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        if (count_request_ends(buf, (size_t)n, &st))
            return;
}

static void serve_keepalive(int fd, int conn_no)
{
    char buf[4096], reply[128];
    int st = 0;
    int len = snprintf(reply, sizeof reply,
                       "HTTP/1.1 200 OK\r\nX-Worker: %d\r\nContent-Length: 3\r\n\r\nok\n", conn_no);
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        for (int k = count_request_ends(buf, (size_t)n, &st); k > 0; k--)
            if (send(fd, reply, (size_t)len, MSG_NOSIGNAL) != len)
                return;
}

static void server_child(int lfd, enum srv_mode mode, int id, pid_t parent)
{
    die_with_parent(parent);
    alarm(30);
    for (int conn_no = 0;; conn_no++) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            _exit(1);
        }
        switch (mode) {
        case SRV_LAB:
            lab_serve(fd, id);
            continue; /* lab_serve closed fd */
        case SRV_GARBAGE:
            read_one_request(fd);
            (void)!write(fd, "hello\r\n\r\n", 9);
            break;
        case SRV_SILENT_EOF:
            read_one_request(fd);
            break;
        case SRV_KEEPALIVE:
            serve_keepalive(fd, conn_no);
            break;
        }
        close(fd);
    }
}

/* nworkers children accept on one listener; worker i answers with X-Worker i. */
static void srv_start(struct srv *s, enum srv_mode mode, int nworkers)
{
    memset(s, 0, sizeof *s);
    int lfd = tcp_listen_loopback(128, SOCK_CLOEXEC, &s->port);
    cr_assert_geq(lfd, 0, "listen: %s", strerror(errno));
    pid_t parent = getpid();
    for (int i = 0; i < nworkers; i++) {
        pid_t pid = fork();
        cr_assert_geq(pid, 0, "fork");
        if (pid == 0)
            server_child(lfd, mode, i, parent);
        s->pid[s->n++] = pid;
    }
    close(lfd); /* the children hold it */
}

static void srv_stop(struct srv *s)
{
    for (int i = 0; i < s->n; i++) {
        kill(s->pid[i], SIGKILL);
        cr_assert_eq(waitpid(s->pid[i], NULL, 0), s->pid[i], "reap server child");
    }
    s->n = 0;
}

static struct loadgen_opts opts_for(uint16_t port, int conns, long requests)
{
    return (struct loadgen_opts){.port = port, .connections = conns, .requests = requests,
                                 .timeout_s = 10};
}

static long total_errors(const struct loadgen_result *r)
{
    long e = 0;
    for (int k = LG_ERR_CONNECT; k <= LG_ERR_PROTOCOL; k++)
        e += r->errors[k];
    return e;
}

Test(loadgen, counts_every_request_and_its_worker, .timeout = 120)
{
    struct srv s;
    srv_start(&s, SRV_LAB, 1);
    int before = fd_count();
    struct loadgen_opts o = opts_for(s.port, 4, 60);
    struct loadgen_result r;
    cr_assert_eq(loadgen_run(&o, &r), 0, "loadgen_run: %s", strerror(errno));
    cr_assert_eq(fd_count(), before, "no descriptor left open");
    srv_stop(&s);
    cr_assert_eq(r.ok, 60);
    cr_assert_eq(total_errors(&r), 0);
    cr_assert_eq(r.nsamples, 60);
    cr_assert_eq(r.per_worker[0], 60);
    for (size_t i = 0; i < r.nsamples; i++) {
        cr_assert_eq(r.samples[i].worker, 0);
        cr_assert_eq(r.samples[i].error, LG_OK);
        cr_assert_geq(r.samples[i].latency_s, 0);
        cr_assert_geq(r.samples[i].start_s, 0);
    }
    cr_assert_gt(loadgen_percentile(&r, 0.99), 0);
    loadgen_result_free(&r);
    cr_assert_null(r.samples);
}

Test(loadgen, per_worker_counts_add_up, .timeout = 120)
{
    struct srv s;
    srv_start(&s, SRV_LAB, 3);
    int before = fd_count();
    struct loadgen_opts o = opts_for(s.port, 8, 300);
    struct loadgen_result r;
    cr_assert_eq(loadgen_run(&o, &r), 0);
    cr_assert_eq(fd_count(), before);
    srv_stop(&s);
    cr_assert_eq(r.ok, 300);
    cr_assert_eq(total_errors(&r), 0);
    cr_assert_eq(r.per_worker[0] + r.per_worker[1] + r.per_worker[2], 300);
    loadgen_result_free(&r);
}

Test(loadgen, more_connections_than_requests, .timeout = 120)
{
    struct srv s;
    srv_start(&s, SRV_LAB, 2);
    struct loadgen_opts o = opts_for(s.port, 100, 5);
    struct loadgen_result r;
    cr_assert_eq(loadgen_run(&o, &r), 0);
    srv_stop(&s);
    cr_assert_eq(r.ok, 5);
    cr_assert_eq(r.nsamples, 5);
    loadgen_result_free(&r);
}

Test(loadgen, refused_connections_are_connect_errors, .timeout = 120)
{
    /* A bound socket that does not listen holds the port (nobody else can take it)
     * and answers every SYN with a RST: connect fails with ECONNREFUSED. */
    int hold = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(hold, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(hold, (struct sockaddr *)&sa, sizeof sa), 0);
    int port = sock_local_port(hold);
    cr_assert_gt(port, 0);
    int before = fd_count();
    struct loadgen_opts o = opts_for((uint16_t)port, 3, 7);
    struct loadgen_result r;
    cr_assert_eq(loadgen_run(&o, &r), 0);
    cr_assert_eq(fd_count(), before);
    cr_assert_eq(r.ok, 0);
    cr_assert_eq(r.errors[LG_ERR_CONNECT], 7);
    cr_assert_eq(total_errors(&r), 7);
    cr_assert_eq(r.nsamples, 7);
    cr_assert_eq(r.samples[0].error, LG_ERR_CONNECT);
    cr_assert_eq(r.kinds[LG_K_REFUSED], 7, "ECONNREFUSED is told apart: nobody listens");
    cr_assert_eq(r.kinds[LG_K_CONNECT], 0);
    cr_assert_eq(r.samples[0].kind, LG_K_REFUSED);
    cr_assert_eq(r.samples[0].worker, -1);
    cr_assert_eq(loadgen_percentile(&r, 0.5), 0, "no successful request, no latency");
    loadgen_result_free(&r);
    close(hold);
}

Test(loadgen, silent_server_times_out, .timeout = 120)
{
    /* The listener never accepts: the handshake completes into its backlog, the
     * request is written, and no answer ever comes. */
    uint16_t port;
    int l = tcp_listen_loopback(16, SOCK_CLOEXEC, &port);
    cr_assert_geq(l, 0);
    int before = fd_count();
    struct loadgen_opts o = opts_for(port, 2, 4);
    o.timeout_s = 0.2;
    struct loadgen_result r;
    cr_assert_eq(loadgen_run(&o, &r), 0);
    cr_assert_eq(fd_count(), before);
    cr_assert_eq(r.ok, 0);
    cr_assert_eq(r.errors[LG_ERR_TIMEOUT], 4);
    cr_assert_eq(r.kinds[LG_K_TIMEOUT], 4);
    cr_assert_eq(total_errors(&r), 4);
    for (size_t i = 0; i < r.nsamples; i++)
        cr_assert_geq(r.samples[i].latency_s, 0.2, "a timeout is never declared early");
    loadgen_result_free(&r);
    close(l);
}

Test(loadgen, garbage_and_empty_answers_are_protocol_errors, .timeout = 120)
{
    enum srv_mode modes[] = {SRV_GARBAGE, SRV_SILENT_EOF};
    for (size_t m = 0; m < 2; m++) {
        struct srv s;
        srv_start(&s, modes[m], 1);
        int before = fd_count();
        struct loadgen_opts o = opts_for(s.port, 2, 6);
        struct loadgen_result r;
        cr_assert_eq(loadgen_run(&o, &r), 0);
        cr_assert_eq(fd_count(), before);
        srv_stop(&s);
        cr_assert_eq(r.ok, 0);
        cr_assert_eq(r.errors[LG_ERR_PROTOCOL], 6, "mode %zu", m);
        /* In detail: an answer that is not HTTP is "bad", no answer at all is "eof". */
        enum lg_kind want = modes[m] == SRV_GARBAGE ? LG_K_BAD : LG_K_EOF;
        cr_assert_eq(r.kinds[want], 6, "mode %zu: kind %s", m, loadgen_kind_name(want));
        cr_assert_eq(loadgen_kind_error(want), LG_ERR_PROTOCOL);
        cr_assert_eq(r.retried, 0, "a new connection is never retried");
        loadgen_result_free(&r);
    }
}

Test(loadgen, duration_mode_runs_until_time_is_up, .timeout = 120)
{
    struct srv s;
    srv_start(&s, SRV_LAB, 2);
    int before = fd_count();
    struct loadgen_opts o = {.port = s.port, .connections = 2, .duration_s = 0.3};
    struct loadgen_result r;
    cr_assert_eq(loadgen_run(&o, &r), 0);
    cr_assert_eq(fd_count(), before);
    srv_stop(&s);
    cr_assert_gt(r.ok, 0);
    cr_assert_eq(total_errors(&r), 0, "in-flight requests at the end finish normally");
    cr_assert_eq(r.nsamples, (size_t)r.ok);
    cr_assert_geq(r.elapsed_s, 0.3);
    loadgen_result_free(&r);
}

Test(loadgen, keepalive_reuses_one_connection, .timeout = 120)
{
    /* The keep-alive server numbers its connections in X-Worker: one connection
     * kept alive answers everything as 0; without keep-alive every request is a new
     * connection (the response has Content-Length, so it completes without EOF). */
    struct srv s;
    srv_start(&s, SRV_KEEPALIVE, 1);
    int before = fd_count();
    struct loadgen_opts o = opts_for(s.port, 1, 10);
    o.keepalive = 1;
    struct loadgen_result r;
    cr_assert_eq(loadgen_run(&o, &r), 0);
    cr_assert_eq(fd_count(), before);
    cr_assert_eq(r.ok, 10);
    cr_assert_eq(r.per_worker[0], 10, "all on connection 0");
    loadgen_result_free(&r);

    o.keepalive = 0;
    cr_assert_eq(loadgen_run(&o, &r), 0);
    cr_assert_eq(fd_count(), before);
    srv_stop(&s);
    cr_assert_eq(r.ok, 10);
    for (size_t i = 0; i < r.nsamples; i++)
        cr_assert_eq(r.samples[i].worker, (int)i + 1, "connection %zu is new", i + 1);
    loadgen_result_free(&r);
}

Test(loadgen, keepalive_honours_connection_close, .timeout = 120)
{
    struct srv s;
    srv_start(&s, SRV_LAB, 1);
    struct loadgen_opts o = opts_for(s.port, 2, 20);
    o.keepalive = 1;
    struct loadgen_result r;
    cr_assert_eq(loadgen_run(&o, &r), 0);
    srv_stop(&s);
    cr_assert_eq(r.ok, 20);
    cr_assert_eq(total_errors(&r), 0);
    loadgen_result_free(&r);
}

Test(loadgen, bad_options_are_einval, .timeout = 120)
{
    int before = fd_count();
    struct loadgen_result r;
    struct loadgen_opts bad[] = {
        {.port = 0, .connections = 1, .requests = 1},
        {.port = 80, .connections = 0, .requests = 1},
        {.port = 80, .connections = 65536, .requests = 1},
        {.port = 80, .connections = 1},
        {.port = 80, .connections = 1, .requests = -1},
        {.host = "no-such-host.invalid", .port = 80, .connections = 1, .requests = 1},
        {.host = "::1:", .port = 80, .connections = 1, .requests = 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        cr_assert_eq(loadgen_run(&bad[i], &r), -1, "case %zu", i);
        cr_assert_eq(errno, EINVAL, "case %zu", i);
        cr_assert_null(r.samples);
    }
    cr_assert_eq(fd_count(), before);
}

Test(loadgen, percentile_is_nearest_rank_over_ok_samples, .timeout = 120)
{
    struct loadgen_sample s[11];
    for (int i = 0; i < 10; i++)
        s[i] = (struct loadgen_sample){.latency_s = 10 - i, .worker = 1, .error = LG_OK};
    s[10] = (struct loadgen_sample){.latency_s = 100, .worker = -1, .error = LG_ERR_TIMEOUT};
    struct loadgen_result r = {.ok = 10, .samples = s, .nsamples = 11};
    r.errors[LG_ERR_TIMEOUT] = 1;
    cr_assert_eq(loadgen_percentile(&r, 0.0), 1);
    cr_assert_eq(loadgen_percentile(&r, 0.5), 5);
    cr_assert_eq(loadgen_percentile(&r, 0.51), 6);
    cr_assert_eq(loadgen_percentile(&r, 0.99), 10);
    cr_assert_eq(loadgen_percentile(&r, 1.0), 10, "the timeout's 100 s is not a latency");

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_not_null(f);
    cr_assert_eq(loadgen_write_csv(&r, f), 0);
    fclose(f);
    cr_assert(strncmp(text, "start_s,latency_s,worker,error\n", 31) == 0);
    int lines = 0;
    for (char *p = text; *p; p++)
        lines += *p == '\n';
    cr_assert_eq(lines, 12);
    cr_assert_not_null(strstr(text, ",-1,timeout\n"));
    cr_assert_not_null(strstr(text, ",1,ok\n"));
    free(text);
    cr_assert_str_eq(loadgen_error_name(LG_ERR_CONNECT), "connect");
}

/* ---------------------------------------------------------------- lab 11 extensions */

Test(loadgen, pipelined_batches_on_one_connection, .timeout = 120)
{
    struct srv s;
    srv_start(&s, SRV_KEEPALIVE, 1);
    int before = fd_count();
    struct loadgen_opts o = opts_for(s.port, 1, 42);
    o.keepalive = 1;
    o.pipeline = 8; /* 5 batches of 8, then one of 2 */
    struct loadgen_result r;
    cr_assert_eq(loadgen_run(&o, &r), 0, "loadgen_run: %s", strerror(errno));
    cr_assert_eq(fd_count(), before);
    srv_stop(&s);
    cr_assert_eq(r.ok, 42);
    cr_assert_eq(total_errors(&r), 0);
    cr_assert_eq(r.per_worker[0], 42, "all on connection 0");
    cr_assert_eq(r.connects, 1);
    cr_assert_eq(r.status[2], 42);
    cr_assert_eq(r.latency->total, 42);
    cr_assert_eq(r.bytes_read, 42 * (long long)strlen("HTTP/1.1 200 OK\r\nX-Worker: 0\r\n"
                                                      "Content-Length: 3\r\n\r\nok\n"));
    cr_assert_eq(r.bytes_written % 42, 0, "42 equal requests written");
    loadgen_result_free(&r);
    cr_assert_null(r.latency);
}

Test(loadgen, open_loop_starts_at_intended_times, .timeout = 120)
{
    /* At 500/s request k is due at k * 2 ms after the start: the recorded start times
     * are the intended ones, computed, not measured, so they are exact. */
    struct srv s;
    srv_start(&s, SRV_KEEPALIVE, 1);
    int before = fd_count();
    /* One connection: this server serves its connections one after the other. */
    struct loadgen_opts o = opts_for(s.port, 1, 50);
    o.keepalive = 1;
    o.rate = 500;
    struct loadgen_result r;
    cr_assert_eq(loadgen_run(&o, &r), 0);
    cr_assert_eq(fd_count(), before, "kept-alive idle connections are closed at the end");
    srv_stop(&s);
    cr_assert_eq(r.ok, 50);
    cr_assert_eq(total_errors(&r), 0);
    cr_assert_geq(r.elapsed_s, 49 / 500.0, "the last request was not due before 98 ms");
    int seen[50] = {0};
    for (size_t i = 0; i < r.nsamples; i++) {
        double k = r.samples[i].start_s * 500;
        long ki = (long)(k + 0.5); /* no -lm here: round by hand */
        double off = k - (double)ki;
        cr_assert(ki >= 0 && ki < 50 && off < 1e-6 && off > -1e-6, "start %g",
                  r.samples[i].start_s);
        seen[ki]++;
        cr_assert_geq(r.samples[i].latency_s, 0);
    }
    for (int k = 0; k < 50; k++)
        cr_assert_eq(seen[k], 1, "request %d started once", k);
    loadgen_result_free(&r);
}

Test(loadgen, threads_merge_their_results, .timeout = 120)
{
    struct srv s;
    srv_start(&s, SRV_LAB, 3);
    int before = fd_count();
    struct loadgen_opts o = opts_for(s.port, 5, 99);
    struct loadgen_result r;
    cr_assert_eq(loadgen_run_threads(&o, 2, &r), 0);
    cr_assert_eq(fd_count(), before);
    cr_assert_eq(r.nthreads, 2);
    cr_assert_eq(r.ok, 99);
    cr_assert_eq(total_errors(&r), 0);
    cr_assert_eq(r.thread_requests[0], 50);
    cr_assert_eq(r.thread_requests[1], 49);
    cr_assert_eq(r.nsamples, 99);
    cr_assert_eq(r.latency->total, 99);
    cr_assert_eq(r.per_worker[0] + r.per_worker[1] + r.per_worker[2], 99);
    cr_assert_eq(r.connects, 99, "Connection: close: one connection per request");
    loadgen_result_free(&r);

    o.no_samples = 1;
    cr_assert_eq(loadgen_run_threads(&o, 3, &r), 0);
    cr_assert_eq(fd_count(), before);
    srv_stop(&s);
    cr_assert_eq(r.ok, 99);
    cr_assert_null(r.samples);
    cr_assert_eq(r.nsamples, 0);
    cr_assert_eq(r.latency->total, 99, "the histogram still has every latency");
    loadgen_result_free(&r);

    struct loadgen_opts bad = opts_for(s.port, 2, 10);
    cr_assert_eq(loadgen_run_threads(&bad, 3, &r), -1, "more threads than connections");
    cr_assert_eq(errno, EINVAL);
    bad.pipeline = LOADGEN_MAX_PIPELINE + 1;
    cr_assert_eq(loadgen_run(&bad, &r), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_null(r.latency);
    cr_assert_eq(fd_count(), before);
}

/* ---------------------------------------------------------------- lab_serve */

static char *read_all(int fd)
{
    static char buf[1024];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    return buf;
}

Test(labreply, answers_with_its_worker_id_and_closes, .timeout = 120)
{
    for (int nonblock = 0; nonblock < 2; nonblock++) {
        int sv[2];
        cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        if (nonblock)
            cr_assert_eq(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
        const char *req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        cr_assert_eq(write(sv[0], req, strlen(req)), (ssize_t)strlen(req));
        cr_assert_eq(lab_serve(sv[1], 7), 0);
        cr_assert_not(fd_is_open(sv[1]), "lab_serve closes the fd");
        cr_assert_str_eq(read_all(sv[0]), "HTTP/1.1 200 OK\r\nX-Worker: 7\r\nContent-Length: 3\r\n"
                                          "Connection: close\r\n\r\nok\n");
        close(sv[0]);
    }
}

Test(labreply, overlong_or_cut_requests_fail_and_close, .timeout = 120)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    char big[5000];
    memset(big, 'a', sizeof big);
    cr_assert_eq(write(sv[0], big, sizeof big), (ssize_t)sizeof big);
    cr_assert_eq(lab_serve(sv[1], 1), -1);
    cr_assert_eq(errno, EMSGSIZE);
    cr_assert_not(fd_is_open(sv[1]));
    close(sv[0]);

    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    cr_assert_eq(write(sv[0], "GET / HTTP/1.1\r\n", 16), 16);
    shutdown(sv[0], SHUT_WR);
    cr_assert_eq(lab_serve(sv[1], 1), -1, "EOF before the blank line");
    cr_assert_eq(errno, ECONNRESET);
    cr_assert_not(fd_is_open(sv[1]));
    close(sv[0]);
}

/* bench/loadclient, the CLI over loadgen that labs and benches use to write CSV. */
Test(loadclient, prints_results_and_writes_csv, .timeout = 120)
{
    struct srv s;
    srv_start(&s, SRV_LAB, 2);
    char prog[512], port[16], csv[64];
    build_path(prog, sizeof prog, "bench/loadclient");
    snprintf(port, sizeof port, "%u", (unsigned)s.port);
    snprintf(csv, sizeof csv, "/tmp/fdlab-loadclient-%d.csv", (int)getpid());
    char *argv[] = {prog, "-p", port, "-c", "4", "-n", "40", "--csv", csv, NULL};
    struct run_result r;
    cr_assert_eq(run_capture(argv, 60, &r), 0);
    srv_stop(&s);
    cr_assert_eq(run_exit_code(&r), 0, "stderr: %s", r.err);
    long ok = -1, w0 = 0, w1 = 0;
    cr_assert_eq(kv_long(r.out, "ok", &ok), 0);
    cr_assert_eq(ok, 40);
    kv_long(r.out, "worker.0", &w0);
    kv_long(r.out, "worker.1", &w1);
    cr_assert_eq(w0 + w1, 40, "per-worker counts add up");
    FILE *f = fopen(csv, "r");
    cr_assert_not_null(f);
    int lines = 0, c;
    while ((c = fgetc(f)) != EOF)
        lines += c == '\n';
    fclose(f);
    unlink(csv);
    cr_assert_eq(lines, 41, "a header and one line per request");
    run_result_free(&r);

    char *bad[] = {prog, "-c", "4", NULL};
    cr_assert_eq(run_capture(bad, 30, &r), 0);
    cr_assert_eq(run_exit_code(&r), 2, "missing -p is a usage error");
    run_result_free(&r);
}
