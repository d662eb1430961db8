/* supervise.c — the master's worker slots (supervise.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "accept.h"
#include "channel.h"
#include "err.h"
#include "kv.h"
#include "reload.h"
#include "supervise.h"
#include "upgrade.h"
#include "worker.h"

static void on_channel(struct evloop *el, int fd, unsigned events, void *ud);

/* Tells the strategy whether slot `slot` has a ready worker, of the current or the next
 * generation (accept.h master_slot; a dead slot's listener is taken over by the master
 * meanwhile: accept_takeover.c). Only while RUNNING: a stopping server serves no
 * new queue. */
static void slot_changed(struct master *m, int slot)
{
    const struct fdh_accept_ops *acc = m->cur->cfg->accept;
    if (acc->master_slot == NULL || m->mode != RUNNING)
        return;
    int served = 0;
    struct gen *gens[2] = {m->cur, m->next};
    for (int k = 0; k < 2; k++)
        if (gens[k] && !gens[k]->stopping && slot < gens[k]->cfg->workers && gens[k]->w[slot].ready)
            served = 1;
    acc->master_slot(m, slot, served);
}

static void on_respawn_timer(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)el, (void)t;
    struct wslot *s = ud;
    if (s->g->m->mode == RUNNING && !s->g->stopping)
        s->due = 1;
}

void fdh_slot_init(struct gen *g, int slot)
{
    g->w[slot].chan = -1;
    g->w[slot].g = g;
    ev_timer_init(&g->w[slot].respawn, on_respawn_timer, &g->w[slot]);
}

int fdh_gen_all_ready(const struct gen *g)
{
    for (int i = 0; i < g->cfg->workers; i++)
        if (!g->w[i].ready)
            return 0;
    return 1;
}

/* In the fork child: close everything of the master's that a worker must not hold,
 * keep the listener the strategy gives this slot, of every address (listeners.h), in
 * lfd[0..naddr). Returns how many it keeps: naddr, or 0. */
static int child_close(struct master *m, struct gen *mine, int slot, int *lfd)
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
    fdh_upgrade_child_close(m);
    int keep = mine->cfg->accept->slot_listener(slot), nkept = 0;
    for (int i = 0; i < m->ls.n; i++) {
        if (keep >= 0 && i % m->ls.per == keep)
            lfd[nkept++] = m->ls.fd[i];
        else if (m->ls.fd[i] >= 0)
            close(m->ls.fd[i]);
    }
    return nkept;
}

/* Starts the worker of slot `slot` of g. Returns 0, or -1 with errno when the
 * channel or the process could not be made (EMFILE, EAGAIN, ENOMEM): nothing is left
 * open, and the caller decides (spawn_failed) — a serving master must not die
 * because it could not add a worker. */
static int spawn(struct master *m, struct gen *g, int slot)
{
    struct wslot *s = &g->w[slot];
    struct fdh_slot *st = &m->sh->slot[g->id % FDH_BANKS][slot];
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
    if (pid == 0) { /* the child keeps only its channel end and its listener */
        close(sv[0]);
        struct fdh_worker_env env = {.cfg = g->cfg, .site = &g->site, .sh = m->sh, .me = st, .slot = slot,
                                     .chan = sv[1], .master = master_pid,
                                     .accept_state = m->accept_state};
        env.nlfd = child_close(m, g, slot, env.lfd);
        evloop_free(m->el); /* closes the master's epoll and signalfd in this process */
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
    atomic_store(&st->pid, pid);
    atomic_fetch_add(&st->starts, 1);
    g->nalive++;
    return 0;
}

/* The slot's back-off after a death within the crash window (or a failed spawn). */
static void backoff_grow(struct master *m, struct wslot *s, int slot)
{
    s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : FDH_BACKOFF_MIN_MS;
    if (s->backoff_ms > FDH_BACKOFF_MAX_MS)
        s->backoff_ms = FDH_BACKOFF_MAX_MS;
    atomic_store(&m->sh->backoff_ms[slot], s->backoff_ms);
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
        fdh_reload_abort(m, why);
        return;
    }
    struct wslot *s = &g->w[slot];
    backoff_grow(m, s, slot);
    kv_print("crashloop", "slot=%d backoff_ms=%ld generation=%ld", slot, s->backoff_ms, g->id);
    if (evloop_timer_start(m->el, &s->respawn, s->backoff_ms, 0) < 0)
        die("evloop_timer_start");
}

