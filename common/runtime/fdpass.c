/* fdpass.c — see fdpass.h. */
#include "fdpass.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Control buffer big enough for FDPASS_MAX descriptors plus one SCM_CREDENTIALS
 * message (present on every message once the receiver enables SO_PASSCRED). */
#define CTL_SPACE (CMSG_SPACE(FDPASS_MAX * sizeof(int)) + CMSG_SPACE(sizeof(struct ucred)))

union ctlbuf {
    char buf[CTL_SPACE];
    struct cmsghdr align; /* CMSG_* need cmsghdr alignment */
};

ssize_t send_fds(int sock, const int *fds, size_t nfds, const void *buf, size_t len)
{
    if (nfds > FDPASS_MAX || (nfds > 0 && !fds) || len == 0 || !buf) {
        errno = EINVAL;
        return -1;
    }
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    union ctlbuf ctl;
    if (nfds > 0) {
        memset(&ctl, 0, sizeof ctl);
        msg.msg_control = ctl.buf;
        msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
    }
    ssize_t n;
    do
        n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n;
}

/* Close every descriptor carried by the SCM_RIGHTS messages in msg. */
static void close_received(struct msghdr *msg)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            close(fd);
        }
    }
}

ssize_t recv_fds(int sock, int *fds, size_t *nfds, void *buf, size_t len)
{
    if (!nfds || *nfds > FDPASS_MAX || (*nfds > 0 && !fds) || len == 0 || !buf) {
        if (nfds)
            *nfds = 0;
        errno = EINVAL;
        return -1;
    }
    size_t cap = *nfds;
    *nfds = 0;
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    union ctlbuf ctl;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    /* Always offer room for the kernel maximum, so that surplus descriptors are
     * delivered to us (and closed below) rather than half-delivered; the caller's
     * capacity is enforced after the fact. */
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof ctl.buf;
    ssize_t n;
    do
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;

    size_t got = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            got += (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

    if ((msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) || got > cap) {
        close_received(&msg);
        errno = EMSGSIZE;
        return -1;
    }
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        memcpy(fds + *nfds, CMSG_DATA(c), k * sizeof(int));
        *nfds += k;
    }
    return n;
}
