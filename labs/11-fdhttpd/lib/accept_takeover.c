/* accept_takeover.c — the master's side of a dead slot's listener (accept.h).
 *
 * With one SO_REUSEPORT listener per worker the kernel places a connection on a
 * listener by a hash of its 4-tuple, whatever becomes of the worker behind it. The
 * master holds every listener for its whole life (closing one would reset its queue,
 * and a respawned worker needs it back), so while slot i has no worker — the back-off
 * of a crash loop lasts up to FDH_BACKOFF_MAX_MS — the connections hashed to listener
 * i wait in its queue, and clients time out.
 *
 * Three ways out were weighed. Closing the listener loses its queue and changes the
 * group's size (the hash then moves connections of every slot). A steering program can
 * skip the slot for NEW connections (accept_steered.c does), but not for those already
 * queued, and plain reuseport has no program. What serves both, unprivileged: the
 * master, which knows when the slot dies and when it is back, puts listener i in its
 * own loop meanwhile, accepts from it and passes each connection to a ready worker
 * over its channel (lab 09's hand-over, passfd's path; conn.c serves a passed socket
 * like an accepted one). Nothing is lost or reset; the cost, a sendmsg per connection
 * and the master on the path, is paid only while a slot is down. A crash-looping
 * worker says READY before it dies: the master lets go on READY and takes over again
 * on the death, and what queued in between is still in the queue. When no other
 * worker is ready (a lone worker, all of them dead) the master leaves the queue alone.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "accept.h"
#include "err.h"
#include "kv.h"
#include "master.h"

struct fdh_takeover {
    struct master *m;
    int down[FDH_MAX_WORKERS];     /* slot i has no ready worker (after being served) */
    int watching[FDH_MAX_WORKERS]; /* listener i is in the master's loop */
    struct fdh_pass_count n;
    struct ev_timer pause;         /* out of descriptors: the listeners rest */
};

static void on_listener(struct evloop *el, int fd, unsigned events, void *ud);

/* Socket slot_listener(slot) of address a (listeners.h: fd[a * per + k]), or -1. */
static int listener_fd(struct fdh_takeover *t, int slot, int a)
{
    const struct fdh_listeners *ls = &t->m->ls;
    int k = t->m->cur->cfg->accept->slot_listener(slot);
    return k >= 0 && k < ls->per && a < ls->naddr ? ls->fd[a * ls->per + k] : -1;
}

/* A slot's sockets, one per address, go in and out of the master's loop together. */
static void watch(struct fdh_takeover *t, int slot, int on)
{
    if (on == t->watching[slot])
        return;
    for (int a = 0; a < t->m->ls.naddr; a++) {
        int fd = listener_fd(t, slot, a);
        if (fd < 0)
            continue;
        if ((on ? evloop_io_add(t->m->el, fd, EV_READ, on_listener, t) : evloop_io_del(t->m->el, fd)) < 0)
            die("master: takeover of listener %d", slot);
    }
    t->watching[slot] = on;
}

/* 1 when a worker other than slot `skip`'s is ready to take a connection. */
static int other_ready(const struct fdh_takeover *t, int skip)
{
    const struct gen *g = t->m->cur;
    for (int i = 0; i < g->cfg->workers; i++)
        if (i != skip && g->w[i].ready && g->w[i].chan >= 0)
            return 1;
    return 0;
}

/* Every down slot's listener is in the master's loop while the server runs, unless
 * the listeners rest (EMFILE) or no other worker could take a connection: then the
 * queue waits for a worker, as it would without the master (a lone worker's respawn
 * takes milliseconds; accepting only to close would turn that wait into errors). */
static void update(struct fdh_takeover *t)
{
    int can = t->m->mode == RUNNING && !ev_timer_active(&t->pause);
    for (int i = 0; i < FDH_MAX_WORKERS; i++)
        watch(t, i, can && t->down[i] && other_ready(t, i));
}

/* The watched slot whose socket fd is, with its address in *addr; -1 when none. */
static int slot_of(struct fdh_takeover *t, int fd, int *addr)
{
    for (int i = 0; i < FDH_MAX_WORKERS; i++)
        for (int a = 0; t->watching[i] && a < t->m->ls.naddr; a++)
            if (listener_fd(t, i, a) == fd) {
                *addr = a;
                return i;
            }
    return -1;
}

/* Out of descriptors: level-triggered, the listener would wake the master at once
 * again. Every listener rests FDH_EMFILE_PAUSE_MS (as the workers' do, accept.c). */
static void rest(struct fdh_takeover *t)
{
    if (!t->n.emfile_logged)
        warn_errno("master: takeover accept4: not accepting for %d ms", FDH_EMFILE_PAUSE_MS);
    t->n.emfile_logged = 1;
    for (int i = 0; i < FDH_MAX_WORKERS; i++)
        watch(t, i, 0);
    if (evloop_timer_start(t->m->el, &t->pause, FDH_EMFILE_PAUSE_MS, 0) < 0)
        die("master: evloop_timer_start");
}

static void on_rested(struct evloop *el, struct ev_timer *tm, void *ud)
{
    (void)el, (void)tm;
    update(ud);
}

static void on_listener(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)el, (void)events;
    struct fdh_takeover *t = ud;
    int addr = 0, slot = slot_of(t, fd, &addr);
    if (slot < 0 || t->m->mode != RUNNING) { /* leaving: the queue is not ours to serve */
        update(t);
        return;
    }
    if (fdh_accept_master_batch(t->m, fd, addr, slot, &t->n))
        rest(t);
}

struct fdh_takeover *fdh_takeover_new(struct master *m)
{
    struct fdh_takeover *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->m = m;
    ev_timer_init(&t->pause, on_rested, t);
    return t;
}

void fdh_takeover_slot(struct fdh_takeover *t, int slot, int served)
{
    if (slot < 0 || slot >= FDH_MAX_WORKERS)
        return;
    t->down[slot] = !served;
    update(t);
}

void fdh_takeover_free(struct fdh_takeover *t)
{
    if (t == NULL)
        return;
    if (t->m->el != NULL) {
        evloop_timer_stop(t->m->el, &t->pause);
        for (int i = 0; i < FDH_MAX_WORKERS; i++)
            watch(t, i, 0);
    }
    kv_print("takeover_passed", "%ld", t->n.passed);
    kv_print("takeover_failed", "%ld", t->n.failed);
    free(t);
}
