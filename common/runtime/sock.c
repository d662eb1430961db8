/* sock.c — see sock.h. */
#include "sock.h"
#include "sockaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail_close(int fd)
{
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

int tcp_listen(const char *ip, uint16_t port, int backlog, int flags, uint16_t *bound_port)
{
    if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC | SOCK_REUSEPORT)) {
        errno = EINVAL;
        return -1;
    }
    struct sa_any a;
    if (sa_parse_ip(ip, port, &a) < 0)
        return -1;
    int fd = socket(a.u.sa.sa_family, SOCK_STREAM | (flags & (SOCK_NONBLOCK | SOCK_CLOEXEC)), 0);
    if (fd < 0)
        return -1;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        return fail_close(fd);
    if ((flags & SOCK_REUSEPORT) && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
        return fail_close(fd);
    /* An IPv6 socket serves IPv6 only, whatever net.ipv6.bindv6only says: "[::]:80"
     * and "0.0.0.0:80" are then two listeners that can coexist, the same on every host. */
    if (a.u.sa.sa_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
        return fail_close(fd);
    if (bind(fd, &a.u.sa, a.len) < 0 || listen(fd, backlog) < 0)
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

int tcp_connect(const char *ip, uint16_t port, int flags)
{
    if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) {
        errno = EINVAL;
        return -1;
    }
    struct sa_any a;
    if (sa_parse_ip(ip, port, &a) < 0)
        return -1;
    int fd = socket(a.u.sa.sa_family, SOCK_STREAM | (flags & SOCK_CLOEXEC), 0);
    if (fd < 0)
        return -1;
    int rc;
    do
        rc = connect(fd, &a.u.sa, a.len);
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
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    int port = sa_port((struct sockaddr *)&ss);
    if (port < 0)
        errno = EAFNOSUPPORT;
    return port;
}