int fdh_spawn_due(struct master *m)
{
    struct gen *gens[2] = {m->cur, m->next};
    for (int k = 0; k < 2 && m->mode == RUNNING; k++)
        for (int i = 0; gens[k] && i < gens[k]->cfg->workers; i++)
            if (gens[k]->w[i].due && !gens[k]->stopping) {
                gens[k]->w[i].due = 0;
                /* After a failure gens[] may be stale (an abandoned next generation
                 * can be freed at once): leave, poll, come back. */
                if (spawn(m, gens[k], i) < 0) {
                    spawn_failed(m, gens[k], i);
                    return 1;
                }
            }
    return 0;
}

void fdh_tell_gen(struct master *m, struct gen *g, int command)
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

void fdh_kill_gen(struct gen *g, const char *why)
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

static void close_channel(struct master *m, struct wslot *s)
{
    evloop_io_del(m->el, s->chan);
    close(s->chan);
    s->chan = -1;
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
            close_channel(m, s);
            return;
        }
        if (msg.command == CHANNEL_READY && msg.pid == s->pid) {
            int slot = (int)(s - s->g->w);
            s->ready = 1;
            fdh_master_worker_ready(m, s->g); /* (may switch generations) */
            slot_changed(m, slot);
        } else {
            warn_msg("master: unexpected %s from slot %d", channel_cmd_name(msg.command), msg.slot);
        }
    }
}

static void on_channel(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)el, (void)fd, (void)events;
    struct wslot *s = ud;
    read_channel(s->g->m, s);
}

static struct wslot *find_worker(struct master *m, pid_t pid)
{
    struct gen *gens[3] = {m->cur, m->next, m->old};
    for (int k = 0; k < 3; k++)
        for (int i = 0; gens[k] && i < gens[k]->cfg->workers; i++)
            if (gens[k]->w[i].pid == pid)
                return &gens[k]->w[i];
    return NULL;
}

/* A worker of cur or next exited unasked: respawn it in its slot, at once or after the
 * back-off. */
static void respawn(struct master *m, struct wslot *s, pid_t pid, const char *why)
{
    struct gen *g = s->g;
    int slot = (int)(s - g->w);
    uint64_t lived = evloop_now_ms(m->el) - s->started_ms;
    if (lived < FDH_CRASH_WINDOW_MS)
        backoff_grow(m, s, slot);
    else
        s->backoff_ms = 0, atomic_store(&m->sh->backoff_ms[slot], 0);
    atomic_fetch_add(&m->sh->respawns, 1);
    warn_msg("master: worker %d (pid %d) %s after %llu ms; respawning in %ld ms", slot, (int)pid, why,
             (unsigned long long)lived, s->backoff_ms);
    if (s->backoff_ms > 0)
        kv_print("crashloop", "slot=%d backoff_ms=%ld generation=%ld", slot, s->backoff_ms, g->id);
    if (s->backoff_ms == 0)
        s->due = 1;
    else if (evloop_timer_start(m->el, &s->respawn, s->backoff_ms, 0) < 0)
        die("evloop_timer_start");
}

/* The worker in s exited (status described in why). */
static void worker_gone(struct master *m, struct wslot *s, pid_t pid, const char *why)
{
    struct gen *g = s->g;
    read_channel(m, s); /* a READY sent just before dying still counts */
    if (s->chan >= 0)
        close_channel(m, s);
    s->pid = 0;
    s->ready = 0;
    g->nalive--;
    struct fdh_slot *st = &m->sh->slot[g->id % FDH_BANKS][s - g->w];
    atomic_store(&st->pid, 0);
    /* Its connections died with it; the counters of completed work stay. Only this
     * worker wrote this bank's slot (stats.h), so the store is exact. */
    atomic_store(&st->active, 0);
    atomic_store(&st->held, 0);
    if (g == m->old) {
        if (g->nalive == 0)
            fdh_reload_old_gone(m);
        return;
    }
    if (m->mode == RUNNING && !g->stopping)
        respawn(m, s, pid, why);
    slot_changed(m, (int)(s - g->w));
}

void fdh_reap(struct master *m)
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
        if (WIFSIGNALED(status))
            snprintf(why, sizeof why, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
        else
            snprintf(why, sizeof why, "exited with status %d", WEXITSTATUS(status));
        if (fdh_upgrade_reaped(m, pid, why))
            continue;
        struct wslot *s = find_worker(m, pid);
        if (s != NULL) /* (always: the master forks nothing else) */
            worker_gone(m, s, pid, why);
    }
}
