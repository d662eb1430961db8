/* conn_open.c — how a connection starts: the --max-conns check, one allocation for the
 * connection and its buffers, its idle timer, its place in the worker's list and
 * counters, and its first read (conn.h). The exchange itself is conn.c.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "err.h"

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
    size_t incap = (size_t)w->cfg->max_header_bytes + 1;
    struct fdh_conn *c = malloc(sizeof *c + incap);
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
