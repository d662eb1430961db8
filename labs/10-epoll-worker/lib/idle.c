/* idle.c — many concurrent idle connections on one evloop (see ew.h).
 *
 * Two processes, because each needs its own ~n descriptors:
 *   server (this process): evloop with the listener, every accepted connection and
 *     the control pipe from the client;
 *   client (forked child): n blocking connections, driven by one-line messages.
 * Control protocol (one line each):
 *   server -> client  "start"          baseline measured, connect now
 *   client -> server  "connected K"    K connections made
 *   server -> client  "go"             all K accepted and measured: ping them
 *   client -> server  "served K"       K got "pong"; then it closes all and exits
 * The server stops when the client's pipe is at EOF and every connection it
 * accepted has been closed (it sees EOF on each).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "evloop.h"
#include "ew.h"
#include "fdcount.h"
#include "sock.h"

enum { SLACK = 64, GUARD_MS = 60000 };

/* ------------------------------------------------------------------ measuring */

/* "Key:   1234 kB" from a /proc file; -1 when absent. */
static long proc_kb(const char *path, const char *key)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = strtol(line + kl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

/* /proc/net/sockstat "TCP: inuse A orphan B tw C alloc D mem E" */
static void sockstat(long *inuse, long *mem)
{
    *inuse = *mem = -1;
    FILE *f = fopen("/proc/net/sockstat", "re");
    if (f == NULL)
        return;
    char line[256];
    while (fgets(line, sizeof line, f) != NULL) {
        long a, b, c, d, e;
        if (sscanf(line, "TCP: inuse %ld orphan %ld tw %ld alloc %ld mem %ld", &a, &b, &c, &d,
                   &e) == 5) {
            *inuse = a;
            *mem = e;
        }
    }
    fclose(f);
}

/* /proc/slabinfo "TCP <active_objs> <num_objs> <objsize> ..." (root only). */
static void slab_tcp(long *objs, long *objsize)
{
    *objs = *objsize = -1;
    FILE *f = fopen("/proc/slabinfo", "re");
    if (f == NULL)
        return;
    char line[512];
    while (fgets(line, sizeof line, f) != NULL) {
        long a, n, sz;
        if (sscanf(line, "TCP %ld %ld %ld", &a, &n, &sz) == 3) {
            *objs = a;
            *objsize = sz;
        }
    }
    fclose(f);
}

static void measure(struct idle_result *r, int after)
{
    long rss = proc_kb("/proc/self/smaps_rollup", "Rss");
    long slab = proc_kb("/proc/meminfo", "Slab");
    long inuse, mem, objs;
    sockstat(&inuse, &mem);
    slab_tcp(&objs, &r->tcp_objsize);
    if (after) {
        r->rss_after_kb = rss, r->slab_after_kb = slab;
        r->tcp_inuse_after = inuse, r->tcp_mem_after = mem, r->tcp_objs_after = objs;
    } else {
        r->rss_before_kb = rss, r->slab_before_kb = slab;
        r->tcp_inuse_before = inuse, r->tcp_mem_before = mem, r->tcp_objs_before = objs;
    }
}

/* ------------------------------------------------------------------ control lines */

static void send_line(int fd, const char *s)
{
    size_t n = strlen(s);
    if (write(fd, s, n) != (ssize_t)n)
        die("write control line");
}

/* Blocking read of one line (client side), bounded by GUARD_MS. */
static void recv_line(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int k = poll(&p, 1, GUARD_MS);
        if (k <= 0)
            die_msg("client: no control line from the server");
        if (read(fd, buf + n, 1) != 1)
            die_msg("client: control pipe closed");
        if (buf[n] == '\n')
            break;
        n++;
    }
    buf[n] = '\0';
}

/* ------------------------------------------------------------------ the client */

