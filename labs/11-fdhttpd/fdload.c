/* fdload — the load client paired with lab 11's server: wrk-like, built on loadgen.h.
 *
 *   fdload -p PORT [-H 127.0.0.1] [-c 50] [-t 2] [-d 10 | -n REQUESTS] [-k]
 *          [--pipeline D] [-m GET|HEAD|POST] [--path /x] [-b FILE | --body-size N]
 *          [--rate R] [--timeout 5] [--csv FILE] [--kv] [--slow MS]
 *          [--series FILE [--interval S]] [--no-retry]
 *
 * C connections over T threads (each thread one epoll loop over its C/T connections,
 * loadgen_run_threads), for a duration or a request count, closed loop (a connection
 * sends its next request when the previous answer is in) or open loop at --rate R
 * requests/s (latency counted from each request's intended start: see loadgen.h).
 * Prints a human summary in the manner of wrk (lines without '='); --kv adds
 * key=value lines for tests (latencies in whole microseconds, fds_leaked = descriptors
 * open after the run minus before), --csv FILE writes a header and one summary line.
 * HTTP 4xx/5xx answers are counted apart from transport errors (connect, reset,
 * timeout, protocol), and each error also by its kind (refused, connect, reset, eof,
 * timeout, bad: loadgen.h's enum lg_kind). A request on a reused kept-alive
 * connection that sees EOF/RST before any byte of its answer is retried once on a
 * new connection (RFC 9112 9.3.1) and counted as retried; --no-retry turns that off.
 *
 * A monitor thread (the only one that takes signals: every thread blocks SIGINT and
 * SIGTERM, the monitor reads them from a signalfd) turns the first SIGINT/SIGTERM
 * into a graceful stop — no new request starts, those in flight finish (bounded by
 * --timeout), the summary is printed as usual; a second one exits at once (status 1,
 * no summary). With --series FILE it also writes one CSV row per --interval with
 * what finished in that interval, flushed at once, so a driver can read the file
 * while the run goes on (run with a long -d and stop it with SIGTERM).
 * Exits 0 when the run was made (failed requests are results), 1 when it could not
 * be made, 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

#include "err.h"
#include "fdcount.h"
#include "fdlimit.h"
#include "histogram.h"
#include "kv.h"
#include "loadgen.h"

static const char help_text[] =
    "usage: fdload -p PORT [options]\n"
    "Load an HTTP/1.1 server on host:PORT and report throughput, errors and latency.\n"
    "\n"
    "  -p, --port PORT        server port (required)\n"
    "  -H, --host HOST        server: an IPv4 or IPv6 address (::1 or [::1]) or a host\n"
    "                         name, resolved once (default 127.0.0.1)\n"
    "  -c, --connections C    connections open at once (default 50)\n"
    "  -t, --threads T        threads, each with its own epoll loop over C/T\n"
    "                         connections (default 2; at most C)\n"
    "  -d, --duration S       run for S seconds (default 10 unless -n is given)\n"
    "  -n, --requests N       run until N requests have finished instead\n"
    "  -k, --keepalive        reuse connections (HTTP/1.1 keep-alive); without it\n"
    "                         every request carries 'Connection: close'\n"
    "      --pipeline D       write D requests back to back per connection and read\n"
    "                         the D responses in order (implies -k; default 1);\n"
    "                         a request's latency runs from its batch's send to\n"
    "                         the end of its own response\n"
    "  -m, --method M         GET, HEAD or POST (default GET)\n"
    "      --path P           request target (default /)\n"
    "  -b, --body FILE        POST body: the bytes of FILE (sent with Content-Length)\n"
    "      --body-size N      POST body: N bytes of 'x'\n"
    "      --rate R           open loop: R requests/s in total, at fixed intended start\n"
    "                         times; latency counts from the intended start, so a\n"
    "                         stalled server is not hidden (coordinated omission)\n"
    "      --timeout S        per request (per pipelined batch) timeout (default 5)\n"
    "      --csv FILE         write a header and one summary line to FILE\n"
    "      --kv               also print key=value lines (for tests and scripts)\n"
    "      --slow MS          also count successful responses slower than MS ms\n"
    "                         (printed as slow=N; with --rate it shows how many\n"
    "                         requests a server stall delayed)\n"
    "      --series FILE      write one CSV row per interval, flushed as it goes:\n"
    "                         t_s,unix_s,ok,errors,refused,connect,reset,eof,timeout,\n"
    "                         bad,retried (requests finished since the previous row;\n"
    "                         t_s when the row was written, since the start, unix_s\n"
    "                         the wall clock then; a row covers more than one interval\n"
    "                         only when fdload itself was not scheduled in time)\n"
    "      --interval S       the series interval (default 1; 0.01..3600)\n"
    "      --no-retry         never retry: by default a GET/HEAD on a reused kept-alive\n"
    "                         connection that sees EOF or RST before any byte of its\n"
    "                         answer is sent once more on a new connection (RFC 9112\n"
    "                         9.3.1), counted as retried=N\n"
    "  -h, --help             this text\n"
    "\n"
    "Errors: connect (refused, failed handshake), reset (ECONNRESET/EPIPE), timeout,\n"
    "protocol (unparsable answer, EOF too early). In detail (kind.*): refused\n"
    "(ECONNREFUSED: nobody listening), connect (other connect failures), reset, eof\n"
    "(closed before the answer was complete), timeout, bad (not HTTP). HTTP 4xx/5xx\n"
    "answers are complete responses and are counted separately. Latency is over\n"
    "successful responses.\n"
    "SIGINT/SIGTERM: stop gracefully (requests in flight finish, the summary is\n"
    "printed); a second one exits at once with status 1.\n"
    "Exit status: 0 when the run was made and at least one request was answered;\n"
    "1 when no request was answered (every one failed: the summary says FAILED) or\n"
    "the run could not be made; 2 on bad usage.\n";

struct cfg {
    struct loadgen_opts o;
    int threads;
    const char *method, *path, *body_file, *csv;
    long long body_size; /* -1: none */
    int kv;
    double slow_ms;      /* 0: not asked */
    const char *series;  /* --series FILE, NULL when not asked */
    double interval;     /* --interval, seconds */
    char *request;       /* built from the above, malloc'd */
};

