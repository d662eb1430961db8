/* util.c — see lab03.h. */
#include "lab03.h"

#include "err.h"
#include "fdpass.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

int poll_now(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
    int n;
    do
        n = poll(&p, 1, 0);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -1 : p.revents;
}

int ch_send(int ch, const struct chmsg *m, int fd)
{
    ssize_t n = send_fds(ch, &fd, fd >= 0 ? 1 : 0, m, sizeof *m);
    if (n == (ssize_t)sizeof *m)
        return 0;
    if (n >= 0)
        errno = EPROTO; /* SEQPACKET never sends part of a message */
    return -1;
}

int ch_recv(int ch, struct chmsg *m, int *fd, int ms)
{
    if (fd)
        *fd = -1;
    int r = wait_readable(ch, ms);
    if (r <= 0) {
        if (r == 0)
            errno = ETIMEDOUT;
        return -1;
    }
    int got = -1;
    size_t nfds = fd ? 1 : 0;
    ssize_t n = recv_fds(ch, &got, &nfds, m, sizeof *m);
    if (n == 0)
        return 0;
    if (n < 0)
        return -1;
    if (n != (ssize_t)sizeof *m) {
        if (nfds)
            close(got);
        errno = EPROTO;
        return -1;
    }
    if (fd && nfds)
        *fd = got;
    return 1;
}

void seqpair_or_die(int sv[2])
{
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        die("socketpair");
}

int open_extra_fds(int *fds, int n)
{
    for (int i = 0; i < n; i++) {
        fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fds[i] < 0) {
            int e = errno;
            while (i-- > 0)
                close(fds[i]);
            errno = e;
            return -1;
        }
    }
    return 0;
}

void close_fds(const int *fds, int n)
{
    for (int i = 0; i < n; i++)
        close(fds[i]);
}
