/* lab 11 — fdhttpd's process model: a master, N pre-forked epoll workers, five ways
 * for a connection to reach a worker, and what happens when a worker dies or the
 * master is told to stop.
 *
 *   lab [-s all|split|kill|quit|term|fds|backoff] [-a MODE] [-w N] [-n REQUESTS] [-c CONNS]
 *
 * split    for each accept strategy (or -a MODE): N requests, C in flight; per-worker
 *          split from the X-Worker header; /status lists every worker.
 * kill     under load, SIGKILL a worker (mutex: the one holding the accept mutex): the
 *          master respawns it (new pid in the same slot) and only the connections
 *          that worker held fail (errors <= C; passfd <= 2C, see kill_one).
 * quit     SIGQUIT while a request is half sent: new connections are refused, the
 *          request in flight is still answered, then every process exits.
 * term     SIGTERM with connections open: everything stops at once, nothing is left;
 *          a worker that ignores the master is SIGKILLed after the 3 s grace.
 * fds      master's and workers' descriptor counts before and after many requests.
 * backoff  a worker that dies right after start is respawned after 100, 200, 400 ms...
 * slow     one slow worker (--slow-slot 0, 50 ms per connection) under reuseport,
 *          exclusive and steered: requests that took at least the sleep, and p99.
 *          Reuseport queues its share behind the slow worker; the shared queue and
 *          the steering program send it (almost) nothing.
 * deadslot a crash-looping worker (--crash-slot 0) waiting out its back-off under
 *          reuseport and steered: every request is still answered in time (the master
 *          serves the dead slot's listener; steered also skips the slot).
 * steered needs CAP_BPF (or root): without it its runs print skipped=no_cap_bpf.
 * Prints key=value results; exits 0 only when every scenario showed what it claims.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "fdcount.h"
#include "kv.h"
#include "labpath.h"
#include "lib/config.h"
#include "srvharness.h"
#include "loadgen.h"
#include "reuseport_steer.h"
#include "sock.h"

/* The accept strategies this driver shows, by their --accept names (lib/accept.h). */
static const char *const modes[] = {"reuseport", "exclusive", "mutex", "passfd", "steered"};
#define NMODES (int)(sizeof modes / sizeof modes[0])

static int mode_index(const char *name)
{
    for (int m = 0; m < NMODES; m++)
        if (strcmp(name, modes[m]) == 0)
            return m;
    return -1;
}

struct ctx {
    char bin[PATH_MAX];
    int workers;
    long requests;
    int conns;
};

static int start2(struct ctx *x, struct fdh_srv *s, const char *mode, int workers, const char *extra,
                  const char *extra2)
{
    char w[16];
    snprintf(w, sizeof w, "%d", workers);
    char *argv[] = {"fdhttpd", "-l", "127.0.0.1:0", "-w", w, "-a", (char *)mode, (char *)extra, (char *)extra2, NULL};
    if (fdh_srv_start(s, x->bin, argv, 20) < 0) {
        warn_errno("start fdhttpd -a %s (stderr: %s)", mode, s->err ? s->err : "");
        return -1;
    }
    return 0;
}

static int start(struct ctx *x, struct fdh_srv *s, const char *mode, int workers, const char *extra)
{
    return start2(x, s, mode, workers, extra, NULL);
}

/* 1 when mode is steered and this process cannot load its eBPF program (no CAP_BPF):
 * prints <scenario>.steered.skipped=no_cap_bpf — a skip, said plainly, not a pass. */
static int steer_skipped(const char *scenario, const char *mode)
{
    if (strcmp(mode, "steered") != 0)
        return 0;
    struct rsteer rs;
    if (rsteer_open(&rs, 2, NULL, 0) == 0) {
        rsteer_close(&rs);
        return 0;
    }
    char k[64];
    snprintf(k, sizeof k, "%s.steered.skipped", scenario);
    kv_print(k, "%s", errno == EPERM ? "no_cap_bpf" : strerror(errno));
    return 1;
}

/* Stops with sig, prints <p>.exit and <p>.leftovers; returns 1 when both are 0. */
static int stop(struct fdh_srv *s, int sig, const char *p)
{
    char k[64];
    kill(s->pid, sig);
    int code = fdh_srv_wait(s, 20);
    int left = fdh_srv_leftovers(s);
    snprintf(k, sizeof k, "%s.exit", p);
    kv_print(k, "%d", code);
    snprintf(k, sizeof k, "%s.leftovers", p);
    kv_print(k, "%d", left);
    return code == 0 && left == 0;
}