static void usage_error(const char *msg)
{
    fprintf(stderr, "fdload: %s (fdload --help)\n", msg);
    exit(2);
}

static double parse_num(const char *s, const char *what)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0)) {
        fprintf(stderr, "fdload: bad %s: %s\n", what, s);
        exit(2);
    }
    return v;
}

static long parse_long(const char *s, const char *what, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "fdload: bad %s: %s (want %ld..%ld)\n", what, s, lo, hi);
        exit(2);
    }
    return v;
}

/* The whole file, malloc'd; *len its size. Dies on failure. */
static char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die("open %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        die("fstat %s", path);
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        die("malloc");
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("read %s", path);
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    *len = got;
    return buf;
}

/* "METHOD PATH HTTP/1.1" + Host + Connection + (POST) Content-Length, then the body. */
static void build_request(struct cfg *c)
{
    char *body = NULL;
    size_t body_len = 0;
    int post = strcmp(c->method, "POST") == 0;
    if (c->body_file) {
        body = read_file(c->body_file, &body_len);
    } else if (c->body_size >= 0) {
        body_len = (size_t)c->body_size;
        body = malloc(body_len + 1);
        if (!body)
            die("malloc");
        memset(body, 'x', body_len);
    }
    char *head = NULL;
    int v6 = strchr(c->o.host, ':') && c->o.host[0] != '['; /* an IPv6 literal: [..] */
    int hlen = asprintf(&head,
                        "%s %s HTTP/1.1\r\nHost: %s%s%s:%u\r\nUser-Agent: fdload\r\n%s",
                        c->method, c->path, v6 ? "[" : "", c->o.host, v6 ? "]" : "",
                        (unsigned)c->o.port,
                        c->o.keepalive ? "" : "Connection: close\r\n");
    if (hlen < 0)
        die("asprintf");
    char clen[96] = "";
    if (post)
        snprintf(clen, sizeof clen,
                 "Content-Type: application/octet-stream\r\nContent-Length: %zu\r\n", body_len);
    size_t total = (size_t)hlen + strlen(clen) + 2 + body_len;
    c->request = malloc(total);
    if (!c->request)
        die("malloc");
    size_t off = 0;
    memcpy(c->request, head, (size_t)hlen);
    off += (size_t)hlen;
    memcpy(c->request + off, clen, strlen(clen));
    off += strlen(clen);
    memcpy(c->request + off, "\r\n", 2);
    off += 2;
    if (body_len)
        memcpy(c->request + off, body, body_len);
    c->o.request = c->request;
    c->o.request_len = total;
    free(head);
    free(body);
}

