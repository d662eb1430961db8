/* run.c — alock_run(): the parent's side (see alock.h) and the load client. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "loadgen.h"
#include "pdeath.h"
#include "procinfo.h"
#include "pmutex.h"
#include "pshm.h"
#include "shared.h"
#include "sock.h"

static const char *const names[ALOCK_NMETHODS] = {"none", "fcntl", "ofd", "pmutex", "nginx"};

const char *alock_method_name(enum alock_method m)
{
    return (unsigned)m < ALOCK_NMETHODS ? names[m] : "?";
}

int alock_method_parse(const char *name)
{
    for (int i = 0; i < ALOCK_NMETHODS; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    errno = EINVAL;
    return -1;
}

/* The parent's single context for one run. */
struct run {
    const struct alock_opts *o;
    struct alock_shm *sh;
    int lfd, lockfd, stop_r, stop_w, sfd;
    uint16_t port;
    sigset_t oldmask;
    int nslots;
    int reaped[ALOCK_MAX_SLOTS];
    pid_t client;
    int client_reaped;
    /* outside kill */
    pid_t victim;       /* the holder the parent killed, 0 before */
    int victim_slot;
    double give_up;     /* stop looking for a blocked holder after this time */
    struct alock_result *res;
};

/* ------------------------------------------------------------------ load client */

/* The load client: idle connections first (the throttle demo), then the requests. */
static __attribute__((noreturn)) void client(struct run *r, pid_t parent)
{
    die_with_parent(parent);
    if (sigprocmask(SIG_SETMASK, &r->oldmask, NULL) < 0)
        die("sigprocmask");
    /* Only the worker side needs these; the idle sockets must be ours alone so that
     * closing them reaches the workers. */
    close(r->lfd), close(r->stop_r), close(r->stop_w), close(r->sfd);
    if (r->lockfd >= 0)
        close(r->lockfd);
    struct alock_client *c = &r->sh->client;
    int idle[ALOCK_MAX_WORKERS * ALOCK_MAX_CONNS];
    int nidle = 0;
    for (; nidle < r->o->idle; nidle++) {
        idle[nidle] = tcp_connect("127.0.0.1", r->port, SOCK_CLOEXEC);
        if (idle[nidle] < 0)
            die("idle connect");
    }
    c->idle_opened = nidle;
    /* Wait (at most 10 s) until the workers hold them all. */
    for (int i = 0; i < 1000 && atomic_load(&r->sh->accepted) < nidle; i++)
        sleep_ms(10);
    /* Outside kill: the first K requests, a pause while the parent kills the holder
     * (bounded: 10 s), then the rest. Otherwise all requests in one run. */
    long phase[2] = {r->o->requests, 0};
    if (r->o->outside_kill)
        phase[0] = r->o->kill_after, phase[1] = r->o->requests - r->o->kill_after;
    for (int p = 0; p < 2 && phase[p] > 0; p++) {
        if (p == 1) {
            atomic_store(&c->paused, 1);
            for (int i = 0; i < 1000 && !atomic_load(&r->sh->resume); i++)
                sleep_ms(10);
        }
        struct loadgen_opts lo = {.port = r->port, .connections = r->o->concurrency,
                                  .requests = phase[p], .timeout_s = 5};
        struct loadgen_result lr;
        if (loadgen_run(&lo, &lr) < 0)
            die("loadgen_run");
        c->ok += lr.ok;
        /* Summed from errors[]: nsamples - ok would be wrong with no_samples. */
        for (int e = LG_ERR_CONNECT; e <= LG_ERR_PROTOCOL; e++)
            c->errors += lr.errors[e];
        c->elapsed_s += lr.elapsed_s;
        loadgen_result_free(&lr);
    }
    for (int i = 0; i < nidle; i++)
        close(idle[i]);
    c->done = 1;
    _exit(0);
}

/* ------------------------------------------------------------------ workers */

