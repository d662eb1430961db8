/* labreply.c — see labreply.h. */
#include "labreply.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define REQ_MAX 4096
#define WAIT_MS 5000

/* Wait until fd is ready for `events`, at most WAIT_MS. Waiting before every read or
 * write bounds each step whether fd is blocking or not: on a blocking socket a read
 * after POLLIN returns at once, and a non-blocking one never sees EAGAIN then. */
static int wait_for(int fd, short events)
{
    struct pollfd p = {.fd = fd, .events = events};
    for (;;) {
        int n = poll(&p, 1, WAIT_MS);
        if (n > 0)
            return 0; /* readable, writable, or an error/HUP the next call reports */
        if (n == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (errno != EINTR)
            return -1;
    }
}

/* Read until the blank line that ends the request headers. */
static int read_request(int fd)
{
    char buf[REQ_MAX];
    size_t len = 0;
    for (;;) {
        if (len == sizeof buf) {
            errno = EMSGSIZE;
            return -1;
        }
        if (wait_for(fd, POLLIN) < 0)
            return -1;
        ssize_t n = read(fd, buf + len, sizeof buf - len);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        if (n == 0) { /* the client went away before finishing its request */
            errno = ECONNRESET;
            return -1;
        }
        /* Search from 3 bytes before the new data: the terminator may straddle reads. */
        size_t from = len >= 3 ? len - 3 : 0;
        len += (size_t)n;
        if (memmem(buf + from, len - from, "\r\n\r\n", 4))
            return 0;
    }
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        if (wait_for(fd, POLLOUT) < 0)
            return -1;
        /* send(MSG_NOSIGNAL): a client that closed early must not kill the worker
         * with SIGPIPE; fall back to write() for a non-socket fd. */
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == ENOTSOCK)
            n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int lab_serve(int fd, int worker_id)
{
    char reply[160];
    int rc = read_request(fd);
    if (rc == 0) {
        int n = snprintf(reply, sizeof reply,
                         "HTTP/1.1 200 OK\r\nX-Worker: %d\r\nContent-Length: 3\r\n"
                         "Connection: close\r\n\r\nok\n",
                         worker_id);
        rc = write_all(fd, reply, (size_t)n);
    }
    int e = errno;
    close(fd);
    if (rc < 0)
        errno = e;
    return rc;
}
