/* pool.c — see pool.h. */
#include "pool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "labreply.h"
#include "sock.h"

#define EV_STOP 0u
#define EV_LISTEN 1u

/* Everything one worker process owns; it lives on the worker's stack. */
struct worker {
    const struct pool_opts *o;
    struct rsteer *steer; /* POOL_STEERED, else NULL */
    int id, ep, lfd, stop_r, stats_w;
    struct worker_stats st;
};

const char *pool_mode_name(enum pool_mode m)
{
    switch (m) {
    case POOL_EXCLUSIVE: return "exclusive";
    case POOL_REUSEPORT: return "reuseport";
    case POOL_NGINX: return "nginx";
    case POOL_CPU: return "cpu";
    case POOL_STEERED: return "steered";
    }
    return "?";
}

int pool_mode_parse(const char *s, enum pool_mode *m)
{
    for (int i = 0; i < POOL_MODES; i++)
        if (strcmp(s, pool_mode_name((enum pool_mode)i)) == 0) {
            *m = (enum pool_mode)i;
            return 0;
        }
    return -1;
}

static void listener_add(struct worker *w)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = EV_LISTEN};
    if (w->o->mode == POOL_EXCLUSIVE || w->o->mode == POOL_NGINX)
        ev.events |= EPOLLEXCLUSIVE; /* only allowed with EPOLL_CTL_ADD */
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, w->lfd, &ev) < 0)
        die("worker %d: epoll_ctl ADD listener", w->id);
}

/* nginx's ngx_reorder_accept_events(): leave the listener's wait queue and join it
 * again. The new entry goes to the END of the queue (add_wait_queue_exclusive), so
 * the other workers now come first. EPOLL_CTL_MOD cannot do this: it keeps the entry
 * where it is (and refuses EPOLLEXCLUSIVE anyway). */
static void listener_readd(struct worker *w)
{
    if (epoll_ctl(w->ep, EPOLL_CTL_DEL, w->lfd, NULL) < 0)
        die("worker %d: epoll_ctl DEL listener", w->id);
    listener_add(w);
    w->st.readds++;
}

static void accept_one(struct worker *w)
{
    int c = accept4(w->lfd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) {
        /* Another worker took it first, or the client gave up: nothing to serve. */
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED || errno == EINTR)
            w->st.empty_wakeups++;
        else
            warn_errno("worker %d: accept4", w->id);
        return;
    }
    w->st.accepted++;
    if (w->id == w->o->slow_worker && w->o->slow_ms > 0)
        sleep_ms(w->o->slow_ms);
    if (lab_serve(c, w->id) < 0) /* closes c in every case */
        w->st.serve_errors++;
    if (w->steer)
        rsteer_done(w->steer, w->id); /* published before the next epoll_wait */
    /* After the K-th, 2K-th, ... accept (nginx: after the 1st, 17th, ...; see pool.h). */
    if (w->o->mode == POOL_NGINX && w->st.accepted % w->o->readd_every == 0)
        listener_readd(w);
}

/* The worker's whole life after the ready byte: serve until the stop pipe hangs up. */
static int worker_main(struct worker *w, int ready_w)
{
    w->ep = epoll_create1(EPOLL_CLOEXEC);
    if (w->ep < 0)
        die("worker %d: epoll_create1", w->id);
    struct epoll_event sev = {.events = EPOLLIN, .data.u32 = EV_STOP};
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, w->stop_r, &sev) < 0)
        die("worker %d: epoll_ctl ADD stop pipe", w->id);
    listener_add(w);
    if (write(ready_w, "r", 1) != 1)
        die("worker %d: write ready byte", w->id);
    close(ready_w);

    for (;;) {
        struct epoll_event ev[2];
        /* No timeout needed: the stop pipe hangs up when the parent closes it or dies. */
        int n = epoll_wait(w->ep, ev, 2, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("worker %d: epoll_wait", w->id);
        }
        int listen_ready = 0;
        for (int i = 0; i < n; i++) {
            if (ev[i].data.u32 == EV_STOP)
                goto out;
            listen_ready = 1;
        }
        if (listen_ready)
            accept_one(w);
    }
out:
    w->st.id = w->id;
    if (write(w->stats_w, &w->st, sizeof w->st) != (ssize_t)sizeof w->st)
        die("worker %d: write stats", w->id);
    return 0;
}

static void close_all(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
        }
}

/* Reap every worker, waiting until `deadline`; SIGKILL whatever is left then.
 * Returns 0 when all exited with status 0. */
