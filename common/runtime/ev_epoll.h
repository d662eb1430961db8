/* ev_epoll.h — the epoll backend of evloop.h, behind a narrow interface.
 *
 * The loop (evloop.c) knows nothing of epoll: it speaks EV_* masks (evloop.h) and
 * opaque 64-bit tags, and this file translates. Another backend (poll, kqueue)
 * would implement the same six functions. Not for direct use by labs.
 *
 * ev_backend_new(maxevents): an epoll instance (epoll_create1(EPOLL_CLOEXEC)) and a
 *   buffer for up to maxevents (>= 1) events per wait. Returns NULL with errno
 *   (EINVAL, ENOMEM, EMFILE, ...); nothing is left open on failure.
 * ev_backend_free(b): closes the epoll fd, frees b. NULL is accepted.
 * ev_backend_add(b, fd, mask, tag) / ev_backend_mod(...): EPOLL_CTL_ADD / _MOD with
 *   EPOLLIN|EPOLLRDHUP for EV_READ, EPOLLOUT for EV_WRITE, EPOLLET for EV_EDGE,
 *   EPOLLEXCLUSIVE for EV_EXCLUSIVE (then EV_READ is EPOLLIN alone: the kernel refuses
 *   EPOLLRDHUP with it; the caller never passes EV_EXCLUSIVE to _mod);
 *   tag comes back with every event of fd. Return 0 or -1 with errno
 *   from epoll_ctl(2) (EEXIST, ENOENT, EBADF, EPERM for a regular file, ...).
 * ev_backend_del(b, fd): EPOLL_CTL_DEL. 0 or -1 with errno (ENOENT, EBADF).
 * ev_backend_wait(b, timeout_ms, &fired): one epoll_wait(2); timeout_ms -1 blocks.
 *   Returns the number of events (0 on timeout) and points *fired at the backend's
 *   own array, valid until the next wait; -1 with errno (EINTR included: the caller
 *   decides). Each fired event has the tag and the EV_* mask (EV_READ, EV_WRITE,
 *   EV_HUP for EPOLLHUP/EPOLLRDHUP, EV_ERR for EPOLLERR).
 * ev_backend_fd(b): the epoll descriptor (for tests and notes).
 */
#ifndef FDLAB_EV_EPOLL_H
#define FDLAB_EV_EPOLL_H

#include <stdint.h>

struct ev_backend;

struct ev_fired {
    uint64_t tag;
    unsigned events;
};

struct ev_backend *ev_backend_new(int maxevents);
void ev_backend_free(struct ev_backend *b);
int ev_backend_add(struct ev_backend *b, int fd, unsigned mask, uint64_t tag);
int ev_backend_mod(struct ev_backend *b, int fd, unsigned mask, uint64_t tag);
int ev_backend_del(struct ev_backend *b, int fd);
int ev_backend_wait(struct ev_backend *b, int timeout_ms, const struct ev_fired **fired);
int ev_backend_fd(const struct ev_backend *b);

#endif
