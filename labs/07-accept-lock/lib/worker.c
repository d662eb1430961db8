/* worker.c — the three worker loops of alock.h: herd (none), blocking accept under
 * a lock (fcntl, ofd, pmutex: UNP serv03/serv04), and nginx's trylock epoll loop.
 *
 * Lock protocol shared by every locked method (it is what makes a dead holder
 * visible): right after taking the lock a worker reads sh->holder — non-zero means
 * the previous holder died without releasing (a releaser always clears it) — then
 * writes its own pid there; before releasing it writes 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "labreply.h"
#include "pdeath.h"
#include "pmutex.h"
#include "shared.h"

/* The single per-process context of a worker. */
struct worker {
    const struct alock_opts *o;
    struct alock_shm *sh;
    struct alock_slot *me;
    int lfd, lockfd, stopfd, ep;
    pid_t pid;
    /* nginx loop */
    int held;      /* holds the mutex in this loop */
    int listening; /* the listener is in our epoll set */
    int limit, active, accept_disabled;
    int conns[ALOCK_MAX_CONNS];
};

static long nvcsw(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) < 0)
        die("getrusage");
    return ru.ru_nvcsw;
}

static int stopping(const struct worker *w)
{
    return atomic_load(&w->sh->stop);
}

/* Count this worker as waiting on the listener (+1) or done waiting (-1), and keep
 * the maximum: the lock's promise is that it never exceeds 1. */
static void waiting(struct worker *w, int d)
{
    int now = atomic_fetch_add(&w->sh->waiters, d) + d;
    int max = atomic_load(&w->sh->max_waiters);
    while (now > max && !atomic_compare_exchange_weak(&w->sh->max_waiters, &max, now))
        ;
}

static void serve(struct worker *w, int fd)
{
    /* The throttle demo's idle connections end without a request: a peek that reads
     * end-of-file at once tells them apart from a request that failed. */
    char c;
    if (recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
        w->me->closed_unasked++;
        if (close(fd) < 0)
            die("close");
        return;
    }
    if (lab_serve(fd, w->me->id) == 0)
        w->me->served++;
    else
        w->me->serve_errors++;
}

/* ------------------------------------------------------------------ the lock */

/* Called with the lock just taken: notice a dead predecessor, become the holder. */
static void became_holder(struct worker *w)
{
    pid_t prev = w->sh->holder;
    if (prev != 0 && prev != w->pid) {
        w->me->saw_dead_holder++;
        w->me->dead_holder = prev;
    }
    w->sh->holder = w->pid;
    w->me->lock_taken++;
}

/* EOWNERDEAD: we hold the mutex, its last owner died holding it. The data it guards
 * (holder, kill_*) is consistent by construction — the victim only dies after
 * finishing its updates — so the repair is became_holder()'s bookkeeping. */
static void owner_died(struct worker *w)
{
    w->me->ownerdead++;
    if (pmutex_consistent(&w->sh->mutex) != 0)
        die("pthread_mutex_consistent");
}

static int file_lock(struct worker *w, short type, int wait)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    int cmd;
    if (w->o->method == ALOCK_OFD)
        cmd = wait ? F_OFD_SETLKW : F_OFD_SETLK; /* l_pid must be 0: it is */
    else
        cmd = wait ? F_SETLKW : F_SETLK;
    while (fcntl(w->lockfd, cmd, &fl) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return 0;
}

/* Blocking acquire for fcntl/ofd/pmutex. Returns 0 when held, 1 when the run is
 * stopping and the lock was not taken. The mutex wait is bounded (1 s) so a worker
 * notices the stop flag; F_SETLKW is not, and needs no bound: the holder always
 * releases (or dies, which releases), and the stop reaches holders one by one. */
static int lock_acquire(struct worker *w)
{
    if (w->o->method == ALOCK_PMUTEX) {
        for (;;) {
            int rc = pmutex_timedlock(&w->sh->mutex, 1000);
            if (rc == EOWNERDEAD) {
                owner_died(w);
                rc = 0;
            }
            if (rc == 0)
                break;
            if (rc != ETIMEDOUT)
                die("pthread_mutex_clocklock");
            if (stopping(w))
                return 1;
        }
    } else if (file_lock(w, F_WRLCK, 1) < 0) {
        die("fcntl(F_WRLCK)");
    }
    became_holder(w);
    return 0;
}

static void lock_release(struct worker *w)
{
    w->sh->holder = 0;
    if (w->o->method == ALOCK_PMUTEX || w->o->method == ALOCK_NGINX) {
        if (pmutex_unlock(&w->sh->mutex) != 0)
            die("pthread_mutex_unlock");
    } else if (file_lock(w, F_UNLCK, 0) < 0) {
        die("fcntl(F_UNLCK)");
    }
}

/* The kill test. Called right after taking the lock. The first holder after K
 * accepted connections serves what it holds, marks itself, and dies holding it. */
