/* worker.c — a worker's whole life: one event loop (common/runtime/evloop.h) over its
 * connections (conn.c), its channel to the master, its signals and, depending on the
 * accept strategy, a listener:
 *   reuseport  its own SO_REUSEPORT listener, level-triggered EV_READ: the kernel
 *              already picked this worker when the connection arrived (hash of the
 *              4-tuple over the reuseport group), so there is nobody to race with.
 *   exclusive  the shared listener with EPOLLEXCLUSIVE: the kernel wakes one (or a
 *              few) of the waiting workers instead of all of them (epoll_ctl(2)).
 *   mutex      nginx's accept_mutex: before each wait, try the robust process-shared
 *              mutex; the holder has the listener in its epoll set, the others remove
 *              it and retry after FDH_MUTEX_DELAY_MS.
 *   passfd     no listener: connections arrive as CHANNEL_NEW_CONN messages.
 *
 * The exclusive listener is registered with evloop's EV_EXCLUSIVE interest flag
 * (EPOLLEXCLUSIVE at EPOLL_CTL_ADD; the kernel forbids changing it with MOD, so
 * listen_off deletes and listen_on adds). It must sit in the worker's OWN epoll
 * instance, the one the worker sleeps on: a nested epoll instance would NOT do — the
 * exclusive wake-up would land on the inner instance, which has no waiter of its own,
 * and the kernel would go on to wake the next exclusive waiter: the herd again.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "channel.h"
#include "err.h"
#include "fcache.h"
#include "pmutex.h"
#include "worker.h"

#define ACCEPT_BATCH 64 /* connections taken per listener wake-up, then serve */

static void listen_on(struct fdh_w *w);
static void listen_off(struct fdh_w *w);

/* Out of descriptors (EMFILE: this process; ENFILE: the system; ENOBUFS/ENOMEM): the
 * pending connection stays in the backlog and the level-triggered listener would wake
 * us again at once — a busy loop. So take the listener out of the epoll set for
 * FDH_EMFILE_PAUSE_MS (connections already open go on being served, and may free
 * descriptors meanwhile), log once per episode, then try again. */
static void accept_pause(struct fdh_w *w)
{
    if (!w->emfile_logged)
        warn_errno("worker %d: accept4: not accepting for %d ms (logged once until an accept succeeds)", w->slot,
                   FDH_EMFILE_PAUSE_MS);
    w->emfile_logged = 1;
    w->paused_emfile = 1;
    listen_off(w);
    if (evloop_timer_start(w->el, &w->accept_timer, FDH_EMFILE_PAUSE_MS, 0) < 0)
        die("worker %d: evloop_timer_start", w->slot);
}

static void on_accept_timer(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)el, (void)t;
    struct fdh_w *w = ud;
    w->paused_emfile = 0;
    if (w->cfg->accept != FDH_MUTEX) /* mutex: the next round takes the listener */
        listen_on(w);
}

void fdh_worker_clock(struct fdh_w *w)
{
    time_t now = time(NULL);
    if (now != w->now) {
        w->now = now;
        http_date_format(now, w->date);
    }
    fcache_tick(w->fc, evloop_now_ms(w->el)); /* the loop's time, taken after the wait */
}

void fdh_worker_conns_changed(struct fdh_w *w)
{
    int full = w->nconns >= w->cfg->max_conns;
    if (full && !w->paused_full) {
        w->paused_full = 1;
        listen_off(w); /* new connections wait in the backlog (or in other workers) */
    } else if (!full && w->paused_full) {
        w->paused_full = 0;
        if (w->cfg->accept != FDH_MUTEX)
            listen_on(w);
    }
}

/* Accept up to a batch, until EAGAIN. Level-triggered, so what is left wakes us again;
 * stopping early (a pause, the batch) loses nothing. Measured (make bench-server, the
 * close-13B case): one accept4 per wake-up costs more epoll_wait calls than the one
 * EAGAIN per wake-up this loop pays, so the loop stays. */
static void accept_some(struct fdh_w *w)
{
    for (int i = 0; i < ACCEPT_BATCH && !w->draining && w->listening; i++) {
        int fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                accept_pause(w);
            else if (errno != EAGAIN)
                warn_errno("worker %d: accept4", w->slot);
            return;
        }
        w->emfile_logged = 0;
        fdh_conn_open(w, fd);
    }
}

static void on_listener(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)el, (void)fd, (void)events;
    accept_some(ud);
}

/* Puts the listener in the epoll set, unless accepting is paused (--max-conns, EMFILE)
 * or there is none (passfd, drained). */
static void listen_on(struct fdh_w *w)
{
    if (w->listening || w->lfd < 0 || w->draining || w->stop || w->paused_full || w->paused_emfile)
        return; /* stop: leaving (closing the connections must not re-add it) */
    unsigned mask = w->cfg->accept == FDH_EXCLUSIVE ? EV_READ | EV_EXCLUSIVE : EV_READ;
    if (evloop_io_add(w->el, w->lfd, mask, on_listener, w) < 0)
        die("worker %d: evloop_io_add(listener)", w->slot);
    w->listening = 1;
}

