/* worker.c — a worker's whole life: one event loop (common/runtime/evloop.h) over its
 * connections (conn.h), its channel to the master, its signals and, when the accept
 * strategy gives it one, a listener (accept.h). Here is decided when the worker drains
 * (QUIT, SIGQUIT) and when it stops (TERMINATE, SIGTERM, the master gone, or the last
 * connection of a drain closed).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <grp.h>
#include <sys/resource.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "accept.h"
#include "channel.h"
#include "conn.h"
#include "err.h"
#include "pdeath.h"
#include "fcache.h"
#include "worker.h"

static void release(struct fdh_w *w)
{
    if (w->cfg->accept->worker_release)
        w->cfg->accept->worker_release(w);
}

/* Drain, step 1 (QUIT): stop accepting; nothing is closed yet. Every connection
 * answers its next response with "Connection: close" and closes after it; one that is
 * idle now may be a request away (the client cannot know we are leaving), so it gets
 * FDH_DRAIN_IDLE_MS to send one (on_drain_idle). */
static void start_drain(struct fdh_w *w)
{
    if (w->draining)
        return;
    w->draining = 1;
    fdh_listen_off(w);
    release(w);
    for (int a = 0; a < w->nlfd; a++)
        if (w->lfd[a] >= 0) {
            close(w->lfd[a]); /* our reference: the socket closes with the last one (on a
                                 reload or upgrade the master's stays: nothing closes) */
            w->lfd[a] = -1;
        }
    for (struct fdh_conn *c = w->conns; c; c = c->next)
        c->close_after = 1;
    if (w->nconns == 0)
        w->stop = 1;
    if (!w->stop && evloop_timer_start(w->el, &w->drain_idle, FDH_DRAIN_IDLE_MS, 0) < 0)
        die("worker %d: evloop_timer_start", w->slot);
}

/* Drain, step 2: what is STILL idle has been idle since before the switch: half-close
 * it (conn_end.c says why not close). */
static void on_drain_idle(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)el, (void)t;
    struct fdh_w *w = ud;
    for (struct fdh_conn *c = w->conns, *next; c; c = next) {
        next = c->next;
        if (!c->lingering && fdh_conn_is_idle(c))
            fdh_conn_half_close(c);
    }
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
            w->stop = 1;
            return;
        }
        if ((m.command == CHANNEL_QUIT || m.command == CHANNEL_TERMINATE) && w->cfg->stubborn_slot == w->slot)
            continue; /* testing aid: a worker that does not listen to the master */
        switch (m.command) {
        case CHANNEL_NEW_CONN: fdh_conn_open(w, m.fd, 0); break;
        case CHANNEL_QUIT: start_drain(w); break;
        case CHANNEL_TERMINATE: w->stop = 1; return;
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
    else if (signo == SIGUSR1) { /* the master forwards it: reopen the access log */
        if (w->alog && alog_reopen(w->alog, w->cfg->access_log) < 0)
            warn_errno("worker %d: reopening the access log %s (going on in the old file)", w->slot,
                       w->cfg->access_log);
    } else
        w->stop = 1; /* SIGTERM, SIGINT: e.g. ^C reaches the whole process group */
}

/* The master's pid was read before fork (env->master): had the master died in between,
 * getppid() already names another process, and the death signal set now would never
 * come. If the master dies without telling us (SIGKILL), the channel's end of file
 * stops us; PDEATHSIG is the safety net for a worker that is somehow not in its loop.
 * The master blocked every signal it handles before fork(): none can be lost between
 * fork and here. Ours become signalfd events; SIGHUP and SIGUSR2 are the master's
 * (reload, upgrade): a worker keeps them blocked and never reads them, so one sent to
 * the whole group does not kill it. */
static void signals(pid_t master, sigset_t *sigs)
{
    die_with_parent(master);
    sigemptyset(sigs);
    sigaddset(sigs, SIGTERM);
    sigaddset(sigs, SIGINT);
    sigaddset(sigs, SIGQUIT);
    sigaddset(sigs, SIGUSR1); /* reopen the access log (master.c forwards it) */
    sigset_t blocked = *sigs;
    sigaddset(&blocked, SIGHUP);
    sigaddset(&blocked, SIGUSR2);
    if (sigprocmask(SIG_SETMASK, &blocked, NULL) < 0)
        die("sigprocmask");
}

/* Each cached big file holds a descriptor: the cache never takes more than a quarter
 * of RLIMIT_NOFILE (with the common soft limit of 1024, FC_MAX_ENTRIES cached files
 * alone would leave no descriptor for accept4 or an open: every new file a 503, the
 * listener paused for EMFILE). */
static void open_cache(struct fdh_w *w)
{
    size_t fc_max = FC_MAX_ENTRIES;
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY && nofile.rlim_cur / 4 < fc_max)
        fc_max = nofile.rlim_cur / 4 > 0 ? (size_t)(nofile.rlim_cur / 4) : 1;
    if ((w->fc = fcache_new(fc_max)) == NULL)
        die("worker %d: fcache_new", w->slot);
    fcache_tick(w->fc, evloop_now_ms(w->el));
}

