/* master.c — the master process: open the listener(s), fork the workers, supervise,
 * and (lab 12) reload and upgrade without closing a listening socket.
 *
 * Everything the master reacts to is an event in ONE evloop: a signalfd for SIGCHLD,
 * SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR2 (blocked before the first fork, so a worker
 * inherits them blocked and cannot lose one before its own signalfd exists), the
 * master's end of each worker's channel, timers (respawn back-off, deadlines), the
 * upgrade socket and, for passfd, the listener. fork() is never called from inside a
 * callback: callbacks only mark a slot "due", and the loop below spawns between
 * iterations, so the child can free the master's loop (evloop_free must not run
 * inside one of its callbacks).
 *
 * Modes: RUNNING -> (SIGQUIT, or an upgrade handed over) QUITTING -> exit when no
 *        worker is left; RUNNING or QUITTING -> (SIGTERM/SIGINT) TERMINATING.
 * A worker that exits while RUNNING was not asked to: it is respawned in its slot.
 *
 * GENERATIONS (reload, SIGHUP). The workers started with one configuration are a
 * generation (struct gen). The listening sockets are NOT part of it: the master opens
 * them once and holds them for its whole life, and every generation's workers get the
 * same descriptors. A reload parses the options again into a new config, starts a
 * `next` generation beside `cur`, and waits for a READY on each new channel (no
 * sleep). Then it switches: cur becomes `old` and gets QUIT (stop accepting, answer
 * in-flight requests with Connection: close, half-close the idle, exit — bounded by
 * --drain-timeout, then SIGKILL), next becomes cur. When the last old worker is gone
 * the master prints reload=done generation=N. At most two generations are alive and
 * they are consecutive (cur+next, or cur+old): the statistics banks depend on it
 * (fdhttpd.h). A SIGHUP while one is in progress is queued (reload=queued) and runs
 * when it is done. A next generation that is not ready within FDH_READY_MAX_MS is
 * terminated and the reload fails; cur was never touched.
 *
 * UPGRADE (SIGUSR2, handover.h has the protocol). The new master is our child; after
 * the hand-over we drain like a SIGQUIT and exit, and it is reparented.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "channel.h"
#include "clock.h"
#include "err.h"
#include "evloop.h"
#include "fdhttpd.h"
#include "handover.h"
#include "kv.h"
#include "sdnotify.h"
#include "sock.h"
#include "static.h"
#include "unixsock.h"
#include "uppicture.h"

#define BACKLOG 1024
#define UP_CONNECT_MS 5000 /* new master: the old one must answer within this */

enum mode { RUNNING, QUITTING, TERMINATING };

struct gen;
struct master;

struct wslot {
    pid_t pid;          /* 0 while the slot is empty */
    int chan;           /* master's end, -1 when closed */
    int ready;
    int due;            /* spawn between iterations */
    uint64_t started_ms;
    long backoff_ms;    /* delay used for the last respawn, 0 = none */
    struct ev_timer respawn;
    struct gen *g;
};

struct gen {
    long id;                  /* generation number; its workers write bank id % 2 */
    struct fdh_config *cfg;   /* owned */
    struct site site;         /* the docroot of this generation, opened by the master */
    int stopping;             /* told QUIT or TERMINATE: never respawned */
    int aborted;              /* a next generation that failed to come up */
    int nalive;
    struct master *m;
    struct wslot w[FDH_MAX_WORKERS];
};

/* The old master's side of an upgrade in progress. */
enum upstate { UP_NONE, UP_WAIT_CONNECT, UP_WAIT_READY, UP_HANDED_OVER };

struct master {
    struct gen *cur, *next, *old;
    struct fdh_shared *sh;
    int shfd;           /* the statistics memfd (handed over on upgrade) */
    struct evloop *el;
    int lfd[FDH_MAX_WORKERS];
    int nlfd;
    char ip[16];        /* the address actually served (socket activation: what the
                           sockets are bound to, whatever --listen says) */
    uint16_t port;      /* bound */
    enum mode mode;
    int announced;      /* ready=1 printed */
    int reload_queued;
    int rr;             /* passfd: next slot to try */
    long passed, pass_failed;
    struct ev_timer deadline;      /* shutdown: SIGKILL whoever is left */
    struct ev_timer old_deadline;  /* reload: SIGKILL old workers still draining */
    struct ev_timer next_deadline; /* reload: the next generation must be ready by then */
    char exe[PATH_MAX]; /* our binary, resolved at start: exec'd again on SIGUSR2 */
    /* upgrade, old side */
    enum upstate up;
    pid_t up_pid;       /* the new master (our child) until reaped */
    int up_lfd, up_conn;
    int up_seq;
    struct ev_timer up_deadline;
    struct ev_timer accept_pause;  /* passfd: out of descriptors, listener rests (on_listener) */
    int emfile_logged;             /* passfd: warned once for this episode */
    /* upgrade, new side: the connection to the old master until it exits */
    int from_conn;
    int from_ready_sent;
};

static void on_channel(struct evloop *el, int fd, unsigned events, void *ud);
static void on_respawn_timer(struct evloop *el, struct ev_timer *t, void *ud);
static void start_reload(struct master *m);
static void on_listener(struct evloop *el, int fd, unsigned events, void *ud);

/* systemd's notification socket, when there is one (sdnotify.h). */
static void notify(const char *what)
{
    char msg[128];
    if (strcmp(what, "READY") == 0)
        snprintf(msg, sizeof msg, "READY=1\nMAINPID=%d", (int)getpid());
    else if (strcmp(what, "RELOADING") == 0) /* Type=notify-reload wants the timestamp */
        snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
                 (unsigned long long)sd_notify_monotonic_usec());
    else
        snprintf(msg, sizeof msg, "%s=1", what);
    if (sd_notify_send(msg) < 0)
        warn_errno("master: NOTIFY_SOCKET");
}

static void close_listeners(struct master *m)
{
    for (int i = 0; i < m->nlfd; i++) {
        if (m->lfd[i] < 0)
            continue;
        if (m->el && evloop_io_mask(m->el, m->lfd[i]))
            evloop_io_del(m->el, m->lfd[i]);
        close(m->lfd[i]);
        m->lfd[i] = -1;
    }
}