static __attribute__((noreturn)) void client(uint16_t port, long n, int in, int out)
{
    char line[64];
    recv_line(in, line, sizeof line); /* "start" */
    int *fd = malloc((size_t)n * sizeof *fd);
    if (fd == NULL)
        die("client malloc");
    long k = 0;
    for (; k < n; k++)
        if ((fd[k] = tcp_connect("127.0.0.1", port, SOCK_CLOEXEC)) < 0) {
            warn_errno("client: connect #%ld", k);
            break;
        }
    dprintf(out, "connected %ld\n", k);
    recv_line(in, line, sizeof line); /* "go" */
    for (long i = 0; i < k; i++)
        if (write(fd[i], "ping\n", 5) != 5)
            die("client: write ping #%ld", i);
    long served = 0;
    for (long i = 0; i < k; i++) {
        struct pollfd p = {.fd = fd[i], .events = POLLIN};
        char buf[8];
        if (poll(&p, 1, GUARD_MS) == 1 && read(fd[i], buf, sizeof buf) == 5 &&
            memcmp(buf, "pong\n", 5) == 0)
            served++;
    }
    dprintf(out, "served %ld\n", served);
    for (long i = 0; i < k; i++)
        close(fd[i]);
    free(fd);
    _exit(served == k && k == n ? 0 : 1);
}

/* ------------------------------------------------------------------ the server */

/* Per-connection state: what a real server would keep (buffers come later). */
struct conn {
    struct idle *s;
    int fd;
    int got; /* request bytes seen */
};

struct idle {
    struct idle_result *r;
    struct evloop *el;
    int lfd, ctl_in, ctl_out;
    long open_now, pongs, client_connected, client_served;
    int measured, child_eof, failed;
    char ctl[128];
    size_t ctllen;
    struct conn **byfd; /* every open connection, to close them after a failure */
    long nbyfd;
    struct ev_timer guard;
};

static void progress(struct idle *s)
{
    if (!s->measured && s->client_connected >= 0 && s->r->accepted >= s->client_connected) {
        measure(s->r, 1);
        s->r->fd_peak = fd_count();
        s->measured = 1;
        send_line(s->ctl_out, "go\n");
    }
    if (s->child_eof && s->open_now == 0)
        evloop_stop(s->el);
}

static void on_conn(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)events;
    struct conn *c = ud;
    struct idle *s = c->s;
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EAGAIN)
        return;
    if (n <= 0) { /* EOF (or reset): the client closed; delete before close */
        if (evloop_io_del(el, fd) < 0)
            die("evloop_io_del conn");
        close(fd);
        s->byfd[fd] = NULL;
        free(c);
        s->open_now--;
        progress(s);
        return;
    }
    c->got += (int)n;
    if (memchr(buf, '\n', (size_t)n) != NULL) {
        /* 5 bytes into an empty buffer: never short; no SIGPIPE if the peer is gone */
        if (send(fd, "pong\n", 5, MSG_NOSIGNAL) != 5)
            die("write pong");
        s->pongs++;
    }
}

static void on_listen(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)events;
    struct idle *s = ud;
    for (;;) { /* level-triggered, but drain anyway: fewer wake-ups */
        int a = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (a < 0) {
            if (errno == EAGAIN)
                break;
            die("accept4 (connection #%ld)", s->r->accepted + 1);
        }
        struct conn *c = calloc(1, sizeof *c);
        if (c == NULL)
            die("calloc conn");
        c->s = s;
        c->fd = a;
        if (a >= s->nbyfd)
            die_msg("fd %d beyond the connection table (%ld)", a, s->nbyfd);
        s->byfd[a] = c;
        if (evloop_io_add(el, a, EV_READ, on_conn, c) < 0)
            die("evloop_io_add conn");
        s->r->accepted++;
        s->open_now++;
    }
    progress(s);
}

