/* conn_end.c — how a connection ends without losing a response: lingering after a
 * closing response, the half-close of an idle connection when the worker drains, and
 * the timeouts (conn.h).
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"

#define LINGER_MS 2000 /* at most this long reading what follows a closing reply */

/* Reads and drops until the client's EOF, or until the timer (min(io timeout,
 * LINGER_MS)) closes. */
static void start_lingering(struct fdh_conn *c)
{
    c->lingering = 1;
    c->tmode = T_NONE;
    long ms = c->w->cfg->io_timeout_ms < LINGER_MS ? c->w->cfg->io_timeout_ms : LINGER_MS;
    if (evloop_timer_start(c->w->el, &c->timer, ms, 0) < 0)
        fdh_conn_close(c);
}

/* After a closing response: close(2) with unread bytes in the receive queue makes the
 * kernel send RST (tcp(7)), and an RST can destroy the response before the client has
 * read it (the 413 or 431 of a client still sending). So: shut down our side (the
 * client sees EOF after the response), drop whatever still arrives, close on the
 * client's EOF or after LINGER_MS (nginx's lingering_close).
 * Only when unread bytes are possible: after an error reply (the client may still be
 * sending), with bytes buffered, or when the last read filled the buffer (more may
 * wait in the socket). A plain "Connection: close" exchange — the request complete,
 * nothing else read — closes at once, without another system call. */
void fdh_conn_linger(struct fdh_conn *c)
{
    int unread = c->dirty || c->inlen > 0 || c->rfull;
    if (!unread || c->eof || shutdown(c->fd, SHUT_WR) < 0) {
        fdh_conn_close(c);
        return;
    }
    c->inlen = 0;
    if (fdh_conn_want(c, EV_READ) == 0)
        start_lingering(c);
}

void fdh_conn_linger_read(struct fdh_conn *c)
{
    char sink[4096];
    for (;;) {
        ssize_t n = read(c->fd, sink, sizeof sink);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            fdh_conn_close(c);
            return;
        }
    }
}

/* Bytes already in the socket (not yet read) make a connection in flight — hence the
 * peek, not just inlen. */
int fdh_conn_is_idle(const struct fdh_conn *c)
{
    if (c->state != CS_HEAD || fdh_conn_pending(c) || c->inlen > 0)
        return 0;
    char b;
    ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return !(n > 0);
}

/* Closing an idle connection outright races a request the client may be sending right
 * now: close(2) with that request unread would send RST, and an RST can arrive before
 * anything else the client reads. So half-close: shutdown(SHUT_WR) sends FIN (the
 * client reads EOF before any response byte, which an HTTP/1.1 client treats as "the
 * server closed the idle connection: retry on a new one"), then linger. */
void fdh_conn_half_close(struct fdh_conn *c)
{
    if (shutdown(c->fd, SHUT_WR) < 0) {
        fdh_conn_close(c);
        return;
    }
    start_lingering(c);
}

void fdh_conn_on_timeout(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)el;
    (void)t;
    struct fdh_conn *c = ud;
    fdh_conn_clock(c->w); /* Date and cache time of THIS event */
    if (!c->lingering && (c->tmode == T_HEAD || c->tmode == T_BODY) && !fdh_conn_pending(c)) {
        /* A request that did not arrive in time: say so (best effort), then close. */
        struct reply r;
        reply_error(&r, 408, REPLY_CLOSE, c->w->xworker, c->w->now);
        (void)!send(c->fd, r.head, r.head_len, MSG_NOSIGNAL | MSG_DONTWAIT | MSG_MORE);
        (void)!send(c->fd, r.body, r.body_len, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    fdh_conn_close(c);
}