static struct gen *gen_new(struct master *m, struct fdh_config *cfg, long id, char *err, size_t errlen)
{
    struct gen *g = calloc(1, sizeof *g);
    if (g == NULL)
        return snprintf(err, errlen, "out of memory"), NULL;
    g->id = id;
    g->cfg = cfg;
    g->m = m;
    g->site.root_fd = -1;
    if (cfg->root && site_open(&g->site, cfg->root, 0) < 0) {
        snprintf(err, errlen, "--root %s: %s", cfg->root, strerror(errno));
        free(g);
        return NULL;
    }
    for (int i = 0; i < FDH_MAX_WORKERS; i++) {
        g->w[i].chan = -1;
        g->w[i].g = g;
        ev_timer_init(&g->w[i].respawn, on_respawn_timer, &g->w[i]);
    }
    return g;
}

static void gen_free(struct master *m, struct gen *g)
{
    if (g == NULL)
        return;
    for (int i = 0; i < g->cfg->workers; i++)
        evloop_timer_stop(m->el, &g->w[i].respawn);
    if (g->site.root_fd >= 0)
        site_close(&g->site);
    free(g->cfg);
    free(g);
}

/* In the fork child: close everything of the master's that a worker must not hold. */
static void child_close(struct master *m, struct gen *mine, int slot)
{
    struct gen *gens[3] = {m->cur, m->next, m->old};
    for (int k = 0; k < 3; k++) {
        struct gen *g = gens[k];
        if (g == NULL)
            continue;
        for (int i = 0; i < g->cfg->workers; i++)
            if (g->w[i].chan >= 0)
                close(g->w[i].chan);
        if (g != mine && g->site.root_fd >= 0)
            site_close(&g->site);
    }
    close(m->shfd); /* the mapping stays; the descriptor is only for a hand-over */
    if (m->up_lfd >= 0)
        close(m->up_lfd);
    if (m->up_conn >= 0)
        close(m->up_conn);
    if (m->from_conn >= 0)
        close(m->from_conn);
    (void)slot;
}

/* Starts the worker of slot `slot` of g. Returns 0, or -1 with errno when the
 * channel or the process could not be made (EMFILE, EAGAIN, ENOMEM): nothing is left
 * open, and the caller decides (spawn_failed) — a serving master must not die
 * because it could not add a worker. */
static int spawn(struct master *m, struct gen *g, int slot)
{
    struct wslot *s = &g->w[slot];
    int sv[2];
    if (channel_pair(sv) < 0)
        return -1;
    fflush(NULL); /* a child's exit() must not flush the master's buffers again */
    pid_t master_pid = getpid(); /* read before fork: the child compares getppid() with it */
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        /* The child keeps only what its worker needs: its channel end and its listener. */
        close(sv[0]);
        child_close(m, g, slot);
        int lfd = -1;
        for (int i = 0; i < m->nlfd; i++) {
            int mine = g->cfg->accept == FDH_REUSEPORT ? i == slot : g->cfg->accept != FDH_PASSFD;
            if (mine)
                lfd = m->lfd[i];
            else if (m->lfd[i] >= 0)
                close(m->lfd[i]);
        }
        evloop_free(m->el); /* closes the master's epoll and signalfd in this process */
        struct fdh_worker_env env = {.cfg = g->cfg, .site = &g->site, .sh = m->sh,
                                     .me = &m->sh->slot[g->id % FDH_BANKS][slot], .slot = slot, .lfd = lfd,
                                     .chan = sv[1], .master = master_pid};
        fdh_worker_run(&env);
    }
    close(sv[1]);
    if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) /* the master never blocks on a worker */
        die("fcntl");
    s->pid = pid;
    s->chan = sv[0];
    s->ready = 0;
    s->started_ms = evloop_now_ms(m->el);
    if (evloop_io_add(m->el, s->chan, EV_READ, on_channel, s) < 0)
        die("evloop_io_add(channel)");
    atomic_store(&m->sh->slot[g->id % FDH_BANKS][slot].pid, pid);
    atomic_fetch_add(&m->sh->slot[g->id % FDH_BANKS][slot].starts, 1);
    g->nalive++;
    return 0;
}

static int gen_all_ready(const struct gen *g)
{
    for (int i = 0; i < g->cfg->workers; i++)
        if (!g->w[i].ready)
            return 0;
    return 1;
}

