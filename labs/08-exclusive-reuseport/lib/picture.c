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
        int w = fdsnap_proc(snap, pool->pid[i], role);
        fdsnap_sockets(snap, w);
        /* A worker's sockets are its epoll instance and its listener (pool.c). */
        int tfd;
        for (int k = 0, fd; (fd = fdsnap_nth_fd(snap, w, k)) >= 0; k++)
            fdsnap_note(snap, w, fd, fdsnap_watches(snap, w, fd, &tfd, 1) >= 0 ? "its epoll instance"
                                     : mode == POOL_REUSEPORT ? "its own listener (SO_REUSEPORT)"
                                                              : "the listener, inherited: one for all");
    }
}
