/* ev_epoll.c — see ev_epoll.h. */
#include "ev_epoll.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "evloop.h"

struct ev_backend {
    int epfd;
    int max;
    struct epoll_event *ev; /* what epoll_wait filled */
    struct ev_fired *fired; /* the same, translated */
};

struct ev_backend *ev_backend_new(int maxevents)
{
    if (maxevents < 1) {
        errno = EINVAL;
        return NULL;
    }
    struct ev_backend *b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    b->max = maxevents;
    b->ev = calloc((size_t)maxevents, sizeof *b->ev);
    b->fired = calloc((size_t)maxevents, sizeof *b->fired);
    b->epfd = -1;
    if (b->ev == NULL || b->fired == NULL || (b->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        int e = errno;
        ev_backend_free(b);
        errno = e;
        return NULL;
    }
    return b;
}

void ev_backend_free(struct ev_backend *b)
{
    if (b == NULL)
        return;
    if (b->epfd >= 0)
        close(b->epfd);
    free(b->ev);
    free(b->fired);
    free(b);
}

static int ctl(struct ev_backend *b, int op, int fd, unsigned mask, uint64_t tag)
{
    struct epoll_event e = {.events = 0, .data.u64 = tag};
    /* EPOLLRDHUP only with read interest: a writer-only fd would otherwise be woken
     * again and again (level-triggered) once the peer shut down its side. */
    if (mask & EV_READ)
        e.events |= EPOLLIN | ((mask & EV_EXCLUSIVE) ? 0 : EPOLLRDHUP); /* not allowed with it */
    if (mask & EV_WRITE)
        e.events |= EPOLLOUT;
    if (mask & EV_EDGE)
        e.events |= EPOLLET;
    if (mask & EV_EXCLUSIVE)
        e.events |= EPOLLEXCLUSIVE; /* ADD only: evloop.c refuses it for MOD */
    return epoll_ctl(b->epfd, op, fd, &e);
}

int ev_backend_add(struct ev_backend *b, int fd, unsigned mask, uint64_t tag)
{
    return ctl(b, EPOLL_CTL_ADD, fd, mask, tag);
}

int ev_backend_mod(struct ev_backend *b, int fd, unsigned mask, uint64_t tag)
{
    return ctl(b, EPOLL_CTL_MOD, fd, mask, tag);
}

int ev_backend_del(struct ev_backend *b, int fd)
{
    /* A non-NULL event: kernels before 2.6.9 required one (epoll_ctl(2) BUGS). */
    struct epoll_event e = {0};
    return epoll_ctl(b->epfd, EPOLL_CTL_DEL, fd, &e);
}

int ev_backend_wait(struct ev_backend *b, int timeout_ms, const struct ev_fired **fired)
{
    int n = epoll_wait(b->epfd, b->ev, b->max, timeout_ms);
    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        uint32_t r = b->ev[i].events;
        unsigned m = 0;
        if (r & EPOLLIN)
            m |= EV_READ;
        if (r & EPOLLOUT)
            m |= EV_WRITE;
        if (r & (EPOLLHUP | EPOLLRDHUP))
            m |= EV_HUP;
        if (r & EPOLLERR)
            m |= EV_ERR;
        b->fired[i].tag = b->ev[i].data.u64;
        b->fired[i].events = m;
    }
    *fired = b->fired;
    return n;
}

int ev_backend_fd(const struct ev_backend *b)
{
    return b->epfd;
}