static void tell_gen(struct master *m, struct gen *g, int command)
{
    if (g == NULL)
        return;
    for (int i = 0; i < g->cfg->workers; i++) {
        struct wslot *s = &g->w[i];
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

static void kill_gen(struct gen *g, const char *why)
{
    if (g == NULL)
        return;
    for (int i = 0; i < g->cfg->workers; i++) {
        if (g->w[i].pid > 0) {
            warn_msg("master: worker %d (pid %d, generation %ld) %s: SIGKILL", i, (int)g->w[i].pid, g->id, why);
            if (kill(g->w[i].pid, SIGKILL) < 0 && errno != ESRCH)
                warn_errno("kill");
        }
    }
}

/* ---------------------------------------------------------------- upgrade, new side */

/* The new master tells the old one (FAIL with a reason, or READY). */
static void from_send(struct master *m, uint32_t type, const char *text)
{
    if (m->from_conn < 0)
        return;
    struct fdh_upmsg msg = {.magic = FDH_UP_MAGIC, .type = type, .pid = getpid()};
    snprintf(msg.text, sizeof msg.text, "%s", text ? text : "");
    if (fdh_up_send(m->from_conn, &msg, NULL, 0) < 0)
        warn_errno("master: upgrade: tell the old master");
}

static void on_from_conn(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)events;
    struct master *m = ud;
    char b[256];
    ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    /* End of file (or an error): the old master has exited, its generation is gone. */
    evloop_io_del(el, fd);
    close(fd);
    m->from_conn = -1;
    kv_print("upgrade", "done generation=%ld master_pid=%d", m->cur->id, (int)getpid());
    if (m->reload_queued && m->mode == RUNNING)
        start_reload(m);
}

/* Called when the first generation is ready. */
static void first_ready(struct master *m)
{
    m->announced = 1;
    atomic_store(&m->sh->generation, m->cur->id);
    /* passfd: accept only now. Before, no worker could take a connection, and one
     * accepted then would be closed unanswered — on an upgrade the old master's
     * workers are serving this same listener meanwhile, so leaving it is right. */
    if (m->cur->cfg->accept == FDH_PASSFD && evloop_io_add(m->el, m->lfd[0], EV_READ, on_listener, m) < 0)
        die("evloop_io_add(listener)");
    if (m->from_conn >= 0) {
        atomic_fetch_add(&m->sh->upgrades, 1);
        upgrade_draw(m->from_conn, m->lfd, m->nlfd); /* FDLAB_DRAW only (lab 12's picture) */
        from_send(m, FDH_UP_READY, NULL);
        m->from_ready_sent = 1;
        if (evloop_io_add(m->el, m->from_conn, EV_READ, on_from_conn, m) < 0)
            die("evloop_io_add(upgrade)");
    }
    kv_print("ready", "1");
    notify("READY");
    /* --no-handover's new master: nothing to wait for, the old one is already leaving
     * (its statistics were not handed over: a fresh page, generation 1). */
    if (m->cur->cfg->upgrade_from && strcmp(m->cur->cfg->upgrade_from, "-") == 0)
        kv_print("upgrade", "done generation=%ld master_pid=%d handover=0", m->cur->id, (int)getpid());
}

/* ---------------------------------------------------------------- reload */

static void finish_old(struct master *m)
{
    struct gen *g = m->old;
    m->old = NULL;
    evloop_timer_stop(m->el, &m->old_deadline);
    int aborted = g->aborted;
    gen_free(m, g);
    if (!aborted) {
        atomic_fetch_add(&m->sh->reloads, 1);
        kv_print("reload", "done generation=%ld", m->cur->id);
        notify("READY");
    }
    if (m->reload_queued && m->mode == RUNNING)
        start_reload(m);
}

/* Every worker of next is ready: make it current, drain the previous one. */
static void switch_gen(struct master *m)
{
    evloop_timer_stop(m->el, &m->next_deadline);
    m->old = m->cur;
    m->cur = m->next;
    m->next = NULL;
    atomic_store(&m->sh->generation, m->cur->id);
    m->old->stopping = 1;
    tell_gen(m, m->old, CHANNEL_QUIT);
    kv_print("reload", "switched generation=%ld", m->cur->id);
    if (m->old->nalive == 0)
        finish_old(m);
    else if (evloop_timer_start(m->el, &m->old_deadline, m->cur->cfg->drain_timeout_ms, 0) < 0)
        die("evloop_timer_start");
}

static void reload_failed(struct master *m, const char *reason)
{
    atomic_fetch_add(&m->sh->reloads_failed, 1);
    kv_print("reload", "failed reason=%s", reason);
    notify("READY");
}

/* The next generation will not come up: terminate what of it started, keep cur. */
static void abort_next(struct master *m, const char *why)
{
    struct gen *g = m->next;
    evloop_timer_stop(m->el, &m->next_deadline);
    m->next = NULL;
    g->stopping = 1;
    g->aborted = 1;
    tell_gen(m, g, CHANNEL_TERMINATE);
    m->old = g; /* reaped like an old generation, SIGKILLed at the grace period */
    reload_failed(m, why);
    if (g->nalive == 0)
        finish_old(m);
    else if (evloop_timer_start(m->el, &m->old_deadline, FDH_TERM_GRACE_MS, 0) < 0)
        die("evloop_timer_start");
}

static void on_next_deadline(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)el, (void)t;
    struct master *m = ud;
    if (m->next == NULL)
        return;
    char why[160];
    snprintf(why, sizeof why, "the new workers were not all ready within %d ms; generation %ld kept",
             FDH_READY_MAX_MS, m->cur->id);
    abort_next(m, why);
}

static void on_old_deadline(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)el, (void)t;
    struct master *m = ud;
    kill_gen(m->old, "did not finish draining in time");
}

/* SIGHUP: re-read argv and --config; if valid and compatible with the listeners we
 * hold, start the next generation. Its workers are spawned by the main loop. */
static void start_reload(struct master *m)
{
    m->reload_queued = 0;
    if (m->mode != RUNNING)
        return;
    if (m->next || m->old || m->up != UP_NONE || m->from_conn >= 0 || !m->announced) {
        m->reload_queued = 1; /* one reload at a time: runs when this one is done */
        kv_print("reload", "queued");
        return;
    }
    notify("RELOADING");
    const struct fdh_config *old = m->cur->cfg;
    struct fdh_config *cfg = malloc(sizeof *cfg);
    char err[300];
    if (cfg == NULL) {
        reload_failed(m, "out of memory");
        return;
    }
    if (fdh_config_parse(old->argc, old->argv, cfg, err, sizeof err) < 0) {
        free(cfg);
        reload_failed(m, err);
        return;
    }
    /* What would need other listening sockets is refused, never "handled" by closing
     * one: closing a listener resets every connection waiting in its accept queue
     * (with SO_REUSEPORT each listener has its own queue, so even a group that only
     * shrinks loses connections). A new address or strategy needs a restart. */
    const char *why = NULL;
    if (strcmp(cfg->ip, old->ip) != 0 || cfg->port != old->port)
        why = "--listen changed: a reload keeps the listening sockets (restart to move)";
    else if (cfg->accept != old->accept)
        why = "--accept changed: it needs other listening sockets (restart to change it)";
    else if (cfg->accept == FDH_REUSEPORT && cfg->workers != old->workers)
        why = "--workers changed under reuseport: one listener per worker, and closing one "
              "resets its queue (restart to change it)";
    if (why) {
        free(cfg);
        reload_failed(m, why);
        return;
    }
    struct gen *g = gen_new(m, cfg, m->cur->id + 1, err, sizeof err);
    if (g == NULL) {
        free(cfg);
        reload_failed(m, err);
        return;
    }
    m->next = g;
    for (int i = 0; i < cfg->workers; i++)
        g->w[i].due = 1;
    kv_print("reload", "started generation=%ld", g->id);
    if (evloop_timer_start(m->el, &m->next_deadline, FDH_READY_MAX_MS, 0) < 0)
        die("evloop_timer_start");
}

/* ---------------------------------------------------------------- channels, reaping */

static void on_ready(struct master *m, struct wslot *s)
{
    struct gen *g = s->g;
    s->ready = 1;
    if (g == m->cur && !m->announced && m->mode == RUNNING && gen_all_ready(g))
        first_ready(m);
    else if (g == m->next && gen_all_ready(g))
        switch_gen(m);
}