/* Shows up to max lines of the server's stderr that contain what (log lines have no '='). */
static void echo_log(const char *err, const char *what, int max)
{
    for (const char *p = err; p && max > 0 && (p = strstr(p, what)) != NULL; max--) {
        const char *b = p, *e = strchr(p, '\n');
        while (b > err && b[-1] != '\n')
            b--;
        e = e ? e : p + strlen(p);
        if (memchr(b, '=', (size_t)(e - b)) == NULL)
            printf("  %.*s\n", (int)(e - b), b);
        p = e;
    }
    fflush(stdout);
}

static long status_long(uint16_t port, const char *key)
{
    char body[16384];
    long v;
    if (fdh_status(port, body, sizeof body) < 0 || kv_long(body, key, &v) < 0)
        return -1;
    return v;
}

static int workers_listed(uint16_t port, int n)
{
    int listed = 0;
    for (int i = 0; i < n; i++) {
        char k[48];
        snprintf(k, sizeof k, "worker.%d.pid", i);
        listed += status_long(port, k) > 0;
    }
    return listed;
}

static int split(struct ctx *x, const char *mode)
{
    struct fdh_srv s;
    if (start(x, &s, mode, x->workers, NULL) < 0)
        return 0;
    struct loadgen_opts o = {.port = s.port, .connections = x->conns, .requests = x->requests};
    struct loadgen_result r;
    int ok = loadgen_run(&o, &r) == 0;
    char k[64];
    long errors = 0;
    if (ok) {
        for (int e = 1; e <= LG_ERR_PROTOCOL; e++)
            errors += r.errors[e];
        snprintf(k, sizeof k, "%s.ok", mode);
        kv_print(k, "%ld", r.ok);
        snprintf(k, sizeof k, "%s.errors", mode);
        kv_print(k, "%ld", errors);
        snprintf(k, sizeof k, "%s.rps", mode);
        kv_print(k, "%.0f", r.elapsed_s > 0 ? (double)r.ok / r.elapsed_s : 0);
        char split[256] = "";
        for (int i = 0; i < x->workers; i++)
            snprintf(split + strlen(split), sizeof split - strlen(split), "%s%ld", i ? "," : "",
                     r.per_worker[i]);
        snprintf(k, sizeof k, "%s.split", mode);
        kv_print(k, "%s", split);
        loadgen_result_free(&r);
    }
    int listed = workers_listed(s.port, x->workers);
    snprintf(k, sizeof k, "%s.status_workers", mode);
    kv_print(k, "%d", listed);
    snprintf(k, sizeof k, "%s.status_requests", mode);
    kv_print(k, "%ld", status_long(s.port, "total.requests"));
    snprintf(k, sizeof k, "split.%s", mode);
    int stopped = stop(&s, SIGTERM, k);
    fdh_srv_free(&s);
    return ok && errors == 0 && listed == x->workers && stopped;
}

struct load {
    struct loadgen_opts o;
    struct loadgen_result r;
    int rc;
    atomic_int done;
};

static void *load_thread(void *arg)
{
    struct load *l = arg;
    l->rc = loadgen_run(&l->o, &l->r);
    atomic_store(&l->done, 1);
    return NULL;
}