static int reap_all(struct pool *p, double deadline)
{
    int ok = 1;
    for (int i = 0; i < p->n; i++) {
        int st;
        pid_t r;
        while ((r = waitpid(p->pid[i], &st, WNOHANG)) == 0 && mono_s() < deadline)
            sleep_ms(5);
        if (r == 0) {
            kill(p->pid[i], SIGKILL);
            r = waitpid(p->pid[i], &st, 0);
            errno = ETIMEDOUT;
            ok = 0;
        }
        if (r < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            ok = 0;
    }
    p->n = 0;
    return ok ? 0 : -1;
}

static int wait_ready(int ready_r)
{
    struct pollfd pfd = {ready_r, POLLIN, 0};
    int r;
    do
        r = poll(&pfd, 1, 5000);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        errno = ETIMEDOUT;
    char b;
    if (r <= 0 || read(ready_r, &b, 1) != 1) {
        if (r > 0)
            errno = EPIPE; /* the worker died before it was ready */
        return -1;
    }
    return 0;
}

static int per_worker_listener(enum pool_mode m)
{
    return m == POOL_REUSEPORT || m == POOL_CPU || m == POOL_STEERED;
}

/* Attaches the mode's program to the group (lfd[0..n-1], all listening). */
static int steer_group(struct pool *p, enum pool_mode m, const int *lfd, int n)
{
    if (m == POOL_CPU)
        return rsteer_attach_cpu(lfd[0], n);
    if (m != POOL_STEERED)
        return 0;
    char log[512];
    if (rsteer_open(&p->steer, n, log, sizeof log) < 0) {
        if (errno != EPERM && log[0])
            warn_msg("the verifier refused the steering program: %s", log);
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (rsteer_add(&p->steer, i, lfd[i]) < 0)
            return -1;
    return rsteer_attach(&p->steer, lfd[0]);
}

int pool_start(const struct pool_opts *o, struct pool *p)
{
    memset(p, 0, sizeof *p);
    p->stop_w = p->stats_r = -1;
    p->steer.socks = p->steer.loadmap = p->steer.prog = -1;
    if (o->workers < 1 || o->workers > POOL_MAX || o->slow_ms < 0 || o->slow_ms > 10000 ||
        o->slow_worker >= o->workers || (o->mode == POOL_NGINX && o->readd_every < 1)) {
        errno = EINVAL;
        return -1;
    }
    int nl = per_worker_listener(o->mode) ? o->workers : 1;
    int lfd[POOL_MAX], stop[2] = {-1, -1}, stats[2] = {-1, -1}, ready[2] = {-1, -1};
    for (int i = 0; i < POOL_MAX; i++)
        lfd[i] = -1;
    int e = 0;
    if (pipe2(stop, O_CLOEXEC) < 0 || pipe2(stats, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0)
        goto fail;
    int flags = SOCK_NONBLOCK | SOCK_CLOEXEC | (per_worker_listener(o->mode) ? SOCK_REUSEPORT : 0);
    /* Every reuseport listener joins the same group: same port, same user, all with
     * SO_REUSEPORT set before bind(). */
    for (int i = 0; i < nl; i++)
        if ((lfd[i] = tcp_listen("127.0.0.1", p->port, 128, flags, i == 0 ? &p->port : NULL)) < 0)
            goto fail;
    if (steer_group(p, o->mode, lfd, nl) < 0)
        goto fail;
    p->stop_w = stop[1];
    p->stats_r = stats[0];
    fflush(NULL); /* a child must not inherit (and one day flush) our buffered output */
    for (int i = 0; i < o->workers; i++) {
        pid_t pid = fork();
        if (pid < 0)
            goto fail;
        if (pid == 0) {
            struct worker w = {.o = o, .id = i, .stop_r = stop[0], .stats_w = stats[1]};
            close(stop[1]), close(stats[0]), close(ready[0]);
            if (o->mode == POOL_STEERED)
                w.steer = &p->steer; /* this process's copy; the counters are shared */
            w.lfd = lfd[nl > 1 ? i : 0];
            for (int j = 0; j < nl; j++)
                if (lfd[j] != w.lfd)
                    close(lfd[j]);
            _exit(worker_main(&w, ready[1]));
        }
        p->pid[p->n++] = pid;
        /* Worker i must be registered before worker i+1 starts: that fixes the order of
         * the entries in the shared listener's wait queue. */
        if (wait_ready(ready[0]) < 0)
            goto fail;
    }
    close_all(lfd, nl);
    close(stop[0]), close(stats[1]), close(ready[0]), close(ready[1]);
    return 0;
fail:
    e = errno;
    close_all(lfd, nl);
    int rest[] = {stop[0], stop[1], stats[0], stats[1], ready[0], ready[1]};
    close_all(rest, 6);
    p->stop_w = p->stats_r = -1;
    rsteer_close(&p->steer);
    reap_all(p, mono_s() + 5.0); /* they see the stop pipe hang up */
    errno = e;
    return -1;
}

int pool_stop(struct pool *p, struct worker_stats stats[POOL_MAX])
{
    int n = p->n, rc = 0;
    memset(stats, 0, sizeof(struct worker_stats) * POOL_MAX);
    for (int i = 0; i < POOL_MAX; i++)
        stats[i].id = -1;
    if (p->stop_w >= 0)
        close(p->stop_w);
    p->stop_w = -1;
    double deadline = mono_s() + 5.0;
    /* Records are smaller than PIPE_BUF, so each arrives whole; read until every
     * worker has reported or all write ends are closed (EOF). */
    struct worker_stats rec[POOL_MAX];
    size_t want = sizeof rec[0] * (size_t)n, have = 0;
    while (have < want) {
        int left = (int)((deadline - mono_s()) * 1000);
        struct pollfd pfd = {p->stats_r, POLLIN, 0};
        int r = left > 0 ? poll(&pfd, 1, left) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        ssize_t got = read(p->stats_r, (char *)rec + have, want - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        have += (size_t)got;
    }
    for (size_t i = 0; i < have / sizeof rec[0]; i++)
        if (rec[i].id >= 0 && rec[i].id < POOL_MAX)
            stats[rec[i].id] = rec[i];
    if (have != want) {
        errno = EPIPE;
        rc = -1;
    }
    close(p->stats_r);
    p->stats_r = -1;
    rsteer_close(&p->steer);
    if (reap_all(p, deadline) < 0)
        rc = -1;
    return rc;
}
