/* accept.c — the table of accept strategies (accept.h); what the strategies with a
 * listener in the worker share: putting it in and out of the worker's epoll set, the
 * accept batch, and the two pauses (--max-conns, out of descriptors); and how an
 * accepted (or passed) connection starts, fdh_conn_open.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "accept.h"
#include "channel.h"
#include "conn.h"
#include "stats.h"
#include "err.h"
#include "master.h"
#include "worker.h"

static const struct fdh_accept_ops *const table[] = {
    &fdh_accept_reuseport, /* the default */
    &fdh_accept_exclusive,
    &fdh_accept_mutex,
    &fdh_accept_passfd,
    &fdh_accept_steered,
};

const struct fdh_accept_ops *fdh_accept_find(const char *name)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(name, table[i]->name) == 0)
            return table[i];
    return NULL;
}

const struct fdh_accept_ops *fdh_accept_default(void)
{
    return table[0];
}

int fdh_accept_per_slot(const struct fdh_config *cfg)
{
    return cfg->workers;
}

int fdh_accept_one(const struct fdh_config *cfg)
{
    (void)cfg;
    return 1;
}

int fdh_accept_reload_refusal(const struct fdh_config *old, const struct fdh_config *cfg, char *why, size_t len)
{
    if (cfg->accept != old->accept)
        return snprintf(why, len, "--accept changed: it needs other listening sockets (restart to change it)"), 1;
    if (cfg->accept->nlisteners(cfg) != old->accept->nlisteners(old))
        return snprintf(why, len, "--workers changed under %s: one listener per worker, and closing one "
                        "resets its queue (restart to change it)", cfg->accept->name), 1;
    return 0;
}

int fdh_accept_pass(struct master *m, int *rr, int addr, int skip, int c)
{
    struct gen *g = m->cur;
    for (int tries = 0; tries < g->cfg->workers; tries++) {
        int slot = *rr % g->cfg->workers;
        struct wslot *s = &g->w[slot];
        *rr = (slot + 1) % g->cfg->workers;
        if (slot == skip || !s->ready || s->chan < 0)
            continue;
        struct channel_msg msg = {.command = CHANNEL_NEW_CONN, .pid = getpid(), .slot = slot, .fd = c};
        /* Counted before the send: the worker may answer a /status on it at once. */
        atomic_long *on = &m->sh->slot[g->id % FDH_BANKS][slot].accepted_on[addr];
        atomic_fetch_add_explicit(on, 1, memory_order_relaxed);
        if (channel_send(s->chan, &msg) == 0)
            return 1;
        atomic_fetch_sub_explicit(on, 1, memory_order_relaxed);
    }
    return 0;
}

int fdh_accept_master_batch(struct master *m, int fd, int addr, int skip, struct fdh_pass_count *n)
{
    for (int k = 0; k < FDH_ACCEPT_BATCH; k++) {
        int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                return 1;
            if (errno != EAGAIN)
                warn_errno("master: accept4");
            return 0;
        }
        n->emfile_logged = 0;
        if (fdh_accept_pass(m, &n->rr, addr, skip, c))
            n->passed++;
        else
            n->failed++;
        close(c); /* passed: the worker holds it now */
    }
    return 0;
}

/* ---------------------------------------------------------------- a worker's listener */

static void on_listener(struct evloop *el, int fd, unsigned events, void *ud);

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
    fdh_listen_off(w);
    if (evloop_timer_start(w->el, &w->accept_timer, FDH_EMFILE_PAUSE_MS, 0) < 0)
        die("worker %d: evloop_timer_start", w->slot);
}

static void resume(struct fdh_w *w)
{
    if (w->cfg->accept->worker_resume)
        w->cfg->accept->worker_resume(w);
}

static void on_accept_timer(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)el, (void)t;
    struct fdh_w *w = ud;
    w->paused_emfile = 0;
    resume(w);
}

void fdh_accept_init(struct fdh_w *w)
{
    ev_timer_init(&w->accept_timer, on_accept_timer, w);
}

void fdh_accept_conns_changed(struct fdh_w *w)
{
    int full = w->nconns >= w->cfg->max_conns;
    if (full && !w->paused_full) {
        w->paused_full = 1;
        fdh_listen_off(w); /* new connections wait in the backlog (or in other workers) */
    } else if (!full && w->paused_full) {
        w->paused_full = 0;
        resume(w);
    }
}

/* Accept up to a batch, until EAGAIN. Level-triggered, so what is left wakes us again;
 * stopping early (a pause, the batch) loses nothing. Measured (make bench-server, the
 * close-13B case): one accept4 per wake-up costs more epoll_wait calls than the one
 * EAGAIN per wake-up this loop pays, so the loop stays. */