static int kill_one(struct ctx *x, const char *mode)
{
    struct fdh_srv s;
    char k[64], p[32];
    snprintf(p, sizeof p, "kill.%s", mode);
    if (start(x, &s, mode, x->workers, NULL) < 0)
        return 0;
    struct load l = {.o = {.port = s.port, .connections = x->conns, .duration_s = 2.5}};
    pthread_t th;
    if (pthread_create(&th, NULL, load_thread, &l) != 0)
        die_msg("pthread_create");
    /* Kill once the load is really flowing, and the workers are older than the crash
     * window: a worker that lived that long is respawned at once (no back-off). */
    sleep_ms(FDH_CRASH_WINDOW_MS + 200);
    for (int i = 0; i < 500 && status_long(s.port, "total.requests") < 100; i++)
        sleep_ms(10);
    /* The victim is worker 0 — for mutex, the worker holding the accept mutex (if the
     * kill lands while it holds it, the next trylock gets EOWNERDEAD). */
    int victim = 0;
    if (strcmp(mode, "mutex") == 0) {
        long holder = status_long(s.port, "mutex.holder");
        for (int i = 0; i < x->workers && holder > 0; i++) {
            char k2[48];
            snprintf(k2, sizeof k2, "worker.%d.pid", i);
            if (status_long(s.port, k2) == holder)
                victim = i;
        }
    }
    char kpid[48], kstarts[48];
    snprintf(kpid, sizeof kpid, "worker.%d.pid", victim);
    snprintf(kstarts, sizeof kstarts, "worker.%d.starts", victim);
    long old = status_long(s.port, kpid);
    int during = !atomic_load(&l.done);
    if (old > 0)
        kill((pid_t)old, SIGKILL);
    long now = -1, starts = -1;
    for (int i = 0; i < 1000; i++) { /* bounded: 10 s */
        now = status_long(s.port, kpid);
        starts = status_long(s.port, kstarts);
        if (now > 0 && now != old && starts >= 2)
            break;
        sleep_ms(10);
    }
    pthread_join(th, NULL);
    long errors = 0;
    for (int e = 1; e <= LG_ERR_PROTOCOL && l.rc == 0; e++)
        errors += l.r.errors[e];
    int respawned = now > 0 && now != old && starts >= 2;
    snprintf(k, sizeof k, "%s.victim_slot", p), kv_print(k, "%d", victim);
    snprintf(k, sizeof k, "%s.old_pid", p), kv_print(k, "%ld", old);
    snprintf(k, sizeof k, "%s.new_pid", p), kv_print(k, "%ld", now);
    snprintf(k, sizeof k, "%s.respawned", p), kv_print(k, "%d", respawned);
    snprintf(k, sizeof k, "%s.during_load", p), kv_print(k, "%d", during);
    snprintf(k, sizeof k, "%s.ok", p), kv_print(k, "%ld", l.rc == 0 ? l.r.ok : -1);
    snprintf(k, sizeof k, "%s.errors", p), kv_print(k, "%ld", errors);
    snprintf(k, sizeof k, "%s.connections", p), kv_print(k, "%d", x->conns);
    int logged = s.err && strstr(s.err, "killed by signal 9") != NULL;
    int stopped = stop(&s, SIGTERM, p);
    logged = logged || (s.err && strstr(s.err, "killed by signal 9"));
    snprintf(k, sizeof k, "%s.logged", p), kv_print(k, "%d", logged);
    echo_log(s.err, "killed by signal 9", 1);
    const char *in = s.err ? strstr(s.err, "respawning in ") : NULL;
    long delay = in ? strtol(in + 14, NULL, 10) : -1;
    snprintf(k, sizeof k, "%s.respawn_delay_ms", p), kv_print(k, "%ld", delay);
    if (strcmp(mode, "mutex") == 0) /* observed, not guaranteed: notes/11-fdhttpd.md */
        kv_print("kill.mutex.ownerdead_recovered", "%d", s.err && strstr(s.err, "accept mutex owner") != NULL);
    /* passfd: up to two per connection, the bound test_fdhttpd.c asserts — until the
     * kernel has closed the dead worker's channel, the master's CHANNEL_NEW_CONN still
     * succeeds and that connection dies unread (17 for 16 seen under ASan on a loaded
     * machine; with "<= C" here the lab failed while the test's own bound held). */
    long max_errors = strcmp(mode, "passfd") == 0 ? 2L * x->conns : x->conns;
    int ok = l.rc == 0 && respawned && during && errors <= max_errors && l.r.ok > 0 && logged && stopped &&
             delay == 0;
    if (l.rc == 0)
        loadgen_result_free(&l.r);
    fdh_srv_free(&s);
    return ok;
}

