/* channel.c — see channel.h. */
#include "channel.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdpass.h"

int channel_pair(int sv[2])
{
    return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
}

const char *channel_cmd_name(int command)
{
    switch (command) {
    case CHANNEL_READY: return "ready";
    case CHANNEL_NEW_CONN: return "new_conn";
    case CHANNEL_QUIT: return "quit";
    case CHANNEL_TERMINATE: return "terminate";
    case CHANNEL_DONE: return "done";
    default: return "unknown";
    }
}

static int known(int32_t command)
{
    return command >= CHANNEL_READY && command <= CHANNEL_DONE;
}

int channel_send(int ch, const struct channel_msg *msg)
{
    if (msg == NULL || !known(msg->command) || (msg->command == CHANNEL_NEW_CONN && msg->fd < 0)) {
        errno = EINVAL;
        return -1;
    }
    int fd = msg->fd;
    ssize_t n = msg->command == CHANNEL_NEW_CONN ? send_fds(ch, &fd, 1, msg, sizeof *msg)
                                                 : send_fds(ch, NULL, 0, msg, sizeof *msg);
    if (n < 0)
        return -1;
    if ((size_t)n != sizeof *msg) { /* SEQPACKET sends all or nothing: cannot happen */
        errno = EPROTO;
        return -1;
    }
    return 0;
}

int channel_recv(int ch, struct channel_msg *msg)
{
    int fds[1];
    size_t nfds = 1;
    /* The buffer is exactly one message: a longer one is cut, recv_fds sees MSG_TRUNC
     * and reports EMSGSIZE after closing whatever descriptors came with it. */
    ssize_t n = recv_fds(ch, fds, &nfds, msg, sizeof *msg);
    if (n <= 0)
        return (int)n;
    int want_fd = (size_t)n == sizeof *msg && msg->command == CHANNEL_NEW_CONN;
    if ((size_t)n != sizeof *msg || !known(msg->command) || (int)nfds != want_fd) {
        if (nfds == 1)
            close(fds[0]);
        errno = EPROTO;
        return -1;
    }
    msg->fd = want_fd ? fds[0] : -1; /* the sender's number means nothing here */
    return 1;
}