static void parse_args(int argc, char **argv, struct cfg *c)
{
    enum { OPT_PIPELINE = 256, OPT_PATH, OPT_BODYSIZE, OPT_RATE, OPT_TIMEOUT, OPT_CSV, OPT_KV, OPT_SLOW,
           OPT_SERIES, OPT_INTERVAL, OPT_NORETRY };
    static const struct option longopts[] = {
        {"port", required_argument, NULL, 'p'},
        {"host", required_argument, NULL, 'H'},
        {"connections", required_argument, NULL, 'c'},
        {"threads", required_argument, NULL, 't'},
        {"duration", required_argument, NULL, 'd'},
        {"requests", required_argument, NULL, 'n'},
        {"keepalive", no_argument, NULL, 'k'},
        {"method", required_argument, NULL, 'm'},
        {"body", required_argument, NULL, 'b'},
        {"pipeline", required_argument, NULL, OPT_PIPELINE},
        {"path", required_argument, NULL, OPT_PATH},
        {"body-size", required_argument, NULL, OPT_BODYSIZE},
        {"rate", required_argument, NULL, OPT_RATE},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"csv", required_argument, NULL, OPT_CSV},
        {"kv", no_argument, NULL, OPT_KV},
        {"slow", required_argument, NULL, OPT_SLOW},
        {"series", required_argument, NULL, OPT_SERIES},
        {"interval", required_argument, NULL, OPT_INTERVAL},
        {"no-retry", no_argument, NULL, OPT_NORETRY},
        {"help", no_argument, NULL, 'h'},
        {0, 0, 0, 0}};
    memset(c, 0, sizeof *c);
    c->o.host = "127.0.0.1";
    c->o.connections = 50;
    c->o.timeout_s = 5;
    c->o.no_samples = 1; /* the histogram is enough: constant memory */
    c->threads = 2;
    c->method = "GET";
    c->path = "/";
    c->body_size = -1;
    c->interval = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "p:H:c:t:d:n:km:b:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'p': c->o.port = (uint16_t)parse_long(optarg, "port", 1, 65535); break;
        case 'H': c->o.host = optarg; break;
        case 'c': c->o.connections = (int)parse_long(optarg, "connections", 1, 65535); break;
        case 't': c->threads = (int)parse_long(optarg, "threads", 1, LOADGEN_MAX_THREADS); break;
        case 'd': c->o.duration_s = parse_num(optarg, "duration"); break;
        case 'n': c->o.requests = parse_long(optarg, "requests", 1, 1000000000000L); break;
        case 'k': c->o.keepalive = 1; break;
        case 'm': c->method = optarg; break;
        case 'b': c->body_file = optarg; break;
        case OPT_PIPELINE:
            c->o.pipeline = (int)parse_long(optarg, "pipeline", 1, LOADGEN_MAX_PIPELINE);
            break;
        case OPT_PATH: c->path = optarg; break;
        case OPT_BODYSIZE: c->body_size = parse_long(optarg, "body size", 0, 1L << 30); break;
        case OPT_RATE: c->o.rate = parse_num(optarg, "rate"); break;
        case OPT_TIMEOUT: c->o.timeout_s = parse_num(optarg, "timeout"); break;
        case OPT_CSV: c->csv = optarg; break;
        case OPT_KV: c->kv = 1; break;
        case OPT_SLOW: c->slow_ms = parse_num(optarg, "slow threshold"); break;
        case OPT_SERIES: c->series = optarg; break;
        case OPT_INTERVAL: c->interval = parse_num(optarg, "interval"); break;
        case OPT_NORETRY: c->o.no_retry = 1; break;
        case 'h': fputs(help_text, stdout); exit(0);
        default: usage_error("bad option");
        }
    }
    if (optind != argc)
        usage_error("unexpected argument");
    if (c->o.port == 0)
        usage_error("-p PORT is required");
    struct sa_any addr;
    if (loadgen_resolve(c->o.host, c->o.port, &addr) < 0)
        usage_error("-H: not an IPv4/IPv6 address nor a name that resolves");
    if (strcmp(c->method, "GET") && strcmp(c->method, "HEAD") && strcmp(c->method, "POST"))
        usage_error("-m must be GET, HEAD or POST");
    if ((c->body_file || c->body_size >= 0) && strcmp(c->method, "POST"))
        usage_error("a body (-b, --body-size) needs -m POST");
    if (c->body_file && c->body_size >= 0)
        usage_error("-b and --body-size exclude each other");
    if (c->o.requests > 0 && c->o.duration_s > 0)
        usage_error("-d and -n exclude each other");
    if (c->o.requests == 0 && !(c->o.duration_s > 0))
        c->o.duration_s = 10;
    if (c->path[0] != '/' || strpbrk(c->path, " \r\n"))
        usage_error("--path must start with / and hold no blanks");
    if (!(c->interval >= 0.01 && c->interval <= 3600))
        usage_error("--interval must be 0.01..3600 seconds");
    if (c->o.pipeline > 1)
        c->o.keepalive = 1; /* pipelining rides on persistent connections */
    if (c->threads > c->o.connections)
        c->threads = c->o.connections;
    if (c->o.requests > 0 && c->threads > c->o.requests)
        c->threads = (int)c->o.requests;
    build_request(c);
}