/* Reads every queued message of slot s's channel; closes it at end of file. */
static void read_channel(struct master *m, struct wslot *s)
{
    while (s->chan >= 0) {
        struct channel_msg msg;
        int r = channel_recv(s->chan, &msg);
        if (r < 0) {
            if (errno == EAGAIN)
                return;
            if (errno == EINTR)
                continue;
            if (errno == EPROTO || errno == EMSGSIZE) { /* one bad message, consumed */
                warn_errno("master: channel of slot %d", (int)(s - s->g->w));
                continue;
            }
            /* ECONNRESET (the worker died with our messages unread) or another socket
             * error: the channel is finished. Retrying could spin on a lasting error. */
            if (errno != ECONNRESET)
                warn_errno("master: channel of slot %d", (int)(s - s->g->w));
            r = 0;
        }
        if (r == 0) { /* the worker is gone; SIGCHLD tells why */
            evloop_io_del(m->el, s->chan);
            close(s->chan);
            s->chan = -1;
            return;
        }
        if (msg.command == CHANNEL_READY && msg.pid == s->pid)
            on_ready(m, s);
        else
            warn_msg("master: unexpected %s from slot %d", channel_cmd_name(msg.command), msg.slot);
    }
}

static void on_channel(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)el, (void)fd, (void)events;
    struct wslot *s = ud;
    read_channel(s->g->m, s);
}

static void on_respawn_timer(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)el, (void)t;
    struct wslot *s = ud;
    if (s->g->m->mode == RUNNING && !s->g->stopping)
        s->due = 1;
}

static void describe(int status, char *buf, size_t n)
{
    if (WIFSIGNALED(status))
        snprintf(buf, n, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(buf, n, "exited with status %d", WEXITSTATUS(status));
}

static void upgrade_failed(struct master *m, const char *reason);

static struct wslot *find_worker(struct master *m, pid_t pid)
{
    struct gen *gens[3] = {m->cur, m->next, m->old};
    for (int k = 0; k < 3; k++)
        for (int i = 0; gens[k] && i < gens[k]->cfg->workers; i++)
            if (gens[k]->w[i].pid == pid)
                return &gens[k]->w[i];
    return NULL;
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
        char why[96];
        describe(status, why, sizeof why);
        if (pid == m->up_pid) { /* the new master of an upgrade */
            m->up_pid = 0;
            if (m->up == UP_WAIT_CONNECT || m->up == UP_WAIT_READY) {
                /* Its FAIL message (why) may still be queued: the SIGCHLD and the
                 * message arrive in the same wake-up, in either order. */
                struct fdh_upmsg msg;
                size_t nfds = 0;
                char r[sizeof msg.text + 96];
                if (m->up_conn >= 0 && fdh_up_recv(m->up_conn, &msg, NULL, &nfds) > 0 && msg.type == FDH_UP_FAIL &&
                    msg.text[0])
                    snprintf(r, sizeof r, "%s", msg.text);
                else
                    snprintf(r, sizeof r, "new master (pid %d) %s before it was ready", (int)pid, why);
                upgrade_failed(m, r);
            } else if (m->up == UP_HANDED_OVER) {
                warn_msg("master: the new master (pid %d) %s", (int)pid, why);
            }
            if (m->reload_queued && m->up == UP_NONE)
                start_reload(m);
            continue;
        }
        struct wslot *s = find_worker(m, pid);
        if (s == NULL)
            continue; /* not ours (cannot happen: the master forks nothing else) */
        struct gen *g = s->g;
        int slot = (int)(s - g->w);
        read_channel(m, s); /* a READY sent just before dying still counts */
        if (s->chan >= 0) {
            evloop_io_del(m->el, s->chan);
            close(s->chan);
            s->chan = -1;
        }
        s->pid = 0;
        s->ready = 0;
        g->nalive--;
        struct fdh_slot *st = &m->sh->slot[g->id % FDH_BANKS][slot];
        atomic_store(&st->pid, 0);
        /* Its connections died with it; the counters of completed work stay. Only
         * this worker wrote this bank's slot (fdhttpd.h), so the store is exact. */
        atomic_store(&st->active, 0);
        if (g == m->old) {
            if (g->nalive == 0)
                finish_old(m);
            continue;
        }
        if (m->mode != RUNNING || g->stopping)
            continue;
        uint64_t lived = evloop_now_ms(m->el) - s->started_ms;
        if (lived < FDH_CRASH_WINDOW_MS)
            s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : FDH_BACKOFF_MIN_MS;
        else
            s->backoff_ms = 0;
        if (s->backoff_ms > FDH_BACKOFF_MAX_MS)
            s->backoff_ms = FDH_BACKOFF_MAX_MS;
        atomic_fetch_add(&m->sh->respawns, 1);
        atomic_store(&m->sh->backoff_ms[slot], s->backoff_ms);
        warn_msg("master: worker %d (pid %d) %s after %llu ms; respawning in %ld ms", slot, (int)pid,
                 why, (unsigned long long)lived, s->backoff_ms);
        if (s->backoff_ms > 0)
            kv_print("crashloop", "slot=%d backoff_ms=%ld generation=%ld", slot, s->backoff_ms, g->id);
        if (s->backoff_ms == 0)
            s->due = 1;
        else if (evloop_timer_start(m->el, &s->respawn, s->backoff_ms, 0) < 0)
            die("evloop_timer_start");
    }
}

/* spawn() failed for slot `slot` of g (errno says why). A reload's next generation
 * is abandoned (reload=failed, cur untouched); a slot of cur is retried with the
 * crash back-off, as if its worker had died at once. */
static void spawn_failed(struct master *m, struct gen *g, int slot)
{
    int e = errno;
    warn_errno("master: cannot start worker %d of generation %ld", slot, g->id);
    if (g == m->next) {
        char why[160];
        snprintf(why, sizeof why, "cannot start worker %d: %s; generation %ld kept", slot, strerror(e), m->cur->id);
        abort_next(m, why);
        return;
    }
    struct wslot *s = &g->w[slot];
    s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : FDH_BACKOFF_MIN_MS;
    if (s->backoff_ms > FDH_BACKOFF_MAX_MS)
        s->backoff_ms = FDH_BACKOFF_MAX_MS;
    atomic_store(&m->sh->backoff_ms[slot], s->backoff_ms);
    kv_print("crashloop", "slot=%d backoff_ms=%ld generation=%ld", slot, s->backoff_ms, g->id);
    if (evloop_timer_start(m->el, &s->respawn, s->backoff_ms, 0) < 0)
        die("evloop_timer_start");
}

/* ---------------------------------------------------------------- shutdown */

