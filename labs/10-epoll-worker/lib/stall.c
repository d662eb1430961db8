/* stall.c — the edge-triggered bug of not draining until EAGAIN (see ew.h).
 * Raw epoll: the bug lives in how the handler uses the raw API. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "ew.h"
#include "sock.h"

enum { QUIET_MS = 1000, MAX_CONN = 4 };

/* Length of a listener's accept queue: for a socket in LISTEN state the kernel's
 * tcp_get_info() puts sk_ack_backlog into tcpi_unacked. */
static long accept_queue_len(int lfd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    if (getsockopt(lfd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
        die("getsockopt TCP_INFO");
    return ti.tcpi_unacked;
}

/* Wait (bounded) until cond(fd) >= want; the scenario is deterministic only then. */
static void wait_until(long (*cond)(int), int fd, long want, const char *what)
{
    long t0 = ew_ms_now();
    while (cond(fd) < want) {
        if (ew_ms_now() - t0 > 10000)
            die_msg("%s: still %ld < %ld after 10 s", what, cond(fd), want);
        usleep(1000);
    }
}

static void add(int ep, int fd, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.fd = fd};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        die("epoll_ctl ADD %d", fd);
}

/* Clients that received `reply`: wait (bounded) for as many as the server says it
 * answered, then count every readable one. */
static long clients_served(const int *c, int n, long answered, const char *reply)
{
    long t0 = ew_ms_now(), got = 0;
    int done[MAX_CONN] = {0};
    for (;;) {
        for (int i = 0; i < n; i++) {
            if (done[i])
                continue;
            struct pollfd p = {.fd = c[i], .events = POLLIN};
            if (poll(&p, 1, 0) < 0)
                die("poll");
            if (p.revents & POLLIN) {
                char buf[16];
                ssize_t k = read(c[i], buf, sizeof buf);
                done[i] = 1;
                if (k == (ssize_t)strlen(reply) && memcmp(buf, reply, (size_t)k) == 0)
                    got++;
            }
        }
        if (got >= answered || ew_ms_now() - t0 > 5000)
            return got;
        usleep(1000);
    }
}

void ew_stall_accept(int drain, struct stall_result *r)
{
    memset(r, 0, sizeof *r);
    r->drain = drain;
    r->quiet_ms = QUIET_MS;
    r->clients = 2;
    uint16_t port;
    int l = tcp_listen_loopback(16, SOCK_NONBLOCK | SOCK_CLOEXEC, &port);
    if (l < 0)
        die("tcp_listen_loopback");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    add(ep, l, EPOLLIN | EPOLLET);

    /* Both clients connect and send before the server's first epoll_wait, and we
     * make sure both sit in the accept queue: one edge for two connections. */
    int c[2];
    for (int i = 0; i < 2; i++) {
        if ((c[i] = tcp_connect("127.0.0.1", port, SOCK_CLOEXEC)) < 0)
            die("tcp_connect");
        if (write(c[i], "ping\n", 5) != 5)
            die("write ping");
    }
    wait_until(accept_queue_len, l, 2, "accept queue");

    int conn[MAX_CONN], got[MAX_CONN], nconn = 0;
    long answered = 0;
    for (int iter = 0; iter < 100; iter++) {
        struct epoll_event ev[8];
        int n = epoll_wait(ep, ev, 8, QUIET_MS);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        if (n <= 0)
            break; /* quiet for QUIET_MS: nothing will ever come */
        for (int i = 0; i < n; i++) {
            int fd = ev[i].data.fd;
            if (fd == l) {
                r->notifications++;
                do { /* the bug: without drain, one accept per edge */
                    int a = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (a < 0) {
                        if (errno == EAGAIN)
                            break;
                        die("accept4");
                    }
                    if (nconn == MAX_CONN)
                        die_msg("unexpected connection");
                    r->accepted++;
                    got[nconn] = 0;
                    conn[nconn++] = a;
                    add(ep, a, EPOLLIN | EPOLLET);
                } while (drain);
                continue;
            }
            /* a connection: this reader is correct (drains until EAGAIN) */
            int k = 0;
            while (k < nconn && conn[k] != fd)
                k++;
            for (;;) {
                char buf[64];
                ssize_t m = read(fd, buf, sizeof buf);
                if (m < 0 && errno == EAGAIN)
                    break;
                if (m <= 0)
                    die("read request");
                got[k] += (int)m;
            }
            if (got[k] >= 5 && got[k] < 100) {
                if (send(fd, "pong\n", 5, MSG_NOSIGNAL) != 5)
                    die("write pong");
                got[k] = 100; /* answered */
                answered++;
            }
        }
    }
    r->queued_after = accept_queue_len(l);
    r->served = clients_served(c, 2, answered, "pong\n");
    for (int i = 0; i < nconn; i++)
        close(conn[i]);
    for (int i = 0; i < 2; i++)
        close(c[i]);
    close(ep);
    close(l);
}

void ew_stall_read(int drain, struct stall_result *r)
{
    memset(r, 0, sizeof *r);
    r->drain = drain;
    r->quiet_ms = QUIET_MS;
    r->clients = 1;
    r->req_bytes = 16384;
    r->buf_bytes = 4096;
    uint16_t port;
    int l = tcp_listen_loopback(4, SOCK_CLOEXEC, &port);
    if (l < 0)
        die("tcp_listen_loopback");
    int c = tcp_connect("127.0.0.1", port, SOCK_CLOEXEC);
    if (c < 0)
        die("tcp_connect");
    int a = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (a < 0)
        die("accept4");
    static char buf[16384];
    memset(buf, 'r', sizeof buf);
    if (write(c, buf, (size_t)r->req_bytes) != r->req_bytes)
        die("write request");
    /* the whole request is queued before the server looks: exactly one edge */
    wait_until(ew_inq, a, r->req_bytes, "receive queue");

    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    add(ep, a, EPOLLIN | EPOLLET);
    long answered = 0;
    for (int iter = 0; iter < 100; iter++) {
        struct epoll_event ev[2];
        int n = epoll_wait(ep, ev, 2, QUIET_MS);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        if (n <= 0)
            break;
        r->notifications++;
        do { /* the bug: without drain, one buffer per edge */
            ssize_t m = read(a, buf, (size_t)r->buf_bytes);
            if (m < 0 && errno == EAGAIN)
                break;
            if (m <= 0)
                die("read");
            r->bytes_read += m;
        } while (drain);
        if (r->bytes_read == r->req_bytes && answered == 0) {
            if (send(a, "done\n", 5, MSG_NOSIGNAL) != 5)
                die("write reply");
            answered = 1;
        }
    }
    r->bytes_left = ew_inq(a);
    r->served = clients_served(&c, 1, answered, "done\n");
    close(ep);
    close(a);
    close(c);
    close(l);
}
