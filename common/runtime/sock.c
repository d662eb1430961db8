/* sock.c — see sock.h. */
#include "sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int make_addr(const char *ip4, uint16_t port, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    if (inet_pton(AF_INET, ip4, &sa->sin_addr) != 1) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

static int fail_close(int fd)
{
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

int tcp_listen(const char *ip4, uint16_t port, int backlog, int flags, uint16_t *bound_port)
{
    if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC | SOCK_REUSEPORT)) {
        errno = EINVAL;
        return -1;
    }
    struct sockaddr_in sa;
    if (make_addr(ip4, port, &sa) < 0)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | (flags & (SOCK_NONBLOCK | SOCK_CLOEXEC)), 0);
    if (fd < 0)
        return -1;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        return fail_close(fd);
    if ((flags & SOCK_REUSEPORT) && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
        return fail_close(fd);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, backlog) < 0)
        return fail_close(fd);
    if (bound_port) {
        int p = sock_local_port(fd);
        if (p < 0)
            return fail_close(fd);
        *bound_port = (uint16_t)p;
    }
    return fd;
}

int tcp_listen_loopback(int backlog, int flags, uint16_t *bound_port)
{
    return tcp_listen("127.0.0.1", 0, backlog, flags, bound_port);
}

int tcp_connect(const char *ip4, uint16_t port, int flags)
{
    if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) {
        errno = EINVAL;
        return -1;
    }
    struct sockaddr_in sa;
    if (make_addr(ip4, port, &sa) < 0)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | (flags & SOCK_CLOEXEC), 0);
    if (fd < 0)
        return -1;
    int rc;
    do
        rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    while (rc < 0 && errno == EINTR);
    /* A connect interrupted by a signal continues in the background: EALREADY /
     * EISCONN from the retry are then not errors we can report simply, so treat
     * EISCONN as success. */
    if (rc < 0 && errno != EISCONN)
        return fail_close(fd);
    if (flags & SOCK_NONBLOCK) {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
            return fail_close(fd);
    }
    return fd;
}

int sock_local_port(int fd)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        return -1;
    if (sa.sin_family != AF_INET) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    return ntohs(sa.sin_port);
}