static void accept_some(struct fdh_w *w, int lfd, int addr)
{
    for (int i = 0; i < FDH_ACCEPT_BATCH && !w->draining && w->listening; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
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
        if (w->cfg->slow_slot == w->slot) { /* testing aid: a slow worker (config.h) */
            struct timespec ts = {w->cfg->slow_ms / 1000, w->cfg->slow_ms % 1000 * 1000000L};
            while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
        }
        atomic_fetch_add_explicit(&w->me->accepted_on[addr], 1, memory_order_relaxed);
        fdh_conn_open(w, fd, 1);
        fdh_accept_conns_changed(w); /* at --max-conns: stop accepting */
    }
}

static void on_listener(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)el, (void)events;
    struct fdh_w *w = ud;
    int a = 0;
    while (a < w->nlfd - 1 && w->lfd[a] != fd) /* at most FDH_MAX_ADDRS, usually 1 or 2 */
        a++;
    accept_some(w, fd, a);
}

/* Every address's listener goes in and out together: the pauses and the accept mutex
 * are about this worker taking connections at all, not about one address. */
void fdh_listen_on(struct fdh_w *w)
{
    if (w->listening || w->nlfd == 0 || w->lfd[0] < 0 || w->draining || w->stop || w->paused_full ||
        w->paused_emfile)
        return; /* stop: leaving (closing the connections must not re-add it) */
    for (int a = 0; a < w->nlfd; a++)
        if (evloop_io_add(w->el, w->lfd[a], w->cfg->accept->listen_mask, on_listener, w) < 0)
            die("worker %d: evloop_io_add(listener)", w->slot);
    w->listening = 1;
}

void fdh_listen_off(struct fdh_w *w)
{
    if (!w->listening)
        return;
    for (int a = 0; a < w->nlfd; a++)
        if (evloop_io_del(w->el, w->lfd[a]) < 0)
            die("worker %d: evloop_io_del(listener)", w->slot);
    w->listening = 0;
}

/* ---------------------------------------------------------------- a connection starts
 * The --max-conns check, one allocation for the connection and its buffers, its idle
 * timer, its place in the worker's list and counters, and its first read (conn.h).
 * The exchange itself is conn.c. */

void fdh_conn_open(struct fdh_w *w, int fd, int own)
{
    if (w->nconns >= w->cfg->max_conns) {
        /* Over --max-conns. Workers that accept stop accepting AT the limit
         * (fdh_accept_conns_changed), so this is reached only by connections the master
         * passed (it does not know the workers' counts): tell the client (best effort,
         * never blocking) and close. */
        static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nServer: fdhttpd\r\n"
                                   "Content-Length: 0\r\nConnection: close\r\n\r\n";
        (void)!send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        close(fd);
        return;
    }
    struct fdh_conn *c = malloc(fdh_conn_idle_bytes(w->cfg->max_header_bytes));
    if (c == NULL) {
        warn_errno("worker %d: connection", w->slot);
        close(fd);
        return;
    }
    /* Everything but the two buffers (24 KiB that need no zeroes: outlen and inlen say
     * what is valid). Zeroing them was 5% of a Connection: close request's CPU. */
    memset(c, 0, offsetof(struct fdh_conn, out));
    c->w = w;
    c->fd = fd;
    c->state = CS_HEAD;
    c->tfd = -1;
    c->r.file_fd = -1;
    c->own = own;
    ev_timer_init(&c->timer, fdh_conn_on_timeout, c);
    c->tmode = T_IDLE;
    if (evloop_timer_start(w->el, &c->timer, w->cfg->keepalive_timeout_ms, 0) < 0) {
        warn_errno("worker %d: timer for fd %d", w->slot, fd);
        close(fd);
        free(c);
        return;
    }
    c->prev = NULL;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    atomic_fetch_add_explicit(&w->me->accepted, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->me->active, 1, memory_order_relaxed);
    /* A connection this worker accepted itself comes through TCP_DEFER_ACCEPT (worker.c):
     * its first bytes are there, so read and answer now — no epoll_ctl and no epoll_wait
     * round trip before the first request; a Connection: close exchange is over without
     * the socket ever entering the epoll set (advance registers it when it stays open).
     * A passed one (passfd) waits for epoll: the master accepted it without deferring. */
    if (c->own)
        fdh_conn_on_io(w->el, fd, EV_READ, c);
    else
        fdh_conn_want(c, EV_READ); /* on failure it closed c */
}
