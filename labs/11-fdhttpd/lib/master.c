/* master.c — the master process: open the listener(s), fork the workers, supervise.
 *
 * Everything the master reacts to is an event in ONE evloop: a signalfd for SIGCHLD,
 * SIGTERM, SIGINT, SIGQUIT (blocked before the first fork, so a worker inherits them
 * blocked and cannot lose one before its own signalfd exists), the master's end of each
 * worker's channel, timers (respawn back-off, shutdown deadline) and, for passfd, the
 * listener. fork() is never called from inside a callback: callbacks only mark a slot
 * "due", and the loop below spawns between iterations, so the child can free the
 * master's loop (evloop_free must not run inside one of its callbacks).
 *
 * Modes: RUNNING -> (SIGQUIT) QUITTING -> exit when no worker is left
 *        RUNNING or QUITTING -> (SIGTERM/SIGINT) TERMINATING -> exit when none is left
 * A worker that exits while RUNNING was not asked to: it is respawned in its slot.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "channel.h"
#include "err.h"
#include "evloop.h"
#include "fdhttpd.h"
#include "kv.h"
#include "sock.h"
#include "static.h"

#define BACKLOG 1024

enum mode { RUNNING, QUITTING, TERMINATING };

struct wslot {
    pid_t pid;          /* 0 while the slot is empty */
    int chan;           /* master's end, -1 when closed */
    int ready;
    int due;            /* spawn between iterations */
    uint64_t started_ms;
    long backoff_ms;    /* delay used for the last respawn, 0 = none */
    struct ev_timer respawn;
    struct master *m;
};

struct master {
    const struct fdh_config *cfg;
    struct site site;   /* the docroot, opened once; workers inherit root_fd */
    struct fdh_shared *sh;
    struct evloop *el;
    int lfd[FDH_MAX_WORKERS];
    int nlfd;
    enum mode mode;
    int nalive;
    int announced;      /* ready=1 printed */
    int rr;             /* passfd: next slot to try */
    long passed, pass_failed;
    struct ev_timer deadline;
    struct wslot w[FDH_MAX_WORKERS];
};

static void on_channel(struct evloop *el, int fd, unsigned events, void *ud);

static void close_listeners(struct master *m)
{
    for (int i = 0; i < m->nlfd; i++) {
        if (m->lfd[i] < 0)
            continue;
        if (evloop_io_mask(m->el, m->lfd[i]))
            evloop_io_del(m->el, m->lfd[i]);
        close(m->lfd[i]);
        m->lfd[i] = -1;
    }
}

static void spawn(struct master *m, int slot)
{
    struct wslot *s = &m->w[slot];
    int sv[2];
    if (channel_pair(sv) < 0)
        die("socketpair");
    fflush(NULL); /* a child's exit() must not flush the master's buffers again */
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        /* The child keeps only what its worker needs: its channel end and its listener. */
        close(sv[0]);
        for (int i = 0; i < m->cfg->workers; i++)
            if (m->w[i].chan >= 0)
                close(m->w[i].chan);
        int lfd = -1;
        for (int i = 0; i < m->nlfd; i++) {
            int mine = m->cfg->accept == FDH_REUSEPORT ? i == slot : m->cfg->accept != FDH_PASSFD;
            if (mine)
                lfd = m->lfd[i];
            else if (m->lfd[i] >= 0)
                close(m->lfd[i]);
        }
        evloop_free(m->el); /* closes the master's epoll and signalfd in this process */
        struct fdh_worker_env env = {.cfg = m->cfg, .site = &m->site, .sh = m->sh, .slot = slot, .lfd = lfd, .chan = sv[1]};
        fdh_worker_run(&env);
    }
    close(sv[1]);
    if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) /* the master never blocks on a worker */
        die("fcntl");
    *s = (struct wslot){.pid = pid, .chan = sv[0], .started_ms = evloop_now_ms(m->el),
                        .backoff_ms = s->backoff_ms, .respawn = s->respawn, .m = m};
    if (evloop_io_add(m->el, s->chan, EV_READ, on_channel, s) < 0)
        die("evloop_io_add(channel)");
    atomic_store(&m->sh->slot[slot].pid, pid);
    atomic_fetch_add(&m->sh->slot[slot].starts, 1);
    m->nalive++;
}

static void all_ready_check(struct master *m)
{
    if (m->announced || m->mode != RUNNING)
        return;
    for (int i = 0; i < m->cfg->workers; i++)
        if (!m->w[i].ready)
            return;
    m->announced = 1;
    kv_print("ready", "1");
}