static void listen_off(struct fdh_w *w)
{
    if (!w->listening)
        return;
    if (evloop_io_del(w->el, w->lfd) < 0)
        die("worker %d: evloop_io_del(listener)", w->slot);
    w->listening = 0;
}

static void mutex_release(struct fdh_w *w)
{
    if (!w->held)
        return;
    atomic_store(&w->sh->holder, 0);
    int rc = pmutex_unlock(&w->sh->accept_mutex);
    if (rc != 0)
        die("worker %d: pmutex_unlock", w->slot);
    w->held = 0;
}

/* nginx's ngx_trylock_accept_mutex: returns the epoll wait bound for this round. */
static int mutex_round(struct fdh_w *w)
{
    if (w->draining)
        return -1;
    if (w->paused_full || w->paused_emfile) {
        listen_off(w); /* not accepting now: leave the mutex to the others */
        return FDH_MUTEX_DELAY_MS;
    }
    /* pthread_mutex_trylock rather than pmutex_timedlock(0): a probe must not mark the
     * futex contended. The ENOTRECOVERABLE caveat of pmutex.h cannot arise: every
     * EOWNERDEAD below is made consistent. */
    int rc = pthread_mutex_trylock(&w->sh->accept_mutex);
    if (rc == EOWNERDEAD) {
        /* The previous holder died holding it (kill -9 while it waited with the
         * listener). The only state it protects is `holder`: repair, go on. */
        warn_msg("worker %d: accept mutex owner (pid %d) died; recovered", w->slot,
                 atomic_load(&w->sh->holder));
        if (pmutex_consistent(&w->sh->accept_mutex) != 0)
            die("worker %d: pmutex_consistent", w->slot);
        rc = 0;
    }
    if (rc == 0) {
        w->held = 1;
        atomic_store(&w->sh->holder, w->pid);
        listen_on(w);
        return FDH_MUTEX_HOLD_MS;
    }
    if (rc != EBUSY) {
        errno = rc;
        die("worker %d: pthread_mutex_trylock", w->slot);
    }
    listen_off(w);
    return FDH_MUTEX_DELAY_MS;
}

static void start_drain(struct fdh_w *w)
{
    if (w->draining)
        return;
    w->draining = 1;
    listen_off(w);
    mutex_release(w);
    if (w->lfd >= 0) {
        close(w->lfd); /* our reference: the socket closes with the last one (on a
                          reload or upgrade the master's stays: nothing closes) */
        w->lfd = -1;
    }
    fdh_conn_drain(w);
    if (!w->stop && evloop_timer_start(w->el, &w->drain_idle, FDH_DRAIN_IDLE_MS, 0) < 0)
        die("worker %d: evloop_timer_start", w->slot);
}

static void on_drain_idle(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)el, (void)t;
    fdh_conn_drain_idle(ud);
}

static void terminate(struct fdh_w *w)
{
    w->stop = 1;
}

static void on_channel(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)el, (void)events;
    struct fdh_w *w = ud;
    for (;;) {
        struct channel_msg m;
        int r = channel_recv(fd, &m);
        if (r < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return;
            warn_errno("worker %d: channel", w->slot); /* malformed: dropped, go on */
            continue;
        }
        if (r == 0) { /* the master is gone: nobody supervises us, stop now */
            terminate(w);
            return;
        }
        if ((m.command == CHANNEL_QUIT || m.command == CHANNEL_TERMINATE) && w->cfg->stubborn_slot == w->slot)
            continue; /* testing aid: a worker that does not listen to the master */
        switch (m.command) {
        case CHANNEL_NEW_CONN: fdh_conn_open(w, m.fd); break;
        case CHANNEL_QUIT: start_drain(w); break;
        case CHANNEL_TERMINATE: terminate(w); return;
        default: warn_msg("worker %d: unexpected %s", w->slot, channel_cmd_name(m.command)); break;
        }
    }
}

static void on_signal(struct evloop *el, int signo, void *ud)
{
    (void)el;
    struct fdh_w *w = ud;
    if (signo == SIGQUIT)
        start_drain(w);
    else
        terminate(w); /* SIGTERM, SIGINT: e.g. ^C reaches the whole process group */
}