static void maybe_die_holding(struct worker *w)
{
    struct alock_shm *sh = w->sh;
    if (w->o->outside_kill || w->o->kill_after <= 0 || sh->kill_done || atomic_load(&sh->accepted) < w->o->kill_after)
        return;
    for (int i = 0; i < w->active; i++) { /* nginx: accepted but not yet served */
        if (epoll_ctl(w->ep, EPOLL_CTL_DEL, w->conns[i], NULL) < 0)
            die("epoll_ctl DEL");
        serve(w, w->conns[i]);
    }
    w->active = 0;
    sh->kill_done = 1;
    sh->victim = w->pid;
    sh->accepted_at_kill = atomic_load(&sh->accepted);
    w->me->died_holding = 1;
    kill(w->pid, SIGKILL); /* delivered before kill() returns to us */
    die("kill(self, SIGKILL) returned");
}

/* ------------------------------------------------------------------ loops */

/* fcntl, ofd, pmutex: lock; accept (blocking); unlock; serve. */
static void blocking_loop(struct worker *w)
{
    for (;;) {
        long c0 = nvcsw();
        if (lock_acquire(w))
            return;
        long c1 = nvcsw();
        w->me->lock_csw += c1 - c0;
        maybe_die_holding(w);
        if (stopping(w)) {
            lock_release(w);
            return;
        }
        waiting(w, +1);
        atomic_store(&w->me->in_accept, 1);
        int fd = accept4(w->lfd, NULL, NULL, SOCK_CLOEXEC);
        int e = errno;
        atomic_store(&w->me->in_accept, 0);
        waiting(w, -1);
        long c2 = nvcsw();
        if (fd >= 0) {
            w->me->accept_csw += c2 - c1;
            w->me->accepted++;
            atomic_fetch_add(&w->sh->accepted, 1);
        }
        lock_release(w);
        if (fd < 0) {
            if (e == EINVAL)
                return; /* the parent shut the listener down */
            if (e == EINTR || e == ECONNABORTED)
                continue;
            errno = e;
            die("accept4");
        }
        serve(w, fd);
    }
}

static void ep_add(struct worker *w, int fd)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        die("epoll_ctl ADD %d", fd);
}

static void ep_del(struct worker *w, int fd)
{
    if (epoll_ctl(w->ep, EPOLL_CTL_DEL, fd, NULL) < 0)
        die("epoll_ctl DEL %d", fd);
}

/* none: lab 06's herd — everyone watches the listener, nobody coordinates. */
static void herd_loop(struct worker *w)
{
    ep_add(w, w->lfd);
    for (;;) {
        struct epoll_event ev[2];
        long c0 = nvcsw();
        waiting(w, +1);
        int n = epoll_wait(w->ep, ev, 2, 1000);
        waiting(w, -1);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        if (n <= 0)
            continue;
        for (int i = 0; i < n; i++)
            if (ev[i].data.fd == w->stopfd)
                return;
        int fd = accept4(w->lfd, NULL, NULL, SOCK_CLOEXEC);
        int e = errno;
        long c1 = nvcsw();
        if (fd < 0 && e == EINVAL)
            return;
        w->me->accept_csw += c1 - c0;
        if (fd < 0) {
            if (e == EAGAIN) {
                w->me->eagain++;
                w->me->empty_wakes++; /* woken for a connection another worker took */
                continue;
            }
            if (e == EINTR || e == ECONNABORTED)
                continue;
            errno = e;
            die("accept4");
        }
        w->me->accepted++;
        atomic_fetch_add(&w->sh->accepted, 1);
        serve(w, fd);
    }
}

/* nginx: accept while holding the mutex, until EAGAIN or the connection limit. */
static int drain_accept(struct worker *w)
{
    for (int first = 1; w->active < w->limit; first = 0) {
        int fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN) {
                w->me->eagain++;
                w->me->empty_wakes += first;
                return 0;
            }
            if (errno == EINVAL)
                return 1; /* shut down: we are stopping */
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            die("accept4");
        }
        ep_add(w, fd);
        w->conns[w->active++] = fd;
        if (w->active > w->me->max_active)
            w->me->max_active = w->active;
        w->me->accepted++;
        atomic_fetch_add(&w->sh->accepted, 1);
        /* nginx: ngx_accept_disabled = connection_n/8 - free_connection_n */
        w->accept_disabled = w->limit / 8 - (w->limit - w->active);
    }
    return 0;
}

static void nginx_serve_one(struct worker *w, int fd)
{
    for (int i = 0; i < w->active; i++) {
        if (w->conns[i] == fd) {
            w->conns[i] = w->conns[--w->active];
            ep_del(w, fd);
            serve(w, fd);
            return;
        }
    }
    die_msg("event for unknown fd %d", fd);
}