static void on_deadline(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)el, (void)t;
    struct master *m = ud;
    kill_gen(m->cur, "did not stop in time");
    kill_gen(m->next, "did not stop in time");
    kill_gen(m->old, "did not stop in time");
}


static void shut_down(struct master *m, enum mode mode)
{
    if (m->mode == TERMINATING || m->mode == mode)
        return;
    /* A new master not yet ready must not outlive us and serve on as an orphan. */
    if (m->up == UP_WAIT_CONNECT || m->up == UP_WAIT_READY)
        upgrade_failed(m, "the old master was told to stop before the new one was ready");
    m->mode = mode;
    if (m->up != UP_HANDED_OVER || m->cur->cfg->no_handover)
        notify("STOPPING"); /* not after a hand-over: the new master is the service now */
    close_listeners(m); /* the workers keep their own references while they need them */
    int cmd = mode == QUITTING ? CHANNEL_QUIT : CHANNEL_TERMINATE;
    struct gen *gens[3] = {m->cur, m->next, m->old};
    for (int k = 0; k < 3; k++)
        if (gens[k]) {
            gens[k]->stopping = 1;
            tell_gen(m, gens[k], cmd);
        }
    evloop_timer_stop(m->el, &m->next_deadline);
    /* After a hand-over our workers are an old generation like a reload's: they get
     * --drain-timeout (as --help says), not a SIGQUIT's FDH_DRAIN_MAX_MS. */
    long ms = mode != QUITTING ? FDH_TERM_GRACE_MS
              : m->up == UP_HANDED_OVER && !m->cur->cfg->no_handover ? m->cur->cfg->drain_timeout_ms
                                                                     : FDH_DRAIN_MAX_MS;
    if (evloop_timer_start(m->el, &m->deadline, ms, 0) < 0)
        die("evloop_timer_start");
}

/* ---------------------------------------------------------------- upgrade, old side */

static void up_close(struct master *m)
{
    evloop_timer_stop(m->el, &m->up_deadline);
    if (m->up_lfd >= 0) {
        evloop_io_del(m->el, m->up_lfd);
        close(m->up_lfd);
        m->up_lfd = -1;
    }
    if (m->up_conn >= 0 && m->up != UP_HANDED_OVER) {
        evloop_io_del(m->el, m->up_conn);
        close(m->up_conn);
        m->up_conn = -1;
    }
}

/* Rollback: the new master failed. We never stopped serving; make sure it is gone.
 * It is SIGKILLed and reaped here, at once (a SIGKILLed process dies promptly), so
 * that the next SIGUSR2 does not find an upgrade still "in progress". Workers it may
 * have started die with it (PR_SET_PDEATHSIG). */
static void upgrade_failed(struct master *m, const char *reason)
{
    int handed = m->up == UP_WAIT_READY; /* it had our sockets and our statistics page */
    up_close(m);
    m->up = UP_NONE;
    if (m->up_pid > 0) {
        if (kill(m->up_pid, SIGKILL) < 0 && errno != ESRCH)
            warn_errno("kill(new master)");
        while (waitpid(m->up_pid, NULL, 0) < 0 && errno == EINTR)
            ;
        m->up_pid = 0;
    }
    if (handed) {
        /* Its generation (ours + 1) wrote bank (id + 1) % 2 and the per-slot back-off,
         * and nobody reaps its workers for us: their `active` would stay counted in
         * /status, and our next reload's workers (same bank) would start from it. Its
         * workers were SIGKILLed when it died (PR_SET_PDEATHSIG, sent as it exited,
         * before the wait above returned): the bank has no live writer now. */
        struct fdh_slot *bank = m->sh->slot[(m->cur->id + 1) % FDH_BANKS];
        for (int i = 0; i < FDH_MAX_WORKERS; i++) {
            atomic_store(&bank[i].pid, 0);
            atomic_store(&bank[i].active, 0);
            atomic_store(&m->sh->backoff_ms[i], i < m->cur->cfg->workers ? m->cur->w[i].backoff_ms : 0);
        }
    }
    atomic_fetch_add(&m->sh->upgrades_failed, 1);
    kv_print("upgrade", "failed reason=%s", reason);
    notify("READY");
}

static void on_up_deadline(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)el, (void)t;
    struct master *m = ud;
    char r[128];
    snprintf(r, sizeof r, "new master (pid %d) not ready within %d ms", (int)m->up_pid, FDH_READY_MAX_MS);
    upgrade_failed(m, r);
}

static void on_up_conn(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)el, (void)events;
    struct master *m = ud;
    struct fdh_upmsg msg;
    int fds[1];
    size_t nfds = 0;
    int r = fdh_up_recv(fd, &msg, fds, &nfds);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (m->up == UP_HANDED_OVER) {
        /* The new master holds the other end as long as it lives; nothing more comes. */
        if (r <= 0) {
            evloop_io_del(m->el, fd);
            close(fd);
            m->up_conn = -1;
        }
        return;
    }
    if (r <= 0) {
        upgrade_failed(m, r == 0 ? "new master closed the upgrade connection" : "bad message from the new master");
        return;
    }
    if (msg.type == FDH_UP_FAIL) {
        upgrade_failed(m, msg.text[0] ? msg.text : "new master failed");
        return;
    }
    if (msg.type != FDH_UP_READY || msg.pid != m->up_pid) {
        upgrade_failed(m, "unexpected message from the new master");
        return;
    }
    /* The new generation serves: ours drains like a SIGQUIT and we exit. The upgrade
     * connection stays open until we exit — its EOF tells the new master we are gone. */
    evloop_timer_stop(m->el, &m->up_deadline);
    m->up = UP_HANDED_OVER;
    kv_print("upgrade", "handed_over old_master_pid=%d new_master_pid=%d", (int)getpid(), (int)m->up_pid);
    shut_down(m, QUITTING);
}

