/* accept_reuseport.c — one SO_REUSEPORT listener per worker (lab 08).
 *
 * The master binds one socket per worker to the same address with SO_REUSEPORT before the
 * first fork; the kernel puts them in one reuseport group and picks the socket of each
 * new connection by a hash of its 4-tuple. Worker N keeps socket N only, in its epoll
 * set level-triggered: the connection already belongs to it, nobody races for it. The
 * price: a connection queued on a worker's socket waits for THAT worker, however busy.
 * The group's size is the worker count, so a reload cannot change --workers (it would
 * have to close sockets, resetting their queues: accept.c refuses). While a slot has
 * no worker the master serves its listener (accept_takeover.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "accept.h"
#include "master.h"
#include "worker.h"

static int own_listener(int slot)
{
    return slot;
}

static int master_listening(struct master *m, char *why, size_t len)
{
    if ((m->accept_state = fdh_takeover_new(m)) == NULL)
        return snprintf(why, len, "takeover state: %s", strerror(errno)), -1;
    return 0;
}

static void master_slot(struct master *m, int slot, int served)
{
    fdh_takeover_slot(m->accept_state, slot, served);
}

static void master_end(struct master *m)
{
    fdh_takeover_free(m->accept_state);
    m->accept_state = NULL;
}

const struct fdh_accept_ops fdh_accept_reuseport = {
    .name = "reuseport",
    .nlisteners = fdh_accept_per_slot,
    .reuseport = 1,
    .slot_listener = own_listener,
    .listen_mask = EV_READ,
    .worker_start = fdh_listen_on,
    .worker_resume = fdh_listen_on,
    .master_listening = master_listening,
    .master_slot = master_slot,
    .master_end = master_end,
};