/* One loop of nginx's ngx_process_events_and_timers, reduced to its accept logic. */
static void nginx_loop(struct worker *w)
{
    int delay = w->o->delay_ms > 0 ? w->o->delay_ms : 20;
    for (;;) {
        int timeout = 1000;
        w->held = 0;
        if (w->accept_disabled > 0 || w->active >= w->limit) {
            /* Throttled (nginx's 7/8 rule) or full (the hard limit): do not compete;
             * the listener goes to someone else. Counted apart, so that a test can
             * tell the 7/8 rule from the limit. */
            if (w->accept_disabled > 0) {
                w->accept_disabled--;
                w->me->disabled_skips++;
            } else {
                w->me->limit_skips++;
            }
            if (w->listening)
                ep_del(w, w->lfd), w->listening = 0;
            timeout = delay;
        } else {
            /* pthread_mutex_trylock, not pmutex_timedlock(0): the probe must not mark
             * the futex as contended. The glibc caveat of pmutex.h (trylock on an
             * ENOTRECOVERABLE mutex) cannot arise: every EOWNERDEAD is made consistent. */
            int rc = pthread_mutex_trylock(&w->sh->mutex);
            if (rc == EOWNERDEAD) {
                owner_died(w);
                rc = 0;
            }
            if (rc == 0) {
                w->held = 1;
                became_holder(w);
                maybe_die_holding(w);
                if (!w->listening)
                    ep_add(w, w->lfd), w->listening = 1;
            } else if (rc == EBUSY) {
                if (w->listening)
                    ep_del(w, w->lfd), w->listening = 0;
                timeout = delay;
            } else {
                errno = rc;
                die("pthread_mutex_trylock");
            }
        }
        struct epoll_event ev[64];
        long c0 = nvcsw();
        if (w->listening)
            waiting(w, +1);
        int n = epoll_wait(w->ep, ev, 64, timeout);
        if (w->listening)
            waiting(w, -1);
        long c1 = nvcsw();
        if (n < 0) {
            if (errno != EINTR)
                die("epoll_wait");
            n = 0;
        }
        int listener = 0, stop = 0;
        for (int i = 0; i < n; i++) {
            listener |= ev[i].data.fd == w->lfd;
            stop |= ev[i].data.fd == w->stopfd;
        }
        if (listener)
            w->me->accept_csw += c1 - c0;
        else if (n == 0 && !w->held)
            w->me->lock_csw += c1 - c0; /* woke only to retry the mutex */
        if (listener && w->held && drain_accept(w))
            stop = 1;
        if (w->held) {
            lock_release(w);
            w->held = 0;
        }
        /* nginx's posted events: connections are served after the mutex is released. */
        for (int i = 0; i < n; i++) {
            int fd = ev[i].data.fd;
            if (fd != w->lfd && fd != w->stopfd)
                nginx_serve_one(w, fd);
        }
        if (stop || stopping(w))
            return;
    }
}

/* ------------------------------------------------------------------ entry */

/* nginx with idle connections (the throttle demo): every worker but slot 0 waits
 * (at most 10 s, or until the stop) until the idle connections have been accepted,
 * so worker 0 holds all of them and the split is known, not left to scheduling. */
static void wait_for_idle_taken(const struct worker *w, int slot)
{
    if (w->o->method != ALOCK_NGINX || w->o->idle <= 0 || slot == 0)
        return;
    struct timespec ms = {.tv_sec = 0, .tv_nsec = 1000000L};
    for (int i = 0; i < 10000 && !stopping(w); i++) {
        if (atomic_load(&w->sh->accepted) >= w->o->idle)
            return;
        if (nanosleep(&ms, NULL) < 0 && errno != EINTR)
            die("nanosleep");
    }
}

void alock_worker(const struct alock_wenv *env)
{
    /* If the parent dies, so do we: nothing is left behind by a killed test. */
    die_with_parent(env->parent);
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) < 0) /* the parent blocks SIGCHLD */
        die("sigprocmask");

    struct worker w = {.o = env->o, .sh = env->sh, .me = &env->sh->slot[env->slot],
                       .lfd = env->lfd, .lockfd = env->lockfd, .stopfd = env->stopfd,
                       .ep = -1, .pid = getpid()};
    w.limit = w.o->conn_limit > 0 ? w.o->conn_limit : 64;
    w.me->pid = w.pid;
    w.me->id = env->slot;
    if (w.o->method == ALOCK_OFD) {
        /* Our own open file description of the lock file: OFD locks taken through a
         * description shared with the other workers would be shared with them too. */
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", env->lockfd);
        int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
            die("open %s", path);
        close(env->lockfd);
        w.lockfd = fd;
    }
    if (w.o->method == ALOCK_NONE || w.o->method == ALOCK_NGINX) {
        w.ep = epoll_create1(EPOLL_CLOEXEC);
        if (w.ep < 0)
            die("epoll_create1");
        ep_add(&w, w.stopfd);
    }
    w.me->ready = 1;
    wait_for_idle_taken(&w, env->slot);
    switch (w.o->method) {
    case ALOCK_NONE: herd_loop(&w); break;
    case ALOCK_NGINX: nginx_loop(&w); break;
    default: blocking_loop(&w); break;
    }
    w.me->reported = 1;
    _exit(0);
}