/* Human-readable size: "12.34MB". */
static const char *human(double v, char *buf, size_t len)
{
    const char *unit[] = {"B", "KB", "MB", "GB", "TB"};
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, "%.2f%s", v, unit[u]);
    return buf;
}

/* Human-readable duration from ns: "812.00us", "3.21ms", "1.20s". */
static const char *human_ns(double ns, char *buf, size_t len)
{
    if (ns < 1e6)
        snprintf(buf, len, "%.2fus", ns / 1e3);
    else if (ns < 1e9)
        snprintf(buf, len, "%.2fms", ns / 1e6);
    else
        snprintf(buf, len, "%.2fs", ns / 1e9);
    return buf;
}

static long transport_errors(const struct loadgen_result *r)
{
    return r->errors[LG_ERR_CONNECT] + r->errors[LG_ERR_RESET] + r->errors[LG_ERR_TIMEOUT] +
           r->errors[LG_ERR_PROTOCOL];
}

static const double quantiles[] = {0.5, 0.9, 0.99, 0.999, 1.0};
static const char *const qnames[] = {"p50", "p90", "p99", "p99.9", "max"};
static const char *const qkeys[] = {"p50", "p90", "p99", "p999", "max"};
#define NQ 5

/* Requests were made and not one was answered (an HTTP error status is an answer). */
static int all_failed(const struct loadgen_result *r)
{
    return r->ok == 0 && transport_errors(r) > 0;
}

static void print_summary(const struct cfg *c, const struct loadgen_result *r)
{
    char a[32], b[32];
    long done = r->ok + transport_errors(r);
    int v6 = strchr(c->o.host, ':') && c->o.host[0] != '[';
    printf("Running %s @ http://%s%s%s:%u%s\n",
           c->o.requests ? "a request-count test" : "a timed test", v6 ? "[" : "", c->o.host,
           v6 ? "]" : "", (unsigned)c->o.port, c->path);
    printf("  %d threads and %d connections, %s, pipeline %d, %s\n", r->nthreads,
           c->o.connections, c->o.keepalive ? "keep-alive" : "Connection: close",
           c->o.pipeline > 1 ? c->o.pipeline : 1, c->o.rate > 0 ? "open loop" : "closed loop");
    if (c->o.rate > 0)
        printf("  open loop at %.1f requests/s, latency from the intended start\n", c->o.rate);
    if (c->o.pipeline > 1)
        printf("  pipelined: a request's latency runs from the send of its batch of %d to the\n"
               "  end of its own response\n", c->o.pipeline);
    if (r->latency->total == 0) {
        printf("  Latency   none: no successful response\n");
    } else {
        printf("  Latency   mean %s", human_ns(hist_mean(r->latency), a, sizeof a));
        for (int q = 0; q < NQ; q++)
            printf("  %s %s", qnames[q],
                   human_ns((double)hist_percentile(r->latency, quantiles[q]), b, sizeof b));
        printf("\n");
    }
    if (c->slow_ms > 0)
        printf("  Slower than %g ms: %llu of %llu successful responses\n", c->slow_ms,
               (unsigned long long)hist_count_at_or_above(r->latency,
                                                          (uint64_t)(c->slow_ms * 1e6)),
               (unsigned long long)r->latency->total);
    printf("  %ld requests in %.2fs, %s read, %s written\n", done, r->elapsed_s,
           human((double)r->bytes_read, a, sizeof a), human((double)r->bytes_written, b, sizeof b));
    printf("  %ld connections opened\n", r->connects);
    if (transport_errors(r)) {
        printf("  Transport errors: connect %ld, reset %ld, timeout %ld, protocol %ld\n",
               r->errors[LG_ERR_CONNECT], r->errors[LG_ERR_RESET], r->errors[LG_ERR_TIMEOUT],
               r->errors[LG_ERR_PROTOCOL]);
        printf("  By kind:");
        for (int k = LG_K_REFUSED; k < LG_K_COUNT; k++)
            printf(" %s %ld", loadgen_kind_name((enum lg_kind)k), r->kinds[k]);
        printf("\n");
    }
    if (r->retried)
        printf("  Retried on a new connection (kept-alive one closed under it): %ld\n",
               r->retried);
    if (r->status[4] || r->status[5])
        printf("  HTTP errors: 4xx %ld, 5xx %ld\n", r->status[4], r->status[5]);
    int any = 0;
    for (int w = 0; w < LOADGEN_MAX_WORKERS; w++)
        if (r->per_worker[w]) {
            printf(any ? ", %d: %ld" : "  Per worker (X-Worker)  %d: %ld", w, r->per_worker[w]);
            any = 1;
        }
    if (any)
        printf("\n");
    double el = r->elapsed_s > 0 ? r->elapsed_s : 1e-9;
    printf("Requests/sec: %12.2f\n", (double)r->ok / el);
    printf("Transfer/sec: %12s\n", human((double)r->bytes_read / el, a, sizeof a));
    if (all_failed(r))
        printf("FAILED: all %ld requests failed, none was answered (exit status 1)\n", done);
    fflush(stdout);
}

