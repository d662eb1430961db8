/* bigwrite.c — partial writes and EPOLLOUT, on the evloop (see ew.h).
 *
 * One process, one loop, three registrations: the listener, the server's
 * connection, and the client's socket (registered only after late_ms: the client
 * "reads late"). The server's write path is the one fdhttpd will use:
 *   write until done or EAGAIN; on EAGAIN turn EV_WRITE on and return to the loop;
 *   on EV_WRITE continue; when done turn EV_WRITE off again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "evloop.h"
#include "ew.h"
#include "sock.h"

enum { BIG = 8 << 20, SNDBUF = 4096, LATE_MS = 200, CLIENT_CHUNK = 4096 };

struct bw {
    struct bigwrite_result *r;
    unsigned char *data;
    int lfd, sfd, cfd;
    long sent;
    char req[16];
    int reqlen;
    struct ev_timer late, guard;
};

static void server_write(struct evloop *el, struct bw *b)
{
    while (b->sent < BIG) {
        size_t want = (size_t)(BIG - b->sent);
        ssize_t n = write(b->sfd, b->data + b->sent, want);
        b->r->write_calls++;
        if (n < 0) {
            if (errno != EAGAIN)
                die("write response");
            b->r->eagain++;
            /* the socket buffer is full: ask to be told when there is room */
            if (!(evloop_io_mask(el, b->sfd) & EV_WRITE) &&
                evloop_io_mod(el, b->sfd, EV_READ | EV_WRITE) < 0)
                die("evloop_io_mod +EV_WRITE");
            return;
        }
        if ((size_t)n < want)
            b->r->short_writes++;
        b->sent += n;
    }
    b->r->bytes_sent = b->sent;
    /* all of it is in the kernel: no more EV_WRITE (it would fire on every
     * iteration, level-triggered, with nothing to write); FIN after the data. */
    if (evloop_io_del(el, b->sfd) < 0)
        die("evloop_io_del server");
    if (shutdown(b->sfd, SHUT_WR) < 0)
        die("shutdown");
}

static void on_server(struct evloop *el, int fd, unsigned events, void *ud)
{
    struct bw *b = ud;
    if (events & EV_WRITE) {
        b->r->epollout_wakeups++;
        server_write(el, b);
        return;
    }
    if (b->reqlen < (int)sizeof b->req - 1) {
        ssize_t n = read(fd, b->req + b->reqlen, sizeof b->req - 1 - (size_t)b->reqlen);
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0)
            die("read request");
        b->reqlen += (int)n;
    }
    if (memchr(b->req, '\n', (size_t)b->reqlen) != NULL && b->sent == 0)
        server_write(el, b);
}

static void on_listen(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)events;
    struct bw *b = ud;
    int a = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (a < 0) {
        if (errno == EAGAIN)
            return;
        die("accept4");
    }
    int sz = SNDBUF;
    socklen_t len = sizeof sz;
    if (setsockopt(a, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz) < 0 ||
        getsockopt(a, SOL_SOCKET, SO_SNDBUF, &sz, &len) < 0)
        die("SO_SNDBUF");
    b->r->sndbuf_got = sz; /* the kernel doubles the request, socket(7) */
    b->sfd = a;
    if (evloop_io_add(el, a, EV_READ, on_server, b) < 0)
        die("evloop_io_add server");
    /* one connection only */
    if (evloop_io_del(el, fd) < 0)
        die("evloop_io_del listener");
}

static void on_client(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)events;
    struct bw *b = ud;
    unsigned char buf[CLIENT_CHUNK];
    ssize_t n = read(fd, buf, sizeof buf); /* one chunk per notification: slow */
    if (n < 0) {
        if (errno == EAGAIN)
            return;
        die("client read");
    }
    b->r->client_reads++;
    if (n == 0) {
        b->r->completed = 1;
        if (evloop_io_del(el, fd) < 0)
            die("evloop_io_del client");
        evloop_stop(el);
        return;
    }
    b->r->sum_received = ew_fnv1a(b->r->sum_received, buf, (size_t)n);
    b->r->bytes_received += n;
}

static void on_late(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)t;
    struct bw *b = ud;
    if (evloop_io_add(el, b->cfd, EV_READ, on_client, b) < 0)
        die("evloop_io_add client");
}

static void on_guard(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)t;
    (void)ud;
    evloop_stop(el); /* bound: completed stays 0 */
}

void ew_bigwrite(struct bigwrite_result *r)
{
    memset(r, 0, sizeof *r);
    r->big_bytes = BIG;
    r->sndbuf_set = SNDBUF;
    r->late_ms = LATE_MS;
    struct bw b = {.r = r, .sfd = -1};
    b.data = malloc(BIG);
    if (b.data == NULL)
        die("malloc");
    uint64_t x = 0x9e3779b97f4a7c15ULL; /* xorshift64: incompressible, reproducible */
    for (long i = 0; i < BIG; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b.data[i] = (unsigned char)x;
    }
    r->sum_sent = ew_fnv1a(EW_FNV_INIT, b.data, BIG);
    r->sum_received = EW_FNV_INIT;

    struct evloop *el = evloop_new();
    if (el == NULL)
        die("evloop_new");
    uint16_t port;
    b.lfd = tcp_listen_loopback(4, SOCK_NONBLOCK | SOCK_CLOEXEC, &port);
    if (b.lfd < 0)
        die("tcp_listen_loopback");
    if (evloop_io_add(el, b.lfd, EV_READ, on_listen, &b) < 0)
        die("evloop_io_add listener");
    /* The client: a small receive buffer too (set before connect, so the window
     * is small from the handshake on), then the request. */
    b.cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (b.cfd < 0)
        die("socket");
    int rcv = 4096;
    if (setsockopt(b.cfd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv) < 0)
        die("SO_RCVBUF");
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(b.cfd, (struct sockaddr *)&sa, sizeof sa) < 0)
        die("connect");
    ew_set_nonblock(b.cfd);
    if (write(b.cfd, "GET /big\n", 9) != 9)
        die("write request");

    ev_timer_init(&b.late, on_late, &b);
    ev_timer_init(&b.guard, on_guard, &b);
    if (evloop_timer_start(el, &b.late, LATE_MS, 0) < 0 ||
        evloop_timer_start(el, &b.guard, 20000, 0) < 0)
        die("evloop_timer_start");
    if (evloop_run(el) < 0)
        die("evloop_run");
    evloop_timer_stop(el, &b.late);
    evloop_timer_stop(el, &b.guard);
    evloop_free(el);
    if (b.sfd >= 0)
        close(b.sfd);
    close(b.cfd);
    close(b.lfd);
    free(b.data);
}
