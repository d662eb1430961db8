/* ltet.c — level- versus edge-triggered on the same input (see ew.h). Raw epoll:
 * the point is what epoll_wait(2) itself reports. */
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "ew.h"

void ew_ltet(int edge, struct ltet_result *r)
{
    memset(r, 0, sizeof *r);
    r->arrivals = 3;
    r->per_arrival = 2048;
    r->chunk = 512;

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        die("socketpair");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    struct epoll_event ev = {.events = EPOLLIN | (edge ? EPOLLET : 0), .data.fd = sv[0]};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev) < 0)
        die("epoll_ctl ADD");

    char buf[4096];
    memset(buf, 'a', sizeof buf);
    for (long a = 0; a < r->arrivals; a++) {
        /* One arrival: on an AF_UNIX stream socket the bytes are in the peer's
         * queue, and the peer's waiters woken, when write() returns. */
        if (write(sv[1], buf, (size_t)r->per_arrival) != r->per_arrival)
            die("write arrival %ld", a);
        /* Ask until epoll has nothing more to say (bounded: LT needs
         * per_arrival/chunk rounds at most per arrival). */
        for (int round = 0; round < 1000; round++) {
            struct epoll_event got[4];
            int n = epoll_wait(ep, got, 4, 0);
            if (n < 0)
                die("epoll_wait");
            r->waits++;
            if (n == 0)
                break;
            r->notifications += n;
            /* the handler reads only part of what is there */
            ssize_t k = read(sv[0], buf, (size_t)r->chunk);
            if (k < 0)
                die("read");
            r->bytes_read += k;
        }
    }
    r->bytes_left = ew_inq(sv[0]);
    close(ep);
    close(sv[0]);
    close(sv[1]);
}