static void on_up_listen(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)el, (void)events;
    struct master *m = ud;
    int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) {
        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
            return;
        /* EMFILE/ENFILE/ENOMEM: the connection stays queued and the (level-triggered)
         * listener fires again at once: a busy loop until the deadline. Give up now. */
        char r[96];
        snprintf(r, sizeof r, "accepting the new master: %s", strerror(errno));
        upgrade_failed(m, r);
        return;
    }
    char err[160];
    if (fdh_peer_check(c, m->up_pid, err, sizeof err) < 0) {
        /* Someone else in our network namespace: not who we forked. Ignore it. */
        warn_msg("master: upgrade: refused a connection: %s", err);
        close(c);
        return;
    }
    evloop_io_del(m->el, fd); /* one connection only */
    close(fd);
    m->up_lfd = -1;
    struct fdh_upmsg msg = {.magic = FDH_UP_MAGIC, .type = FDH_UP_HANDOVER, .pid = getpid(), .port = m->port,
                            .accept = m->cur->cfg->accept};
    snprintf(msg.ip, sizeof msg.ip, "%s", m->ip);
    int fds[FDH_UP_MAXFDS];
    size_t n = 0;
    for (int i = 0; i < m->nlfd; i++) {
        msg.kind[n] = FDH_FD_LISTENER;
        fds[n++] = m->lfd[i];
    }
    msg.kind[n] = FDH_FD_STATS;
    fds[n++] = m->shfd;
    msg.nfds = (uint32_t)n;
    m->up_conn = c;
    if (fdh_up_send(c, &msg, fds, n) < 0) {
        snprintf(err, sizeof err, "sending the listeners: %s", strerror(errno));
        upgrade_failed(m, err);
        return;
    }
    m->up = UP_WAIT_READY;
    if (evloop_io_add(m->el, c, EV_READ, on_up_conn, m) < 0)
        die("evloop_io_add(upgrade)");
}

/* argv for the new master: ours without earlier --upgrade-from=/--listen=, then
 * --listen=IP:PORT with the port actually bound (port 0 stays the same port) and
 * --upgrade-from=NAME. */
static char **new_argv(struct master *m, const char *from, char *listen, size_t llen, char *fromopt, size_t flen)
{
    const struct fdh_config *cfg = m->cur->cfg;
    char **av = calloc((size_t)cfg->argc + 3, sizeof *av);
    if (av == NULL)
        return NULL;
    int n = 0;
    for (int i = 0; i < cfg->argc; i++)
        if (strncmp(cfg->argv[i], "--upgrade-from=", 15) != 0 && strncmp(cfg->argv[i], "--listen=", 9) != 0)
            av[n++] = cfg->argv[i];
    snprintf(listen, llen, "--listen=%s:%u", m->ip, m->port);
    snprintf(fromopt, flen, "--upgrade-from=%s", from);
    av[n++] = listen;
    av[n++] = fromopt;
    av[n] = NULL;
    return av;
}

static void start_upgrade(struct master *m)
{
    if (m->mode != RUNNING)
        return;
    if (m->next || m->old || m->up != UP_NONE || m->from_conn >= 0 || !m->announced) {
        /* Refused, not queued: an upgrade is a deliberate act, and one during a
         * reload would make three generations. The caller can retry. */
        kv_print("upgrade", "failed reason=busy (a reload or an upgrade is in progress)");
        return;
    }
    char name[64], listen[64], fromopt[128];
    int handover = !m->cur->cfg->no_handover;
    if (handover) {
        /* An abstract name can be bound by ANY local user first (squatting): with only
         * pid and a counter in it, another user could bind every name we would pick
         * and refuse all upgrades for good. 64 random bits make it unguessable; the
         * peer checks (handover.h) still decide who may talk to us. */
        uint64_t rnd;
        if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd) {
            char r[160];
            snprintf(r, sizeof r, "getrandom: %s", strerror(errno));
            upgrade_failed(m, r);
            return;
        }
        snprintf(name, sizeof name, "@fdhttpd-upgrade-%d-%d-%016llx", (int)getpid(), ++m->up_seq,
                 (unsigned long long)rnd);
        m->up_lfd = unix_listen(name, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 4);
        if (m->up_lfd < 0) {
            char r[160];
            snprintf(r, sizeof r, "upgrade socket %s: %s", name, strerror(errno));
            upgrade_failed(m, r);
            return;
        }
    } else {
        snprintf(name, sizeof name, "-");
        /* The naive way, for the comparison: stop listening FIRST, then let the new
         * binary bind fresh sockets. Connections queued on ours are reset when the
         * last reference closes; new ones are refused until it has bound. */
        shut_down(m, QUITTING);
    }
    char **av = new_argv(m, name, listen, sizeof listen, fromopt, sizeof fromopt);
    if (av)
        fflush(NULL);
    pid_t pid = av ? fork() : -1;
    if (pid < 0) { /* rollback, not death: we are still the server */
        char r[160];
        snprintf(r, sizeof r, "%s: %s", av ? "fork" : "argv", strerror(errno));
        free(av);
        upgrade_failed(m, r);
        return;
    }
    if (pid == 0) {
        /* Every descriptor of ours is close-on-exec; the signal mask is inherited and
         * the new master sets its own. */
        execv(m->exe, av);
        dprintf(2, "fdhttpd: exec %s: %s\n", m->exe, strerror(errno));
        _exit(127);
    }
    free(av);
    m->up_pid = pid;
    kv_print("upgrade", "started new_master_pid=%d handover=%d", (int)pid, handover);
    if (!handover) {
        m->up = UP_HANDED_OVER; /* nothing to wait for: we are already leaving */
        return;
    }
    m->up = UP_WAIT_CONNECT;
    notify("RELOADING");
    if (evloop_io_add(m->el, m->up_lfd, EV_READ, on_up_listen, m) < 0 ||
        evloop_timer_start(m->el, &m->up_deadline, FDH_READY_MAX_MS, 0) < 0)
        die("upgrade: evloop");
}

/* ---------------------------------------------------------------- signals, passfd */

static void on_signal(struct evloop *el, int signo, void *ud)
{
    (void)el;
    struct master *m = ud;
    switch (signo) {
    case SIGCHLD: reap(m); break;
    case SIGQUIT: shut_down(m, QUITTING); break;
    case SIGHUP: start_reload(m); break;
    case SIGUSR2: start_upgrade(m); break;
    default: shut_down(m, TERMINATING); break; /* SIGTERM, SIGINT */
    }
}

/* passfd: accept, then hand over round-robin to a ready worker of the current
 * generation. */
/* passfd, out of descriptors (EMFILE: this process; ENFILE: the system; ENOBUFS/
 * ENOMEM): the connection stays in the backlog and the level-triggered listener would
 * wake the master again at once — a busy loop. As the workers do (worker.c): take the
 * listener out of the loop for FDH_EMFILE_PAUSE_MS, warn once per episode, try again. */