/* Reads every queued message of slot s's channel; closes it at end of file. */
static void read_channel(struct master *m, struct wslot *s)
{
    while (s->chan >= 0) {
        struct channel_msg msg;
        int r = channel_recv(s->chan, &msg);
        if (r < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return;
            warn_errno("master: channel of slot %d", (int)(s - m->w));
            continue;
        }
        if (r == 0) { /* the worker is gone; SIGCHLD tells why */
            evloop_io_del(m->el, s->chan);
            close(s->chan);
            s->chan = -1;
            return;
        }
        if (msg.command == CHANNEL_READY && msg.pid == s->pid) {
            s->ready = 1;
            all_ready_check(m);
        } else {
            warn_msg("master: unexpected %s from slot %d", channel_cmd_name(msg.command), msg.slot);
        }
    }
}

static void on_channel(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)el, (void)fd, (void)events;
    struct wslot *s = ud;
    read_channel(s->m, s);
}

static void on_respawn_timer(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)el, (void)t;
    struct wslot *s = ud;
    if (s->m->mode == RUNNING)
        s->due = 1;
}

static void describe(int status, char *buf, size_t n)
{
    if (WIFSIGNALED(status))
        snprintf(buf, n, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(buf, n, "exited with status %d", WEXITSTATUS(status));
}

static void reap(struct master *m)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) {
            if (pid < 0 && errno != ECHILD && errno != EINTR)
                die("waitpid");
            return;
        }
        int slot = -1;
        for (int i = 0; i < m->cfg->workers; i++)
            if (m->w[i].pid == pid)
                slot = i;
        if (slot < 0)
            continue; /* not ours (cannot happen: the master forks nothing else) */
        struct wslot *s = &m->w[slot];
        read_channel(m, s); /* a READY sent just before dying still counts */
        if (s->chan >= 0) {
            evloop_io_del(m->el, s->chan);
            close(s->chan);
            s->chan = -1;
        }
        s->pid = 0;
        s->ready = 0;
        m->nalive--;
        atomic_store(&m->sh->slot[slot].pid, 0);
        /* Its connections died with it; the counters of completed work stay. */
        atomic_store(&m->sh->slot[slot].active, 0);
        if (m->mode != RUNNING)
            continue;
        uint64_t lived = evloop_now_ms(m->el) - s->started_ms;
        if (lived < FDH_CRASH_WINDOW_MS)
            s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : FDH_BACKOFF_MIN_MS;
        else
            s->backoff_ms = 0;
        if (s->backoff_ms > FDH_BACKOFF_MAX_MS)
            s->backoff_ms = FDH_BACKOFF_MAX_MS;
        char why[96];
        describe(status, why, sizeof why);
        warn_msg("master: worker %d (pid %d) %s after %llu ms; respawning in %ld ms", slot, (int)pid,
                 why, (unsigned long long)lived, s->backoff_ms);
        if (s->backoff_ms == 0)
            s->due = 1;
        else if (evloop_timer_start(m->el, &s->respawn, s->backoff_ms, 0) < 0)
            die("evloop_timer_start");
    }
}

static void tell_all(struct master *m, int command)
{
    for (int i = 0; i < m->cfg->workers; i++) {
        struct wslot *s = &m->w[i];
        evloop_timer_stop(m->el, &s->respawn);
        s->due = 0;
        if (s->pid == 0 || s->chan < 0)
            continue;
        struct channel_msg msg = {.command = command, .pid = getpid(), .slot = i, .fd = -1};
        /* A worker that cannot be told (dead, channel full) is still bounded by the
         * deadline's SIGKILL. */
        if (channel_send(s->chan, &msg) < 0 && errno != EPIPE && errno != ECONNRESET)
            warn_errno("master: tell slot %d %s", i, channel_cmd_name(command));
    }
}

static void on_deadline(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)el, (void)t;
    struct master *m = ud;
    for (int i = 0; i < m->cfg->workers; i++) {
        if (m->w[i].pid > 0) {
            warn_msg("master: worker %d (pid %d) did not stop in time: SIGKILL", i, (int)m->w[i].pid);
            if (kill(m->w[i].pid, SIGKILL) < 0 && errno != ESRCH)
                warn_errno("kill");
        }
    }
}

static void shut_down(struct master *m, enum mode mode)
{
    if (m->mode == TERMINATING || m->mode == mode)
        return;
    m->mode = mode;
    close_listeners(m); /* the workers keep their own references while they need them */
    tell_all(m, mode == QUITTING ? CHANNEL_QUIT : CHANNEL_TERMINATE);
    if (evloop_timer_start(m->el, &m->deadline, mode == QUITTING ? FDH_DRAIN_MAX_MS : FDH_TERM_GRACE_MS,
                           0) < 0)
        die("evloop_timer_start");
}

static void on_signal(struct evloop *el, int signo, void *ud)
{
    (void)el;
    struct master *m = ud;
    switch (signo) {
    case SIGCHLD: reap(m); break;
    case SIGQUIT: shut_down(m, QUITTING); break;
    default: shut_down(m, TERMINATING); break; /* SIGTERM, SIGINT */
    }
}

