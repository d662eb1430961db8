/* accept_exclusive.c — one listener shared by every worker, registered with
 * EPOLLEXCLUSIVE (lab 08).
 *
 * Every worker has the same listening socket in its own epoll set. Without the flag a
 * new connection wakes every worker waiting on it (the thundering herd of lab 06);
 * with it the kernel wakes one (or a few) of them (epoll_ctl(2)). evloop's
 * EV_EXCLUSIVE sets EPOLLEXCLUSIVE at EPOLL_CTL_ADD; the kernel forbids changing it
 * with MOD, so fdh_listen_off deletes and fdh_listen_on adds again.
 *
 * The listener must sit in the worker's OWN epoll instance, the one it sleeps on. A
 * nested epoll instance would not do: the exclusive wake-up would land on the inner
 * instance, which has no waiter of its own, and the kernel would go on to wake the
 * next exclusive waiter: the herd again.
 */
#include "accept.h"
#include "worker.h"

static int shared_listener(int slot)
{
    (void)slot;
    return 0;
}

const struct fdh_accept_ops fdh_accept_exclusive = {
    .name = "exclusive",
    .nlisteners = fdh_accept_one,
    .slot_listener = shared_listener,
    .listen_mask = EV_READ | EV_EXCLUSIVE,
    .worker_start = fdh_listen_on,
    .worker_resume = fdh_listen_on,
};
