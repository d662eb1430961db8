/* channel.c — see channel.h. */
#include "channel.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdpass.h"

int chan_pair(int sv[2])
{
    return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
}

const char *chan_cmd_name(int command)
{
    switch (command) {
    case CH_READY: return "ready";
    case CH_CONN: return "conn";
    case CH_DONE: return "done";
    case CH_QUIT: return "quit";
    default: return "unknown";
    }
}

int chan_send(int ch, const struct chan_msg *msg, int fd)
{
    ssize_t n = fd >= 0 ? send_fds(ch, &fd, 1, msg, sizeof *msg)
                        : send_fds(ch, NULL, 0, msg, sizeof *msg);
    if (n < 0)
        return -1;
    if ((size_t)n != sizeof *msg) { /* cannot happen on SEQPACKET: all or nothing */
        errno = EPROTO;
        return -1;
    }
    return 0;
}

int chan_recv(int ch, struct chan_msg *msg, int *fd)
{
    int fds[1];
    size_t nfds = 1;
    *fd = -1;
    /* The buffer is exactly one message: a longer one is cut, recv_fds sees
     * MSG_TRUNC and reports EMSGSIZE (after closing what came with it). */
    ssize_t n = recv_fds(ch, fds, &nfds, msg, sizeof *msg);
    if (n <= 0)
        return (int)n; /* 0: end of file (no descriptor can come with it) */
    int want_fd = msg->command == CH_CONN;
    int known = msg->command >= CH_READY && msg->command <= CH_QUIT;
    if ((size_t)n != sizeof *msg || !known || (int)nfds != want_fd) {
        if (nfds == 1)
            close(fds[0]);
        errno = EPROTO;
        return -1;
    }
    if (want_fd) {
        *fd = fds[0];
        msg->fd = fds[0]; /* the sender's number is meaningless here */
    }
    return 1;
}
