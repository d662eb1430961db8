/* accept_passfd.c — the master accepts and passes each connection to a worker over its
 * channel with SCM_RIGHTS (labs 03 and 09).
 *
 * Only the master has the listener. It starts accepting once the first generation is
 * ready (before, no worker could take a connection, and one accepted then would be
 * closed unanswered — on an upgrade the old master's workers are serving this same
 * listener meanwhile, so leaving it is right). Each connection goes round robin to the
 * next ready worker of the current generation; the master then closes its own copy.
 * When no worker can take it (dead meanwhile: EPIPE; channel full: EAGAIN) the client
 * sees end of file. The master does not know the workers' connection counts: a worker
 * over --max-conns answers 503 itself (conn.c). The costs: one more process on every
 * connection's path, and a sendmsg and a recvmsg per connection.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "accept.h"
#include "channel.h"
#include "err.h"
#include "kv.h"
#include "master.h"
#include "stats.h"

struct passfd {
    struct master *m;
    struct fdh_pass_count n;
    struct ev_timer pause;  /* out of descriptors: the listener rests */
};

static int no_listener(int slot)
{
    (void)slot;
    return -1;
}

/* Out of descriptors (EMFILE: this process; ENFILE: the system; ENOBUFS/ENOMEM): the
 * connection stays in the backlog and the level-triggered listener would wake the
 * master again at once — a busy loop. As the workers do (accept.c): take the listener
 * out of the loop for FDH_EMFILE_PAUSE_MS, warn once per episode, try again. */
static void pause_listener(struct passfd *p, int fd)
{
    if (!p->n.emfile_logged)
        warn_errno("master: accept4: not accepting for %d ms (logged once until an accept succeeds)",
                   FDH_EMFILE_PAUSE_MS);
    p->n.emfile_logged = 1;
    if (evloop_io_del(p->m->el, fd) < 0 || evloop_timer_start(p->m->el, &p->pause, FDH_EMFILE_PAUSE_MS, 0) < 0)
        die("master: pausing the listener");
}

static void on_listener(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)el, (void)events;
    struct passfd *p = ud;
    int addr = 0; /* the master holds one socket per address (nlisteners = 1) */
    while (addr < p->m->ls.naddr - 1 && p->m->ls.fd[addr] != fd)
        addr++;
    if (fdh_accept_master_batch(p->m, fd, addr, -1, &p->n))
        pause_listener(p, fd);
}

/* Every address's socket that is open and not yet in the loop (after a pause, only
 * the paused one). */
static void listen_master(struct passfd *p)
{
    struct master *m = p->m;
    for (int a = 0; a < m->ls.n; a++)
        if (m->ls.fd[a] >= 0 && !evloop_io_mask(m->el, m->ls.fd[a]) &&
            evloop_io_add(m->el, m->ls.fd[a], EV_READ, on_listener, p) < 0)
            die("evloop_io_add(listener)");
}

static void on_pause_end(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)t;
    struct passfd *p = ud;
    struct master *m = p->m;
    (void)el;
    if (m->mode == RUNNING)
        listen_master(p);
}

static void master_ready(struct master *m)
{
    struct passfd *p = calloc(1, sizeof *p);
    if (p == NULL)
        die("master: passfd state");
    p->m = m;
    ev_timer_init(&p->pause, on_pause_end, p);
    m->accept_state = p;
    listen_master(p);
}

static void master_end(struct master *m)
{
    struct passfd *p = m->accept_state;
    if (p)
        evloop_timer_stop(m->el, &p->pause);
    kv_print("passed", "%ld", p ? p->n.passed : 0);
    kv_print("pass_failed", "%ld", p ? p->n.failed : 0);
    free(p);
    m->accept_state = NULL;
}

/* No worker hooks: a worker without a listener gets connections over its channel. */
const struct fdh_accept_ops fdh_accept_passfd = {
    .name = "passfd",
    .nlisteners = fdh_accept_one,
    .slot_listener = no_listener,
    .master_ready = master_ready,
    .master_end = master_end,
};
