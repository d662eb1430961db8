/* picture.c — see picture.h. */
#include "picture.h"

#include <stdio.h>

void pool_draw(struct fdsnap *snap, const struct pool *pool, enum pool_mode mode)
{
    if (!snap)
        return;
    fdsnap_panel(snap, mode == POOL_REUSEPORT ? "SO_REUSEPORT: a listener per worker, all on one port"
                       : mode == POOL_EXCLUSIVE ? "EPOLLEXCLUSIVE: one listener, in every worker's epoll instance"
                                                : "nginx: one listener, re-added to the epoll instances");
    for (int i = 0; i < pool->n; i++) {
        char role[32];
        snprintf(role, sizeof role, "worker %d", i);
        fdsnap_sockets(snap, fdsnap_proc(snap, pool->pid[i], role));
    }
}