/* passfd: accept, then hand over round-robin to a ready worker. */
static void on_listener(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)el, (void)events;
    struct master *m = ud;
    for (int k = 0; k < 64; k++) {
        int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN)
                warn_errno("master: accept4");
            return;
        }
        int sent = 0;
        for (int tries = 0; tries < m->cfg->workers && !sent; tries++) {
            struct wslot *s = &m->w[m->rr];
            int slot = m->rr;
            m->rr = (m->rr + 1) % m->cfg->workers;
            if (!s->ready || s->chan < 0)
                continue;
            struct channel_msg msg = {.command = CHANNEL_NEW_CONN, .pid = getpid(), .slot = slot, .fd = c};
            sent = channel_send(s->chan, &msg) == 0; /* EPIPE: died meanwhile; EAGAIN: full */
        }
        close(c); /* passed: the worker holds it now; not passed: the client sees EOF */
        if (sent)
            m->passed++;
        else
            m->pass_failed++;
    }
}

static int open_listeners(struct master *m, uint16_t *port)
{
    int n = m->cfg->accept == FDH_REUSEPORT ? m->cfg->workers : 1;
    int flags = SOCK_NONBLOCK | SOCK_CLOEXEC | (m->cfg->accept == FDH_REUSEPORT ? SOCK_REUSEPORT : 0);
    *port = m->cfg->port;
    for (int i = 0; i < n; i++) {
        /* Port 0: the first bind picks the port, the others join its reuseport group. */
        int fd = tcp_listen(m->cfg->ip, *port, BACKLOG, flags, port);
        if (fd < 0) {
            warn_errno("listen on %s:%u", m->cfg->ip, *port);
            return -1;
        }
        m->lfd[m->nlfd++] = fd;
    }
    return 0;
}

int fdh_master_run(const struct fdh_config *cfg)
{
    struct master m = {.cfg = cfg, .mode = RUNNING};
    for (int i = 0; i < FDH_MAX_WORKERS; i++) {
        m.w[i].chan = -1;
        m.w[i].m = &m;
        ev_timer_init(&m.w[i].respawn, on_respawn_timer, &m.w[i]);
    }
    ev_timer_init(&m.deadline, on_deadline, &m);
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) /* belt and braces: every send is MSG_NOSIGNAL */
        die("signal");
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGCHLD);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGQUIT);
    if (sigprocmask(SIG_BLOCK, &sigs, NULL) < 0) /* before any fork: see the top */
        die("sigprocmask");
    m.site.root_fd = -1;
    if (cfg->root && site_open(&m.site, cfg->root, 0) < 0) {
        warn_errno("--root %s", cfg->root);
        return 1;
    }
    uint16_t port;
    if (open_listeners(&m, &port) < 0) {
        site_close(&m.site);
        close_listeners(&m);
        return 1;
    }
    if ((m.sh = fdh_shared_new()) == NULL)
        die("shared memory");
    if ((m.el = evloop_new()) == NULL)
        die("evloop_new");
    if (evloop_signalfd(m.el, &sigs, on_signal, &m) < 0)
        die("evloop_signalfd");
    if (cfg->accept == FDH_PASSFD && evloop_io_add(m.el, m.lfd[0], EV_READ, on_listener, &m) < 0)
        die("evloop_io_add(listener)");
    kv_print("listening", "%s:%u", cfg->ip, port);
    kv_print("accept", "%s", fdh_accept_name(cfg->accept));
    kv_print("workers", "%d", cfg->workers);
    kv_print("root", "%s", cfg->root ? cfg->root : "(none)");
    kv_print("access_log", "%s", cfg->access_log ? cfg->access_log : "off");
    kv_print("master_pid", "%d", (int)getpid());
    for (int i = 0; i < cfg->workers; i++)
        spawn(&m, i);
    while (m.mode == RUNNING || m.nalive > 0) {
        if (evloop_run_once(m.el, -1) < 0)
            die("evloop_run_once");
        for (int i = 0; i < cfg->workers && m.mode == RUNNING; i++) {
            if (m.w[i].due) {
                m.w[i].due = 0;
                spawn(&m, i);
            }
        }
    }
    evloop_timer_stop(m.el, &m.deadline);
    close_listeners(&m);
    evloop_free(m.el);
    fdh_shared_free(m.sh);
    if (m.site.root_fd >= 0)
        site_close(&m.site);
    if (cfg->accept == FDH_PASSFD)
        kv_print("passed", "%ld", m.passed), kv_print("pass_failed", "%ld", m.pass_failed);
    kv_print("stopped", "1");
    return 0;
}