static int quit(struct ctx *x)
{
    struct fdh_srv s;
    if (start(x, &s, "reuseport", 2, NULL) < 0)
        return 0;
    int fd = tcp_connect("127.0.0.1", s.port, SOCK_CLOEXEC);
    if (fd < 0)
        die("connect");
    const char *first = "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (send(fd, first, strlen(first), MSG_NOSIGNAL) < 0)
        die("send");
    /* Accepted once /status (itself one connection) sees two active. */
    int accepted = 0;
    for (int i = 0; i < 500 && !(accepted = status_long(s.port, "total.active") >= 2); i++)
        sleep_ms(10);
    kill(s.pid, SIGQUIT);
    /* The drain has begun in every worker when the port refuses new connections. */
    int refused = 0;
    for (int i = 0; i < 500 && !refused; i++) {
        int c = tcp_connect("127.0.0.1", s.port, SOCK_CLOEXEC);
        if (c < 0)
            refused = errno == ECONNREFUSED;
        else
            close(c), sleep_ms(10);
    }
    const char *rest = "Connection: keep-alive\r\n\r\n";
    char resp[4096] = "";
    size_t got = 0;
    if (send(fd, rest, strlen(rest), MSG_NOSIGNAL) > 0) {
        struct timeval tv = {5, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ssize_t n;
        while (got < sizeof resp - 1 && (n = read(fd, resp + got, sizeof resp - 1 - got)) > 0)
            got += (size_t)n;
        resp[got] = '\0';
    }
    close(fd);
    int answered = strncmp(resp, "HTTP/1.1 200", 12) == 0;
    int closes = strstr(resp, "Connection: close") != NULL;
    kv_print("quit.accepted_before", "%d", accepted);
    kv_print("quit.new_refused", "%d", refused);
    kv_print("quit.inflight_answered", "%d", answered);
    kv_print("quit.inflight_connection_close", "%d", closes);
    int code = fdh_srv_wait(&s, 40), left = fdh_srv_leftovers(&s);
    kv_print("quit.exit", "%d", code);
    kv_print("quit.leftovers", "%d", left);
    fdh_srv_free(&s);
    return accepted && refused && answered && closes && code == 0 && left == 0;
}

static int term(struct ctx *x)
{
    struct fdh_srv s;
    if (start(x, &s, "reuseport", 2, NULL) < 0)
        return 0;
    int idle = tcp_connect("127.0.0.1", s.port, SOCK_CLOEXEC);
    int half = tcp_connect("127.0.0.1", s.port, SOCK_CLOEXEC);
    if (idle < 0 || half < 0)
        die("connect");
    if (send(half, "GET / HTTP/1.1\r\n", 16, MSG_NOSIGNAL) < 0)
        die("send");
    for (int i = 0; i < 500 && status_long(s.port, "total.active") < 3; i++)
        sleep_ms(10);
    int ok = stop(&s, SIGTERM, "term");
    /* Both connections were closed by their workers' exit. */
    struct timeval tv = {5, 0};
    char b;
    setsockopt(idle, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(half, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int closed = read(idle, &b, 1) <= 0 && errno != EAGAIN;
    closed = closed && read(half, &b, 1) <= 0 && errno != EAGAIN;
    kv_print("term.connections_closed", "%d", closed);
    close(idle);
    close(half);
    fdh_srv_free(&s);
    return ok && closed;
}

/* A worker that ignores TERMINATE: the master's deadline SIGKILLs it. */
static int stubborn(struct ctx *x)
{
    struct fdh_srv s;
    if (start(x, &s, "reuseport", 2, "--stubborn-slot=1") < 0)
        return 0;
    int ok = stop(&s, SIGTERM, "term_stubborn");
    int killed = s.err && strstr(s.err, "did not stop in time: SIGKILL") != NULL;
    kv_print("term_stubborn.sigkilled", "%d", killed);
    fdh_srv_free(&s);
    return ok && killed;
}

static int count_fds(struct fdh_srv *s, int n, int *master, int *workers)
{
    *master = fd_count_of(s->pid);
    *workers = 0;
    for (int i = 0; i < n; i++) {
        char k[48];
        snprintf(k, sizeof k, "worker.%d.pid", i);
        long pid = status_long(s->port, k);
        int c = pid > 0 ? fd_count_of((pid_t)pid) : -1;
        if (c < 0)
            return -1;
        *workers += c;
    }
    return 0;
}

/* Waits until only the /status connection itself is open, then counts. */
static int settle_and_count(struct fdh_srv *s, int n, int *master, int *workers)
{
    for (int i = 0; i < 500 && status_long(s->port, "total.active") != 1; i++)
        sleep_ms(10);
    return count_fds(s, n, master, workers);
}

static int fds(struct ctx *x, const char *mode)
{
    struct fdh_srv s;
    if (start(x, &s, mode, x->workers, NULL) < 0)
        return 0;
    int m0, w0, m1, w1;
    settle_and_count(&s, x->workers, &m0, &w0);
    struct loadgen_opts o = {.port = s.port, .connections = x->conns, .requests = x->requests};
    struct loadgen_result r;
    long done = 0;
    for (int ka = 0; ka < 2; ka++) { /* one round closing, one keeping alive */
        o.keepalive = ka;
        if (loadgen_run(&o, &r) == 0) {
            done += r.ok;
            loadgen_result_free(&r);
        }
    }
    settle_and_count(&s, x->workers, &m1, &w1);
    long idle = status_long(s.port, "conn.idle_bytes"); /* memory of each connection left open */
    char k[64];
    snprintf(k, sizeof k, "fds.%s.requests", mode), kv_print(k, "%ld", done);
    snprintf(k, sizeof k, "fds.%s.master_before", mode), kv_print(k, "%d", m0);
    snprintf(k, sizeof k, "fds.%s.master_after", mode), kv_print(k, "%d", m1);
    snprintf(k, sizeof k, "fds.%s.workers_before", mode), kv_print(k, "%d", w0);
    snprintf(k, sizeof k, "fds.%s.workers_after", mode), kv_print(k, "%d", w1);
    snprintf(k, sizeof k, "fds.%s.conn_idle_bytes", mode), kv_print(k, "%ld", idle);
    snprintf(k, sizeof k, "fds.%s", mode);
    int stopped = stop(&s, SIGTERM, k);
    fdh_srv_free(&s);
    return done == 2 * x->requests && m0 > 0 && m0 == m1 && w0 > 0 && w0 == w1 && idle > 0 && stopped;
}

static int backoff(struct ctx *x)
{
    struct fdh_srv s;
    if (start(x, &s, "reuseport", 2, "--crash-slot=0") < 0)
        return 0;
    long d[8];
    int n = 0;
    for (int i = 0; i < 500 && n < 5; i++) { /* bounded: 10 s; 100+200+400+800 ms needed */
        fdh_srv_pump(&s, 20);
        n = 0;
        for (const char *p = s.err; n < 8 && (p = strstr(p, "respawning in ")) != NULL; p++)
            d[n++] = strtol(p + 14, NULL, 10);
    }
    char seq[128] = "";
    int doubling = n >= 4;
    for (int i = 0; i < n; i++) {
        snprintf(seq + strlen(seq), sizeof seq - strlen(seq), "%s%ld", i ? "," : "", d[i]);
        long want = i == 0 ? FDH_BACKOFF_MIN_MS : d[i - 1] * 2 > FDH_BACKOFF_MAX_MS ? FDH_BACKOFF_MAX_MS : d[i - 1] * 2;
        doubling = doubling && d[i] == want;
    }
    echo_log(s.err, "respawning in", 5);
    kv_print("backoff.delays_ms", "%s", seq);
    kv_print("backoff.doubling", "%d", doubling);
    kv_print("backoff.respawns_seen", "%d", n);
    int stopped = stop(&s, SIGTERM, "backoff");
    fdh_srv_free(&s);
    (void)x;
    return doubling && stopped;
}

/* ---------------------------------------------------------------- slow, deadslot */

#define SLOW_MS 50
#define SLOW_REQUESTS 400
#define SLOW_CONNS 8

struct slowrun {
    long ok, errors, slow, by_slow;
    double p99_ms;
};

/* Runs `requests` requests (Connection: close, `conns` in flight, timeout_s each) and
 * counts those that took at least SLOW_MS. Returns 0, or -1 when the client failed. */
static int measure(uint16_t port, long requests, int conns, double timeout_s, struct slowrun *sr)
{
    struct loadgen_opts o = {.port = port, .connections = conns, .requests = requests, .timeout_s = timeout_s};
    struct loadgen_result r;
    if (loadgen_run(&o, &r) < 0)
        return -1;
    *sr = (struct slowrun){.ok = r.ok, .by_slow = r.per_worker[0], .p99_ms = loadgen_percentile(&r, 0.99) * 1e3};
    for (int e = 1; e <= LG_ERR_PROTOCOL; e++)
        sr->errors += r.errors[e];
    for (size_t i = 0; i < r.nsamples; i++)
        sr->slow += r.samples[i].error == LG_OK && r.samples[i].latency_s * 1e3 >= SLOW_MS;
    loadgen_result_free(&r);
    return 0;
}

static void print_run(const char *p, const struct slowrun *sr)
{
    char k[64];
    snprintf(k, sizeof k, "%s.ok", p), kv_print(k, "%ld", sr->ok);
    snprintf(k, sizeof k, "%s.errors", p), kv_print(k, "%ld", sr->errors);
    snprintf(k, sizeof k, "%s.slow_requests", p), kv_print(k, "%ld", sr->slow);
    snprintf(k, sizeof k, "%s.served_by_slot0", p), kv_print(k, "%ld", sr->by_slow);
    snprintf(k, sizeof k, "%s.p99_ms", p), kv_print(k, "%.1f", sr->p99_ms);
}

/* One slow worker (slot 0) among x->workers under mode. Returns 1 when it ran. */
static int slow_one(struct ctx *x, const char *mode, struct slowrun *sr)
{
    struct fdh_srv s;
    char p[48], ms[32];
    snprintf(p, sizeof p, "slow.%s", mode);
    snprintf(ms, sizeof ms, "--slow-ms=%d", SLOW_MS);
    if (start2(x, &s, mode, x->workers, "--slow-slot=0", ms) < 0)
        return 0;
    int ran = measure(s.port, SLOW_REQUESTS, SLOW_CONNS, 5, sr) == 0;
    if (ran)
        print_run(p, sr);
    int stopped = stop(&s, SIGTERM, p);
    fdh_srv_free(&s);
    return ran && stopped;
}

static int slow(struct ctx *x)
{
    struct slowrun r = {0}, e = {0}, st = {0};
    int ok = slow_one(x, "reuseport", &r) && slow_one(x, "exclusive", &e);
    int steered = !steer_skipped("slow", "steered");
    if (steered)
        ok = slow_one(x, "steered", &st) && ok;
    ok = ok && r.ok == SLOW_REQUESTS && e.ok == SLOW_REQUESTS && (!steered || st.ok == SLOW_REQUESTS);
    /* Counts, not times: the hash sends the slow worker its share, and each of those
     * waits out the sleep; the others send it only what it asks for. */
    int queued = r.slow >= 2 * e.slow + 10;
    int skips = steered && st.slow <= 2 * e.slow + 10 && r.slow >= 2 * st.slow + 10;
    printf("slow worker (%d ms per connection): %ld of %d requests took at least %d ms with reuseport, "
           "%ld with exclusive", SLOW_MS, r.slow, SLOW_REQUESTS, SLOW_MS, e.slow);
    if (steered)
        printf(", %ld with steered", st.slow);
    printf("\n");
    kv_print("slow.claim.reuseport_queues_behind_slow_worker", "%s", queued ? "yes" : "no");
    kv_print("slow.claim.steered_skips_slow_worker", "%s", !steered ? "skipped" : skips ? "yes" : "no");
    return ok && queued && (!steered || skips);
}

/* A crash-looping slot 0: wait until its back-off is at least 800 ms, then run
 * requests with a 2 s timeout. Returns 1 when every one was answered. */
static int deadslot(struct ctx *x, const char *mode)
{
    struct fdh_srv s;
    char p[48], k[64];
    snprintf(p, sizeof p, "deadslot.%s", mode);
    if (start(x, &s, mode, x->workers, "--crash-slot=0") < 0)
        return 0;
    int waited = 0;
    for (int i = 0; i < 500 && !waited; i++) { /* bounded: 10 s; 100+200+400 ms needed */
        fdh_srv_pump(&s, 20);
        waited = s.out && strstr(s.out, "crashloop=slot=0 backoff_ms=800") != NULL;
    }
    struct slowrun sr = {0};
    int ran = waited && measure(s.port, x->requests / 5, SLOW_CONNS, 2, &sr) == 0;
    snprintf(k, sizeof k, "%s.in_backoff", p), kv_print(k, "%d", waited);
    if (ran) {
        snprintf(k, sizeof k, "%s.requests", p), kv_print(k, "%ld", x->requests / 5);
        snprintf(k, sizeof k, "%s.ok", p), kv_print(k, "%ld", sr.ok);
        snprintf(k, sizeof k, "%s.errors", p), kv_print(k, "%ld", sr.errors);
    }
    int stopped = stop(&s, SIGTERM, p);
    long passed = -1;
    const char *t = s.out ? strstr(s.out, "takeover_passed=") : NULL;
    if (t)
        passed = strtol(t + 16, NULL, 10);
    snprintf(k, sizeof k, "%s.master_passed", p), kv_print(k, "%ld", passed);
    fdh_srv_free(&s);
    return ran && sr.ok == x->requests / 5 && sr.errors == 0 && stopped;
}

int main(int argc, char **argv)
{
    struct ctx x = {.workers = 4, .requests = 2000, .conns = 16};
    const char *scen = "all", *mode = NULL;
    int c;
    while ((c = getopt(argc, argv, "s:a:w:n:c:")) != -1) {
        switch (c) {
        case 's': scen = optarg; break;
        case 'a': mode = optarg; break;
        case 'w': x.workers = atoi(optarg); break;
        case 'n': x.requests = atol(optarg); break;
        case 'c': x.conns = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: lab [-s all|split|kill|quit|term|fds|backoff|slow|deadslot] [-a MODE] [-w N] "
                            "[-n REQ] [-c CONNS]\n");
            return 2;
        }
    }
    if (mode && mode_index(mode) < 0)
        die_msg("-a %s: want reuseport, exclusive, mutex, passfd or steered", mode);
    if (x.workers < 1 || x.workers > LOADGEN_MAX_WORKERS || x.requests < 1 || x.conns < 1)
        die_msg("bad -w/-n/-c");
    char self[PATH_MAX - sizeof "/fdhttpd"];
    if (self_dir(self, sizeof self) < 0)
        die("self_dir");
    snprintf(x.bin, sizeof x.bin, "%s/fdhttpd", self);

    int all = strcmp(scen, "all") == 0, shown = 1, ran = 0;
    puts("# fdhttpd is labs 01-10 in one server: a master binds the listeners and supervises\n"
         "# N epoll workers, which get connections by one of five accept strategies\n"
         "# (reuseport, exclusive, mutex, passfd, steered) and answer HTTP/1.1. Each scenario\n"
         "# starts fdhttpd on port 0, loads it, reads /status, and checks that nothing is left.");
    if (all || strcmp(scen, "split") == 0) {
        puts("# split: N requests through each accept strategy; X-Worker names the worker");
        for (int m = 0; m < NMODES; m++)
            if ((!mode || m == mode_index(mode)) && !steer_skipped("split", modes[m]))
                shown &= split(&x, modes[m]), ran++;
    }
    if (all || strcmp(scen, "kill") == 0) {
        puts("# kill: SIGKILL a worker under load; the master respawns it in the same slot");
        for (int m = 0; m < NMODES; m++)
            if ((!mode || m == mode_index(mode)) && !steer_skipped("kill", modes[m]))
                shown &= kill_one(&x, modes[m]), ran++;
    }
    if (all || strcmp(scen, "quit") == 0) {
        puts("# quit: SIGQUIT while a request is half sent; it is still answered");
        shown &= quit(&x), ran++;
    }
    if (all || strcmp(scen, "term") == 0) {
        puts("# term: SIGTERM with connections open; everything stops, nothing is left");
        shown &= term(&x), ran++;
        puts("# term: a worker that ignores the master is SIGKILLed after the grace period");
        shown &= stubborn(&x);
    }
    if (all || strcmp(scen, "fds") == 0) {
        puts("# fds: descriptor counts of master and workers before and after the load;\n"
             "# conn_idle_bytes: the memory each open connection holds between requests");
        shown &= fds(&x, mode ? mode : "reuseport"), ran++;
    }
    if (all || strcmp(scen, "backoff") == 0) {
        puts("# backoff: a worker that dies at once is respawned later and later");
        shown &= backoff(&x), ran++;
    }
    if (all || strcmp(scen, "slow") == 0) {
        puts("# slow: one worker sleeps 50 ms per connection; who waits behind it?");
        shown &= slow(&x), ran++;
    }
    if (all || strcmp(scen, "deadslot") == 0) {
        puts("# deadslot: a worker in a crash loop's back-off; its listener's connections are still served");
        const char *dm[] = {"reuseport", "steered"};
        for (int m = 0; m < 2; m++)
            if ((!mode || strcmp(mode, dm[m]) == 0) && !steer_skipped("deadslot", dm[m]))
                shown &= deadslot(&x, dm[m]), ran++;
    }
    if (ran == 0)
        die_msg("-s %s: unknown scenario", scen);
    kv_print("shown", "%d", shown);
    return shown ? 0 : 1;
}