static void print_kv(const struct cfg *c, const struct loadgen_result *r, int fds_leaked)
{
    kv_print("fds_leaked", "%d", fds_leaked);
    double el = r->elapsed_s > 0 ? r->elapsed_s : 1e-9;
    kv_print("requests", "%ld", r->ok + transport_errors(r));
    kv_print("ok", "%ld", r->ok);
    for (int e = LG_ERR_CONNECT; e <= LG_ERR_PROTOCOL; e++) {
        char key[32];
        snprintf(key, sizeof key, "errors.%s", loadgen_error_name((enum lg_error)e));
        kv_print(key, "%ld", r->errors[e]);
    }
    kv_print("errors.transport", "%ld", transport_errors(r));
    for (int k = LG_K_REFUSED; k < LG_K_COUNT; k++) {
        char key[32];
        snprintf(key, sizeof key, "kind.%s", loadgen_kind_name((enum lg_kind)k));
        kv_print(key, "%ld", r->kinds[k]);
    }
    kv_print("retried", "%ld", r->retried);
    kv_print("retry", "%d", !c->o.no_retry);
    for (int s = 1; s <= 5; s++) {
        char key[32];
        snprintf(key, sizeof key, "status.%dxx", s);
        kv_print(key, "%ld", r->status[s]);
    }
    kv_print("rps", "%.1f", (double)r->ok / el);
    kv_print("bytes_read", "%lld", r->bytes_read);
    kv_print("bytes_written", "%lld", r->bytes_written);
    kv_print("read_bytes_per_s", "%.0f", (double)r->bytes_read / el);
    kv_print("connections_opened", "%ld", r->connects);
    kv_print("elapsed_s", "%.3f", r->elapsed_s);
    kv_print("threads", "%d", r->nthreads);
    kv_print("connections", "%d", c->o.connections);
    kv_print("pipeline", "%d", c->o.pipeline > 1 ? c->o.pipeline : 1);
    kv_print("keepalive", "%d", c->o.keepalive);
    kv_print("mode", "%s", c->o.rate > 0 ? "open" : "closed");
    kv_print("latency.count", "%llu", (unsigned long long)r->latency->total);
    /* Whole microseconds, so that tests can read them with kv_long. */
    kv_print("latency.mean_us", "%.0f", hist_mean(r->latency) / 1e3);
    for (int q = 0; q < NQ; q++) {
        char key[32];
        snprintf(key, sizeof key, "latency.%s_us", qkeys[q]);
        kv_print(key, "%.0f", (double)hist_percentile(r->latency, quantiles[q]) / 1e3);
    }
    if (c->slow_ms > 0)
        kv_print("slow", "%llu",
                 (unsigned long long)hist_count_at_or_above(r->latency,
                                                            (uint64_t)(c->slow_ms * 1e6)));
    for (int t = 0; t < r->nthreads; t++) {
        char key[48];
        snprintf(key, sizeof key, "thread.%d.requests", t);
        kv_print(key, "%ld", r->thread_requests[t]);
        snprintf(key, sizeof key, "thread.%d.ok", t);
        kv_print(key, "%ld", r->thread_ok[t]);
    }
    for (int w = 0; w < LOADGEN_MAX_WORKERS; w++)
        if (r->per_worker[w]) {
            char key[32];
            snprintf(key, sizeof key, "worker.%d", w);
            kv_print(key, "%ld", r->per_worker[w]);
        }
}