static pid_t spawn_worker(struct run *r)
{
    if (r->nslots >= ALOCK_MAX_SLOTS) {
        errno = ENOSPC;
        return -1;
    }
    int slot = r->nslots;
    pid_t parent = getpid();
    fflush(stdout); /* nothing buffered may be printed twice */
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(r->stop_w), close(r->sfd);
        struct alock_wenv env = {.o = r->o, .sh = r->sh, .slot = slot, .lfd = r->lfd,
                                 .lockfd = r->lockfd, .stopfd = r->stop_r, .parent = parent};
        alock_worker(&env);
    }
    r->sh->slot[slot].pid = pid; /* also written by the child; same value */
    r->reaped[slot] = 0;
    r->nslots++;
    r->res->started++;
    return pid;
}

static void account(struct run *r, int slot, int status, const struct rusage *ru)
{
    r->reaped[slot] = 1;
    r->res->worker_cpu_s += (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6 +
                            (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec / 1e6;
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && !atomic_load(&r->sh->stop))
        r->res->killed++; /* not the parent's own clean-up kills at the end */
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        warn_msg("worker %d (pid %d) ended badly (status 0x%x)", slot,
                 (int)r->sh->slot[slot].pid, status);
}

/* Reap whatever has exited (never blocks). Returns the number of workers that died
 * by a signal, for respawning. */
static int reap_some(struct run *r)
{
    int died = 0;
    struct rusage ru;
    int st;
    for (int i = 0; i < r->nslots; i++) {
        if (r->reaped[i])
            continue;
        pid_t p = wait4(r->sh->slot[i].pid, &st, WNOHANG, &ru);
        if (p < 0 && errno != EINTR)
            die("wait4 worker");
        if (p > 0) {
            account(r, i, st, &ru);
            died += WIFSIGNALED(st);
        }
    }
    if (r->client > 0 && !r->client_reaped) {
        pid_t p = wait4(r->client, &st, WNOHANG, &ru);
        if (p < 0 && errno != EINTR)
            die("wait4 client");
        if (p > 0) {
            r->client_reaped = 1;
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                warn_msg("load client ended badly (status 0x%x)", st);
        }
    }
    return died;
}


/* The outside kill, called on every supervision round once the client has paused
 * (every one of its first K requests answered, no connection coming). Kills the
 * recorded lock holder when it is blocked in accept(): it set in_accept before the
 * call and sleeps, and nothing can wake it now. It holds the lock and no
 * connection, so its death can lose nothing. Once it is reaped (and replaced),
 * lets the client go on; after 5 s without a blocked holder, lets it go on anyway
 * (then killed stays 0 and the run says so). */
static void outside_kill(struct run *r)
{
    struct alock_shm *sh = r->sh;
    if (!r->o->outside_kill || atomic_load(&sh->resume) || !atomic_load(&sh->client.paused))
        return;
    if (r->victim == 0) {
        if (r->give_up == 0)
            r->give_up = mono_s() + 5;
        pid_t holder = sh->holder; /* stable: the holder cannot release without a connection */
        for (int i = 0; i < r->nslots && holder > 0; i++) {
            struct alock_slot *s = &sh->slot[i];
            if (r->reaped[i] || s->pid != holder || !atomic_load(&s->in_accept) ||
                !proc_is_sleeping(holder))
                continue;
            /* Its +1 in waiters would never be undone: undo it for it. */
            atomic_fetch_sub(&sh->waiters, 1);
            sh->victim = holder;
            sh->accepted_at_kill = atomic_load(&sh->accepted);
            sh->kill_done = 1;
            r->victim = holder;
            r->victim_slot = i;
            r->res->victim_held_lock = 1;
            r->res->victim_in_accept = 1;
            if (kill(holder, SIGKILL) < 0)
                die("kill(%d, SIGKILL)", (int)holder);
            return;
        }
        if (mono_s() > r->give_up) {
            warn_msg("outside kill: no lock holder blocked in accept() within 5 s");
            atomic_store(&sh->resume, 1);
        }
        return;
    }
    if (r->reaped[r->victim_slot] && (!r->o->respawn || r->res->respawned > 0))
        atomic_store(&sh->resume, 1);
}

/* Until the client is done: sleep on signalfd(SIGCHLD), reap, respawn (and do the
 * outside kill). */
static int supervise(struct run *r, double deadline)
{
    while (!r->client_reaped) {
        double left = deadline - mono_s();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = {.fd = r->sfd, .events = POLLIN};
        /* Short rounds while an outside kill is pending. */
        int round = r->o->outside_kill && !atomic_load(&r->sh->resume) ? 10 : 1000;
        int n = poll(&p, 1, left * 1000 > round ? round : (int)(left * 1000) + 1);
        if (n < 0 && errno != EINTR)
            die("poll signalfd");
        if (n > 0) {
            struct signalfd_siginfo si[8];
            if (read(r->sfd, si, sizeof si) < 0 && errno != EAGAIN)
                die("read signalfd");
        }
        /* Reap on every round: SIGCHLDs merge, so the read says "something", not who. */
        int died = reap_some(r);
        for (; died > 0 && r->o->respawn && !atomic_load(&r->sh->stop); died--) {
            if (spawn_worker(r) < 0)
                warn_errno("respawn");
            else
                r->res->respawned++;
        }
        outside_kill(r);
    }
    return 0;
}

/* Stop every worker, reap them all (SIGKILL after 5 s) and the client if needed. */
static void stop_all(struct run *r)
{
    atomic_store(&r->sh->stop, 1);
    /* shutdown() wakes whoever waits in accept() or has the listener in its epoll set;
     * the stop pipe's hang-up wakes the others' epoll_wait. Blocked lock waiters are
     * reached one by one: each holder releases on its way out. */
    if (shutdown(r->lfd, SHUT_RDWR) < 0)
        warn_errno("shutdown listener");
    close(r->stop_w);
    r->stop_w = -1;
    for (int tick = 0;; tick++) {
        reap_some(r);
        int left = !r->client_reaped && r->client > 0;
        for (int i = 0; i < r->nslots; i++)
            left += !r->reaped[i];
        if (left == 0)
            break;
        if (tick == 500) {
            for (int i = 0; i < r->nslots; i++)
                if (!r->reaped[i] && kill(r->sh->slot[i].pid, SIGKILL) == 0)
                    r->res->forced_kills++;
            if (r->client > 0 && !r->client_reaped && kill(r->client, SIGKILL) < 0)
                warn_errno("kill client");
        }
        sleep_ms(10);
    }
}

/* ------------------------------------------------------------------ setup */

static int make_lock_file(void)
{
    const char *dir = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/fdlab-07-lock-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return -1;
    /* Nobody needs the name: workers inherit the descriptor (fcntl) or re-open it
     * through /proc/self/fd (ofd). */
    if (unlink(path) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static void collect(struct run *r)
{
    struct alock_result *res = r->res;
    struct alock_shm *sh = r->sh;
    res->ok = sh->client.ok;
    res->errors = sh->client.done ? sh->client.errors : r->o->requests;
    res->elapsed_s = sh->client.elapsed_s;
    res->rps = res->elapsed_s > 0 ? (double)res->ok / res->elapsed_s : 0;
    res->max_waiters = atomic_load(&sh->max_waiters);
    res->victim = sh->kill_done ? sh->victim : 0;
    if (sh->kill_done)
        res->accepted_after_kill = atomic_load(&sh->accepted) - sh->accepted_at_kill;
    for (int i = 0; i < r->nslots; i++) {
        const struct alock_slot *s = &sh->slot[i];
        res->accepted += s->accepted;
        res->served += s->served;
        res->serve_errors += s->serve_errors;
        res->closed_unasked += s->closed_unasked;
        res->accept_csw += s->accept_csw;
        res->lock_csw += s->lock_csw;
        res->empty_wakes += s->empty_wakes;
        res->eagain += s->eagain;
        res->lock_taken += s->lock_taken;
        res->disabled_skips += s->disabled_skips;
        res->limit_skips += s->limit_skips;
        res->ownerdead += s->ownerdead;
        if (s->max_active > res->max_active)
            res->max_active = s->max_active;
        res->reported += s->reported;
        res->busy_workers += s->accepted > 0;
        if (s->died_holding && s->pid == res->victim)
            res->victim_held_lock = 1;
        if (res->victim && s->saw_dead_holder && s->dead_holder == res->victim)
            res->successor_saw_dead_holder = 1;
    }
}

int alock_run(const struct alock_opts *o, struct alock_result *res)
{
    memset(res, 0, sizeof *res);
    int limit = o->conn_limit ? o->conn_limit : 64;
    if ((unsigned)o->method >= ALOCK_NMETHODS || o->workers < 1 ||
        o->workers > ALOCK_MAX_WORKERS || o->requests < 1 || o->concurrency < 1 ||
        o->kill_after < 0 || (o->kill_after > 0 && o->method == ALOCK_NONE) || limit < 8 ||
        (o->outside_kill && (o->kill_after <= 0 || o->kill_after >= o->requests ||
                             o->method == ALOCK_NONE || o->method == ALOCK_NGINX)) ||
        limit > ALOCK_MAX_CONNS || o->idle < 0 || o->idle > o->workers * limit ||
        (o->method == ALOCK_NGINX && o->idle > limit) || /* worker 0 takes them all */
        o->delay_ms < 0 || o->timeout_s < 0) {
        errno = EINVAL;
        return -1;
    }
    struct run r = {.o = o, .res = res, .lfd = -1, .lockfd = -1, .stop_r = -1, .stop_w = -1,
                    .sfd = -1};
    r.sh = pshm_alloc(sizeof *r.sh);
    if (!r.sh)
        return -1;
    int rc = -1, e = 0;
    if (o->method == ALOCK_PMUTEX || o->method == ALOCK_NGINX) {
        if (pmutex_init(&r.sh->mutex, PMUTEX_ROBUST) != 0)
            goto out;
    }
    if ((o->method == ALOCK_FCNTL || o->method == ALOCK_OFD) && (r.lockfd = make_lock_file()) < 0)
        goto out;
    /* Blocking accept under a lock wants a blocking listener; the epoll loops must
     * never block in accept. The flag lives in the shared open file description. */
    int lflags = SOCK_CLOEXEC;
    if (o->method == ALOCK_NONE || o->method == ALOCK_NGINX)
        lflags |= SOCK_NONBLOCK;
    r.lfd = tcp_listen_loopback(1024, lflags, &r.port);
    if (r.lfd < 0)
        goto out;
    int sp[2];
    if (pipe2(sp, O_CLOEXEC) < 0)
        goto out;
    r.stop_r = sp[0], r.stop_w = sp[1];
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &chld, &r.oldmask) < 0)
        goto out;
    r.sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    if (r.sfd < 0)
        goto out_mask;

    for (int i = 0; i < o->workers; i++) {
        if (spawn_worker(&r) < 0) {
            e = errno;
            stop_all(&r);
            errno = e;
            goto out_mask;
        }
    }
    /* Wait (at most 5 s) until every worker is about to wait for work. */
    for (int tick = 0; tick < 500; tick++) {
        int ready = 0;
        for (int i = 0; i < o->workers; i++)
            ready += r.sh->slot[i].ready;
        if (ready == o->workers)
            break;
        sleep_ms(10);
    }
    double deadline = mono_s() + (o->timeout_s > 0 ? o->timeout_s : 60);
    pid_t parent = getpid();
    fflush(stdout);
    r.client = fork();
    if (r.client < 0) {
        e = errno;
        stop_all(&r);
        errno = e;
        goto out_mask;
    }
    if (r.client == 0)
        client(&r, parent);
    int sup = supervise(&r, deadline);
    e = errno;
    stop_all(&r);
    collect(&r);
    if (sup == 0)
        rc = 0;
    else
        errno = e;
out_mask:
    e = errno;
    if (sigprocmask(SIG_SETMASK, &r.oldmask, NULL) < 0)
        warn_errno("sigprocmask restore");
    errno = e;
out:
    e = errno;
    if (r.sfd >= 0)
        close(r.sfd);
    if (r.stop_r >= 0)
        close(r.stop_r);
    if (r.stop_w >= 0)
        close(r.stop_w);
    if (r.lfd >= 0)
        close(r.lfd);
    if (r.lockfd >= 0)
        close(r.lockfd);
    /* Every user is gone; a destroy that reports EBUSY (a worker killed at the end
     * while holding it) changes nothing, as the memory goes next. */
    if (o->method == ALOCK_PMUTEX || o->method == ALOCK_NGINX)
        pmutex_destroy(&r.sh->mutex);
    pshm_free(r.sh, sizeof *r.sh);
    errno = e;
    return rc;
}