void fdh_worker_run(const struct fdh_worker_env *env)
{
    struct fdh_w w = {.cfg = env->cfg, .site = env->site, .sh = env->sh, .me = env->me,
                      .slot = env->slot, .pid = getpid(), .lfd = env->lfd, .chan = env->chan,
                      .lim = {.max_line = FDH_MAX_LINE, .max_head = (size_t)env->cfg->max_header_bytes,
                              .max_headers = (size_t)env->cfg->max_headers},
                      .now = time(NULL)};
    http_date_format(w.now, w.date);
    ev_timer_init(&w.accept_timer, on_accept_timer, &w);
    snprintf(w.xworker, sizeof w.xworker, "X-Worker: %d\r\n", w.slot);
    ev_timer_init(&w.drain_idle, on_drain_idle, &w);
    if ((w.headers = calloc(w.lim.max_headers, sizeof *w.headers)) == NULL)
        die("worker %d: headers", w.slot);
    /* If the master dies without telling us (SIGKILL), the channel's end of file stops
     * us; PDEATHSIG is the safety net for a worker that is somehow not in its loop. */
    /* The master's pid was read before fork (env->master): had the master died in
     * between, getppid() already names another process, and the death signal set now
     * would never come. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        die("prctl");
    if (getppid() != env->master)
        _exit(1);
    /* The master blocked every signal it handles before fork(): none can be lost
     * between fork and here. Keep only ours blocked (they become signalfd events). */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGQUIT);
    /* SIGHUP and SIGUSR2 are the master's (reload, upgrade): a worker keeps them
     * blocked and never reads them, so one sent to the whole group does not kill it. */
    sigset_t blocked = sigs;
    sigaddset(&blocked, SIGHUP);
    sigaddset(&blocked, SIGUSR2);
    if (sigprocmask(SIG_SETMASK, &blocked, NULL) < 0)
        die("sigprocmask");
    if ((w.el = evloop_new()) == NULL)
        die("evloop_new");
    /* accept4 returns a connection only once its first bytes are there (the kernel
     * holds it until then, TCP_DEFER_ACCEPT in seconds): fdh_conn_open reads at once. */
    int defer_s = 1;
    if (w.lfd >= 0 && setsockopt(w.lfd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_s, sizeof defer_s) < 0)
        warn_errno("worker %d: TCP_DEFER_ACCEPT", w.slot);
    /* Each cached big file holds a descriptor: never let the cache take more than a
     * quarter of RLIMIT_NOFILE (with the common soft limit of 1024, FC_MAX_ENTRIES
     * cached files alone would leave no descriptor for accept4 or an open: every new
     * file a 503, the listener paused for EMFILE). */
    size_t fc_max = FC_MAX_ENTRIES;
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY && nofile.rlim_cur / 4 < fc_max)
        fc_max = nofile.rlim_cur / 4 > 0 ? (size_t)(nofile.rlim_cur / 4) : 1;
    if ((w.fc = fcache_new(fc_max)) == NULL)
        die("worker %d: fcache_new", w.slot);
    fcache_tick(w.fc, evloop_now_ms(w.el));
    if (evloop_signalfd(w.el, &sigs, on_signal, &w) < 0)
        die("evloop_signalfd");
    if (fcntl(w.chan, F_SETFL, O_NONBLOCK) < 0) /* on_channel reads until EAGAIN */
        die("fcntl");
    if (evloop_io_add(w.el, w.chan, EV_READ, on_channel, &w) < 0)
        die("evloop_io_add(channel)");
    /* The path was checked at start-up (config.c); failing now (it was removed...) must
     * not become a crash loop: warn, serve without a log. */
    if (w.cfg->access_log && (w.alog = alog_open(w.cfg->access_log, w.el)) == NULL)
        warn_errno("worker %d: access log %s (serving without it)", w.slot, w.cfg->access_log);
    switch (w.cfg->accept) {
    case FDH_REUSEPORT: case FDH_EXCLUSIVE: listen_on(&w); break;
    case FDH_MUTEX: /* per round */ break;
    case FDH_PASSFD: case FDH_NACCEPT: break;
    }
    struct channel_msg ready = {.command = CHANNEL_READY, .pid = w.pid, .slot = w.slot, .fd = -1};
    if (channel_send(w.chan, &ready) < 0)
        die("worker %d: channel_send(READY)", w.slot);
    if (w.cfg->crash_slot == w.slot)
        _exit(3); /* testing aid: a worker that dies as soon as it is up */

    while (!w.stop) {
        int wait_ms = w.cfg->accept == FDH_MUTEX ? mutex_round(&w) : -1;
        if (evloop_run_once(w.el, wait_ms) < 0)
            die("worker %d: evloop_run_once", w.slot);
        mutex_release(&w); /* nginx: accept under the mutex, serve after releasing it */
    }
    /* Leaving: TERMINATE, a signal, the master gone, or the drain finished. */
    listen_off(&w);
    mutex_release(&w);
    fdh_conn_close_all(&w);
    fcache_free(w.fc); /* after the connections: they dropped every reference */
    alog_close(w.alog); /* the last lines: drain, SIGTERM, TERMINATE all end here */
    evloop_free(w.el);
    if (w.lfd >= 0)
        close(w.lfd);
    close(w.chan);
    free(w.headers);
    exit(0);
}