static void write_csv(const struct cfg *c, const struct loadgen_result *r)
{
    FILE *f = fopen(c->csv, "we");
    if (!f)
        die("fopen %s", c->csv);
    double el = r->elapsed_s > 0 ? r->elapsed_s : 1e-9;
    fprintf(f, "threads,connections,pipeline,keepalive,rate,requests,ok,errors_connect,"
               "errors_reset,errors_timeout,errors_protocol,status_4xx,status_5xx,rps,"
               "bytes_per_s,p50_ms,p90_ms,p99_ms,p999_ms,max_ms,elapsed_s,refused,eof,retried\n");
    fprintf(f, "%d,%d,%d,%d,%.1f,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%.1f,%.0f", r->nthreads,
            c->o.connections, c->o.pipeline > 1 ? c->o.pipeline : 1, c->o.keepalive, c->o.rate,
            r->ok + transport_errors(r), r->ok, r->errors[LG_ERR_CONNECT],
            r->errors[LG_ERR_RESET], r->errors[LG_ERR_TIMEOUT], r->errors[LG_ERR_PROTOCOL],
            r->status[4], r->status[5], (double)r->ok / el, (double)r->bytes_read / el);
    for (int q = 0; q < NQ; q++)
        fprintf(f, ",%.3f", (double)hist_percentile(r->latency, quantiles[q]) / 1e6);
    fprintf(f, ",%.3f,%ld,%ld,%ld\n", r->elapsed_s, r->kinds[LG_K_REFUSED], r->kinds[LG_K_EOF],
            r->retried);
    if (fclose(f) != 0)
        die("write %s", c->csv);
}

/* ---------------------------------------------------------------- the monitor thread */

/* The monitor: signals (graceful stop) and the --series rows. It owns sfd and efd;
 * loadgen's threads only add to live and read stop. */
struct monitor {
    const struct cfg *c;
    struct loadgen_live live;
    atomic_int stop;     /* loadgen_opts.stop */
    int sfd;             /* signalfd: SIGINT, SIGTERM */
    int efd;             /* eventfd: main says the run is over */
    FILE *series;        /* NULL without --series */
    double t0;           /* mono_s() at the start of the run */
    long last[LG_K_COUNT], last_retried; /* totals at the previous row */
    pthread_t tid;
};

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts); /* cannot fail with a valid pointer */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One series row: what finished since the previous row, stamped now. */
static void series_row(struct monitor *m)
{
    double t = mono_s() - m->t0;
    long now[LG_K_COUNT], errors = 0;
    for (int k = 0; k < LG_K_COUNT; k++) {
        now[k] = atomic_load_explicit(&m->live.kinds[k], memory_order_relaxed);
        if (k != LG_K_OK)
            errors += now[k] - m->last[k];
    }
    long retried = atomic_load_explicit(&m->live.retried, memory_order_relaxed);
    fprintf(m->series, "%.3f,%.3f,%ld,%ld", t, wall_s(), now[LG_K_OK] - m->last[LG_K_OK], errors);
    for (int k = LG_K_REFUSED; k < LG_K_COUNT; k++)
        fprintf(m->series, ",%ld", now[k] - m->last[k]);
    fprintf(m->series, ",%ld\n", retried - m->last_retried);
    if (fflush(m->series) != 0 || ferror(m->series))
        die("write %s", m->c->series);
    memcpy(m->last, now, sizeof now);
    m->last_retried = retried;
}