/* --user (config.h): everything a worker opens with root's rights is open now — the
 * listeners and the docroot (the master's), the channel, the access log, what the
 * accept strategy set up — so give root up before the first request is read: supplementary groups, gid, then uid (the
 * order matters: without root, setgid would fail). A worker that cannot drop dies
 * rather than serve as root. A change of credentials clears the parent-death signal
 * (prctl(2)): set it again. */
static void drop_privileges(struct fdh_w *w, pid_t master)
{
    const struct fdh_config *cfg = w->cfg;
    if (!cfg->drop)
        return;
    if (setgroups(1, &cfg->gid) < 0 || setgid(cfg->gid) < 0 || setuid(cfg->uid) < 0)
        die("worker %d: switch to user %s", w->slot, cfg->user_name);
    if (geteuid() != cfg->uid || getegid() != cfg->gid)
        die_msg("worker %d: still uid %d gid %d after the switch", w->slot, (int)geteuid(), (int)getegid());
    die_with_parent(master);
}

static void start(struct fdh_w *w, pid_t master)
{
    http_date_format(w->now, w->date);
    fdh_accept_init(w);
    snprintf(w->xworker, sizeof w->xworker, "X-Worker: %d\r\n", w->slot);
    ev_timer_init(&w->drain_idle, on_drain_idle, w);
    if ((w->headers = calloc(w->lim.max_headers, sizeof *w->headers)) == NULL)
        die("worker %d: headers", w->slot);
    sigset_t sigs;
    signals(master, &sigs); /* sigs: the worker's own, read from its signalfd */
    if ((w->el = evloop_new()) == NULL)
        die("evloop_new");
    if (evloop_signalfd(w->el, &sigs, on_signal, w) < 0)
        die("evloop_signalfd");
    open_cache(w);
    /* accept4 hands over a connection only once its first bytes are there (the kernel
     * holds it until then; TCP_DEFER_ACCEPT, in seconds): fdh_conn_open reads at once. */
    int defer_s = 1;
    for (int a = 0; a < w->nlfd; a++)
        if (w->lfd[a] >= 0 && setsockopt(w->lfd[a], IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_s, sizeof defer_s) < 0)
            warn_errno("worker %d: TCP_DEFER_ACCEPT", w->slot);
    if (fcntl(w->chan, F_SETFL, O_NONBLOCK) < 0) /* on_channel reads until EAGAIN */
        die("fcntl");
    if (evloop_io_add(w->el, w->chan, EV_READ, on_channel, w) < 0)
        die("evloop_io_add(channel)");
    /* The path was checked at start-up (config.c); failing now (it was removed...) must
     * not become a crash loop: warn, serve without a log. */
    if (w->cfg->access_log && (w->alog = alog_open(w->cfg->access_log, w->el)) == NULL)
        warn_errno("worker %d: access log %s (serving without it)", w->slot, w->cfg->access_log);
    if (w->sh->naddr > 1) /* several addresses: each line names the one it came in on */
        alog_name_local(w->alog);
    if (w->cfg->accept->worker_start)
        w->cfg->accept->worker_start(w);
    drop_privileges(w, master); /* before READY: no request is read as root */
    struct channel_msg ready = {.command = CHANNEL_READY, .pid = w->pid, .slot = w->slot, .fd = -1};
    if (channel_send(w->chan, &ready) < 0)
        die("worker %d: channel_send(READY)", w->slot);
    if (w->cfg->crash_slot == w->slot)
        _exit(3); /* testing aid: a worker that dies as soon as it is up */
}

void fdh_worker_run(const struct fdh_worker_env *env)
{
    struct fdh_w w = {.cfg = env->cfg, .site = env->site, .sh = env->sh, .me = env->me,
                      .slot = env->slot, .pid = getpid(), .nlfd = env->nlfd, .chan = env->chan,
                      .accept_state = env->accept_state,
                      .lim = {.max_line = FDH_MAX_LINE, .max_head = (size_t)env->cfg->max_header_bytes,
                              .max_headers = (size_t)env->cfg->max_headers},
                      .now = time(NULL)};
    memcpy(w.lfd, env->lfd, sizeof w.lfd);
    start(&w, env->master);
    const struct fdh_accept_ops *acc = w.cfg->accept;
    while (!w.stop) {
        int wait_ms = acc->worker_round ? acc->worker_round(&w) : -1;
        if (evloop_run_once(w.el, wait_ms) < 0)
            die("worker %d: evloop_run_once", w.slot);
        release(&w); /* accept=mutex: accept under the mutex, serve after releasing it */
        if (w.draining && w.nconns == 0)
            w.stop = 1; /* the last in-flight request is done */
        fdh_accept_conns_changed(&w); /* below --max-conns again: accept again */
    }
    /* Leaving: TERMINATE, a signal, the master gone, or the drain finished. */
    fdh_listen_off(&w);
    release(&w);
    fdh_conn_close_all(&w);
    fcache_free(w.fc); /* after the connections: they dropped every reference */
    alog_close(w.alog); /* the last lines: drain, SIGTERM, TERMINATE all end here */
    evloop_free(w.el);
    for (int a = 0; a < w.nlfd; a++)
        if (w.lfd[a] >= 0)
            close(w.lfd[a]);
    close(w.chan);
    free(w.headers);
    exit(0);
}