static void on_ctl(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)events;
    struct idle *s = ud;
    ssize_t n = read(fd, s->ctl + s->ctllen, sizeof s->ctl - 1 - s->ctllen);
    if (n < 0 && errno == EAGAIN)
        return;
    if (n <= 0) {
        s->child_eof = 1;
        if (evloop_io_del(el, fd) < 0)
            die("evloop_io_del ctl");
        progress(s);
        return;
    }
    s->ctllen += (size_t)n;
    s->ctl[s->ctllen] = '\0';
    char *nl;
    while ((nl = strchr(s->ctl, '\n')) != NULL) {
        *nl = '\0';
        long v;
        if (sscanf(s->ctl, "connected %ld", &v) == 1)
            s->client_connected = v;
        else if (sscanf(s->ctl, "served %ld", &v) == 1)
            s->client_served = v;
        size_t used = (size_t)(nl + 1 - s->ctl);
        memmove(s->ctl, nl + 1, s->ctllen - used + 1);
        s->ctllen -= used;
    }
    progress(s);
}

static void on_guard(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)t;
    ((struct idle *)ud)->failed = 1;
    evloop_stop(el);
}

void ew_idle(long want, struct idle_result *r)
{
    memset(r, 0, sizeof *r);
    r->want = want;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        die("getrlimit");
    rl.rlim_cur = rl.rlim_max; /* an unprivileged process may raise soft up to hard */
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        die("setrlimit");
    r->nofile_soft = (long)rl.rlim_cur;
    r->nofile_hard = (long)rl.rlim_max;
    r->n = want;
    if (rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < want + SLACK) {
        r->n = (long)rl.rlim_cur - SLACK; /* as many as fit, and say so */
        r->limited = 1;
    }
    if (r->n < 1)
        die_msg("RLIMIT_NOFILE %ld leaves no room", r->nofile_soft);

    uint16_t port;
    int lfd = tcp_listen_loopback(4096, SOCK_NONBLOCK | SOCK_CLOEXEC, &port);
    if (lfd < 0)
        die("tcp_listen_loopback");
    int to_child[2], from_child[2];
    if (pipe2(to_child, O_CLOEXEC) < 0 || pipe2(from_child, O_CLOEXEC) < 0)
        die("pipe2");
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        close(lfd);
        close(to_child[1]);
        close(from_child[0]);
        client(port, r->n, to_child[0], from_child[1]);
    }
    close(to_child[0]);
    close(from_child[1]);

    struct idle s = {.r = r, .lfd = lfd, .ctl_in = from_child[0], .ctl_out = to_child[1],
                     .client_connected = -1, .client_served = -1};
    s.nbyfd = r->n + 2 * SLACK; /* fds are numbered from the lowest free one */
    s.byfd = calloc((size_t)s.nbyfd, sizeof *s.byfd);
    if (s.byfd == NULL)
        die("calloc");
    s.el = evloop_new();
    if (s.el == NULL)
        die("evloop_new");
    ew_set_nonblock(s.ctl_in);
    if (evloop_io_add(s.el, lfd, EV_READ, on_listen, &s) < 0 ||
        evloop_io_add(s.el, s.ctl_in, EV_READ, on_ctl, &s) < 0)
        die("evloop_io_add");
    ev_timer_init(&s.guard, on_guard, &s);
    if (evloop_timer_start(s.el, &s.guard, GUARD_MS, 0) < 0)
        die("evloop_timer_start");
    r->fd_baseline = fd_count();
    measure(r, 0);
    send_line(s.ctl_out, "start\n");
    if (evloop_run(s.el) < 0)
        die("evloop_run");
    r->fd_after = fd_count();
    for (long fd = 0; fd < s.nbyfd; fd++) /* only after a failure (guard timer) */
        if (s.byfd[fd] != NULL) {
            close((int)fd);
            free(s.byfd[fd]);
        }
    free(s.byfd);
    r->connected = s.client_connected;
    /* served: both sides agree (server wrote pong, client read it) */
    r->served = s.pongs < s.client_served ? s.pongs : s.client_served;
    evloop_timer_stop(s.el, &s.guard);
    evloop_free(s.el);
    close(s.ctl_in);
    close(s.ctl_out);
    close(lfd);

    /* Reap the client; it exits by itself (its waits are bounded), kill on failure. */
    if (s.failed)
        kill(pid, SIGKILL);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            die("waitpid");
    r->client_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (s.failed)
        r->client_status = -1;
}