static void *monitor_main(void *arg)
{
    struct monitor *m = arg;
    int signals = 0;
    for (long tick = 1;; ) {
        double next = m->t0 + (double)tick * m->c->interval;
        double left = next - mono_s();
        int timeout = -1;
        if (m->series)
            timeout = left > 0 ? (int)(left * 1000) + 1 : 0; /* never early */
        struct pollfd pf[2] = {{.fd = m->sfd, .events = POLLIN}, {.fd = m->efd, .events = POLLIN}};
        int n = poll(pf, 2, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        if (pf[1].revents) { /* the run is over: the last, partial row */
            if (m->series)
                series_row(m);
            return NULL;
        }
        if (pf[0].revents) {
            struct signalfd_siginfo si;
            ssize_t r = read(m->sfd, &si, sizeof si);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (r != (ssize_t)sizeof si)
                die("read signalfd");
            if (++signals > 1) {
                fprintf(stderr, "fdload: second %s: exiting without a summary\n",
                        strsignal((int)si.ssi_signo));
                _exit(1); /* the loadgen threads may be anywhere: no exit handlers */
            }
            fprintf(stderr, "fdload: %s: stopping; requests in flight finish\n",
                    strsignal((int)si.ssi_signo));
            atomic_store(&m->stop, 1);
            continue;
        }
        double now = mono_s();
        if (m->series && now >= next) {
            series_row(m);
            /* The next tick after now: when this thread was not scheduled for several
             * intervals (a stalled machine), one row covers them all instead of a
             * burst of rows with the same time. */
            tick = (long)((now - m->t0) / m->c->interval) + 1;
        }
    }
}

/* Blocks SIGINT/SIGTERM (before any thread exists, so every thread inherits the mask),
 * opens the series file and starts the monitor. */
static void monitor_start(struct monitor *m, const struct cfg *c)
{
    memset(m, 0, sizeof *m);
    m->c = c;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        die("sigprocmask");
    if ((m->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
        die("signalfd");
    if ((m->efd = eventfd(0, EFD_CLOEXEC)) < 0)
        die("eventfd");
    if (c->series) {
        if (!(m->series = fopen(c->series, "we")))
            die("fopen %s", c->series);
        fprintf(m->series, "t_s,unix_s,ok,errors");
        for (int k = LG_K_REFUSED; k < LG_K_COUNT; k++)
            fprintf(m->series, ",%s", loadgen_kind_name((enum lg_kind)k));
        fprintf(m->series, ",retried\n");
        if (fflush(m->series) != 0)
            die("write %s", c->series);
    }
    m->t0 = mono_s();
    int e = pthread_create(&m->tid, NULL, monitor_main, m);
    if (e) {
        errno = e;
        die("pthread_create");
    }
}

/* The run is over: the monitor writes its last row and ends; everything is closed. */
static void monitor_stop(struct monitor *m)
{
    uint64_t one = 1;
    if (write(m->efd, &one, sizeof one) != (ssize_t)sizeof one)
        die("write eventfd");
    int e = pthread_join(m->tid, NULL);
    if (e) {
        errno = e;
        die("pthread_join");
    }
    if (m->series && fclose(m->series) != 0)
        die("write %s", m->c->series);
    close(m->sfd);
    close(m->efd);
}

int main(int argc, char **argv)
{
    struct cfg c;
    parse_args(argc, argv, &c);
    /* Each connection needs a descriptor, plus a few for the process itself. */
    if (fd_limit_raise((long)c.o.connections + 64) < 0)
        warn_errno("raising RLIMIT_NOFILE");
    /* Descriptors before and after the run: every connection must be closed again. */
    int fds_before = fd_count();
    static struct monitor mon; /* large-ish and shared with the monitor thread */
    monitor_start(&mon, &c);
    c.o.stop = &mon.stop;
    c.o.live = &mon.live;
    struct loadgen_result r;
    if (loadgen_run_threads(&c.o, c.threads, &r) < 0)
        die("loadgen_run_threads");
    monitor_stop(&mon);
    int fds_after = fd_count();
    if (fds_before < 0 || fds_after < 0)
        die("fd_count");
    print_summary(&c, &r);
    if (c.kv)
        print_kv(&c, &r, fds_after - fds_before);
    if (c.csv)
        write_csv(&c, &r);
    int status = all_failed(&r) ? 1 : 0;
    loadgen_result_free(&r);
    free(c.request);
    return status;
}
