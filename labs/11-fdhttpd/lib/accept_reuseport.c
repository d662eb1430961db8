/* accept_reuseport.c — one SO_REUSEPORT listener per worker (lab 08).
 *
 * The master binds one socket per worker to the same address with SO_REUSEPORT before the
 * first fork; the kernel puts them in one reuseport group and picks the socket of each
 * new connection by a hash of its 4-tuple. Worker N keeps socket N only, in its epoll
 * set level-triggered: the connection already belongs to it, nobody races for it. The
 * price: a connection queued on a worker's socket waits for THAT worker, however busy.
 * The group's size is the worker count, so a reload cannot change --workers (it would
 * have to close sockets, resetting their queues: accept.c refuses).
 */
#include "accept.h"
#include "worker.h"

static int own_listener(int slot)
{
    return slot;
}

const struct fdh_accept_ops fdh_accept_reuseport = {
    .name = "reuseport",
    .nlisteners = fdh_accept_per_slot,
    .reuseport = 1,
    .slot_listener = own_listener,
    .listen_mask = EV_READ,
    .worker_start = fdh_listen_on,
    .worker_resume = fdh_listen_on,
};