static void on_accept_pause(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)t;
    struct master *m = ud;
    if (m->mode == RUNNING && m->lfd[0] >= 0 && !evloop_io_mask(el, m->lfd[0]) &&
        evloop_io_add(el, m->lfd[0], EV_READ, on_listener, m) < 0)
        die("evloop_io_add(listener)");
}

static void on_listener(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)el, (void)events;
    struct master *m = ud;
    struct gen *g = m->cur;
    for (int k = 0; k < 64; k++) {
        int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                if (!m->emfile_logged)
                    warn_errno("master: accept4: not accepting for %d ms (logged once until an accept "
                               "succeeds)", FDH_EMFILE_PAUSE_MS);
                m->emfile_logged = 1;
                if (evloop_io_del(el, fd) < 0 || evloop_timer_start(el, &m->accept_pause, FDH_EMFILE_PAUSE_MS, 0) < 0)
                    die("master: pausing the listener");
            } else if (errno != EAGAIN) {
                warn_errno("master: accept4");
            }
            return;
        }
        m->emfile_logged = 0;
        int sent = 0;
        for (int tries = 0; tries < g->cfg->workers && !sent; tries++) {
            int slot = m->rr % g->cfg->workers;
            struct wslot *s = &g->w[slot];
            m->rr = (slot + 1) % g->cfg->workers;
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

/* ---------------------------------------------------------------- start-up */

static int open_listeners(struct master *m, const struct fdh_config *cfg, int retry_busy)
{
    int n = cfg->accept == FDH_REUSEPORT ? cfg->workers : 1;
    int flags = SOCK_NONBLOCK | SOCK_CLOEXEC | (cfg->accept == FDH_REUSEPORT ? SOCK_REUSEPORT : 0);
    m->port = cfg->port;
    double end = mono_s() + 5;
    for (int i = 0; i < n; i++) {
        /* Port 0: the first bind picks the port, the others join its reuseport group. */
        int fd;
        /* --no-handover's new master: the old one may still hold the port for a moment */
        while ((fd = tcp_listen(cfg->ip, m->port, BACKLOG, flags, &m->port)) < 0 && retry_busy &&
               errno == EADDRINUSE && mono_s() < end)
            sleep_ms(5);
        if (fd < 0) {
            warn_errno("listen on %s:%u", cfg->ip, m->port);
            return -1;
        }
        m->lfd[m->nlfd++] = fd;
    }
    return 0;
}

/* Systemd socket activation: the sockets are given; check them against the strategy. */
static int take_activated(struct master *m, const struct fdh_config *cfg, int *fds, int n, char *err, size_t errlen)
{
    int want = cfg->accept == FDH_REUSEPORT ? cfg->workers : 1;
    if (n != want)
        return snprintf(err, errlen, "socket activation passed %d sockets; accept=%s with %d workers needs %d "
                        "(reuseport: one per worker, the others: exactly one)", n, fdh_accept_name(cfg->accept),
                        cfg->workers, want), -1;
    int port = 0;
    for (int i = 0; i < n; i++) {
        int p = fdh_listener_check(fds[i], NULL, (uint16_t)port, cfg->accept == FDH_REUSEPORT, err, errlen);
        if (p < 0)
            return -1;
        port = p;
        m->lfd[m->nlfd++] = fds[i];
    }
    m->port = (uint16_t)port;
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    if (getsockname(fds[0], (struct sockaddr *)&sa, &len) < 0 || !inet_ntop(AF_INET, &sa.sin_addr, m->ip, sizeof m->ip))
        return snprintf(err, errlen, "getsockname: %s", strerror(errno)), -1;
    return 0;
}

/* The new master of an upgrade: connect to the old one, check it, take its sockets
 * and its statistics page, check every one. On failure the reason goes to the old
 * master (FAIL) and to stderr, and we exit 1: the old master keeps serving. */
static int take_handover(struct master *m, const struct fdh_config *cfg, char *err, size_t errlen)
{
    int c = unix_connect(cfg->upgrade_from, SOCK_SEQPACKET | SOCK_CLOEXEC);
    if (c < 0)
        return snprintf(err, errlen, "connect %s: %s", cfg->upgrade_from, strerror(errno)), -1;
    m->from_conn = c;
    if (fdh_peer_check(c, getppid(), err, errlen) < 0)
        return -1;
    struct timeval tv = {UP_CONNECT_MS / 1000, 0};
    if (setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
        return snprintf(err, errlen, "SO_RCVTIMEO: %s", strerror(errno)), -1;
    struct fdh_upmsg msg;
    int fds[FDH_UP_MAXFDS];
    size_t nfds = FDH_UP_MAXFDS;
    int r = fdh_up_recv(c, &msg, fds, &nfds);
    if (r <= 0 || msg.type != FDH_UP_HANDOVER) {
        if (r > 0)
            for (size_t i = 0; i < nfds; i++)
                close(fds[i]);
        return snprintf(err, errlen, "no hand-over from the old master (%s)",
                        r < 0 ? strerror(errno) : "wrong message or end of file"), -1;
    }
    int want = cfg->accept == FDH_REUSEPORT ? cfg->workers : 1, rc = 0, port = cfg->port;
    size_t i = 0;
    if (msg.accept != (int)cfg->accept || nfds != (size_t)want + 1) {
        snprintf(err, errlen, "the old master serves accept=%s with %zu sockets; this configuration wants "
                 "accept=%s with %d", fdh_accept_name((enum fdh_accept)msg.accept), nfds ? nfds - 1 : 0,
                 fdh_accept_name(cfg->accept), want);
        rc = -1;
    }
    for (; rc == 0 && i + 1 < nfds; i++) {
        int p = msg.kind[i] != FDH_FD_LISTENER ? -1
                : fdh_listener_check(fds[i], cfg->ip, (uint16_t)port, cfg->accept == FDH_REUSEPORT, err, errlen);
        if (p < 0) {
            if (msg.kind[i] != FDH_FD_LISTENER)
                snprintf(err, errlen, "descriptor %zu is not a listener", i);
            rc = -1;
            break;
        }
        port = p;
        m->lfd[m->nlfd++] = fds[i];
    }
    if (rc == 0) {
        if (msg.kind[nfds - 1] != FDH_FD_STATS || (m->sh = fdh_shared_attach(fds[nfds - 1])) == NULL) {
            snprintf(err, errlen, "the statistics page is not one of ours");
            rc = -1;
        } else {
            m->shfd = fds[nfds - 1];
            m->port = (uint16_t)port;
            /* From now on the connection is an event in the loop: non-blocking. */
            if (fcntl(c, F_SETFL, O_NONBLOCK) < 0)
                return snprintf(err, errlen, "fcntl: %s", strerror(errno)), -1;
            return 0;
        }
    }
    for (size_t k = (size_t)m->nlfd; k < nfds; k++)
        close(fds[k]);
    return -1;
}

int fdh_master_run(struct fdh_config *cfg)
{
    struct master m = {.mode = RUNNING, .shfd = -1, .up_lfd = -1, .up_conn = -1, .from_conn = -1};
    ev_timer_init(&m.deadline, on_deadline, &m);
    ev_timer_init(&m.old_deadline, on_old_deadline, &m);
    ev_timer_init(&m.next_deadline, on_next_deadline, &m);
    ev_timer_init(&m.up_deadline, on_up_deadline, &m);
    ev_timer_init(&m.accept_pause, on_accept_pause, &m);
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) /* belt and braces: every send is MSG_NOSIGNAL */
        die("signal");
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGCHLD);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGQUIT);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGUSR2);
    if (sigprocmask(SIG_BLOCK, &sigs, NULL) < 0) /* before any fork: see the top */
        die("sigprocmask");
    /* Resolved now: on SIGUSR2 this PATH is exec'd, so a binary replaced on disk
     * (rename over it) is the one that starts. */
    ssize_t el = readlink("/proc/self/exe", m.exe, sizeof m.exe - 1);
    if (el <= 0)
        die("readlink /proc/self/exe");
    m.exe[el] = '\0';
    char err[300];
    snprintf(m.ip, sizeof m.ip, "%s", cfg->ip);
    int sdfds[FDH_MAX_WORKERS];
    int nsd = fdh_systemd_listeners(sdfds, FDH_MAX_WORKERS, err, sizeof err);
    int upgrading = cfg->upgrade_from && strcmp(cfg->upgrade_from, "-") != 0;
    int rc = 0;
    if (nsd < 0 || (nsd > 0 && take_activated(&m, cfg, sdfds, nsd, err, sizeof err) < 0)) {
        warn_msg("socket activation: %s", err);
        rc = 1;
    } else if (nsd == 0 && upgrading && take_handover(&m, cfg, err, sizeof err) < 0) {
        warn_msg("upgrade: %s", err);
        from_send(&m, FDH_UP_FAIL, err);
        rc = 1;
    } else if (nsd == 0 && !upgrading && open_listeners(&m, cfg, cfg->upgrade_from != NULL) < 0) {
        rc = 1;
    }
    if (rc == 0 && m.sh == NULL && (m.sh = fdh_shared_new(&m.shfd)) == NULL)
        die("shared memory");
    if (rc == 0 && (m.cur = gen_new(&m, cfg, upgrading ? atomic_load(&m.sh->generation) + 1 : 1, err, sizeof err)) == NULL) {
        warn_msg("%s", err);
        from_send(&m, FDH_UP_FAIL, err);
        rc = 1;
    }
    if (rc != 0) {
        close_listeners(&m);
        if (m.from_conn >= 0)
            close(m.from_conn);
        if (m.sh)
            fdh_shared_free(m.sh);
        if (m.shfd >= 0)
            close(m.shfd);
        free(cfg);
        return 1;
    }
    if ((m.el = evloop_new()) == NULL)
        die("evloop_new");
    if (evloop_signalfd(m.el, &sigs, on_signal, &m) < 0)
        die("evloop_signalfd");
    kv_print("listening", "%s:%u", m.ip, m.port);
    kv_print("accept", "%s", fdh_accept_name(cfg->accept));
    kv_print("workers", "%d", cfg->workers);
    kv_print("root", "%s", cfg->root ? cfg->root : "(none)");
    kv_print("access_log", "%s", cfg->access_log ? cfg->access_log : "off");
    kv_print("master_pid", "%d", (int)getpid());
    kv_print("generation", "%ld", m.cur->id);
    if (nsd > 0)
        kv_print("socket_activation", "%d", nsd);
    for (int i = 0; i < cfg->workers; i++)
        m.cur->w[i].due = 1;
    for (;;) {
        int alive = (m.cur ? m.cur->nalive : 0) + (m.next ? m.next->nalive : 0) + (m.old ? m.old->nalive : 0);
        if (m.mode != RUNNING && alive == 0)
            break;
        struct gen *gens[2] = {m.cur, m.next};
        int failed = 0;
        for (int k = 0; k < 2 && m.mode == RUNNING && !failed; k++)
            for (int i = 0; !failed && gens[k] && i < gens[k]->cfg->workers; i++) /* !failed first */
                if (gens[k]->w[i].due && !gens[k]->stopping) {
                    gens[k]->w[i].due = 0;
                    /* After a failure gens[] may be stale (an abandoned next generation
                     * can be freed at once): leave the loop, poll, come back. */
                    if (spawn(&m, gens[k], i) < 0)
                        spawn_failed(&m, gens[k], i), failed = 1;
                }
        if (evloop_run_once(m.el, failed ? 0 : -1) < 0)
            die("evloop_run_once");
    }
    evloop_timer_stop(m.el, &m.deadline);
    evloop_timer_stop(m.el, &m.accept_pause);
    evloop_timer_stop(m.el, &m.up_deadline);
    close_listeners(&m);
    if (m.up_lfd >= 0)
        close(m.up_lfd);
    if (m.up_conn >= 0)
        close(m.up_conn); /* after a hand-over: the new master's "old one gone" */
    if (m.from_conn >= 0)
        close(m.from_conn);
    evloop_free(m.el);
    m.el = NULL;
    if (m.cur->cfg->accept == FDH_PASSFD) /* (cfg itself may be freed: a reload) */
        kv_print("passed", "%ld", m.passed), kv_print("pass_failed", "%ld", m.pass_failed);
    fdh_shared_free(m.sh);
    close(m.shfd);
    struct gen *gens[3] = {m.cur, m.next, m.old};
    for (int k = 0; k < 3; k++)
        if (gens[k]) {
            if (gens[k]->site.root_fd >= 0)
                site_close(&gens[k]->site);
            free(gens[k]->cfg);
            free(gens[k]);
        }
    /* After a hand-over the new master is the server: "stopped=1" stays its line. */
    kv_print("stopped", "%s", m.up == UP_HANDED_OVER ? "handed_over" : "1");
    return 0;
}
