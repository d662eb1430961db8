/* upgrade.c — the messages of the upgrade protocol and the peer check (handover.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdpass.h"
#include "handover.h"

int fdh_up_send(int sock, const struct fdh_upmsg *msg, const int *fds, size_t nfds)
{
    if (nfds > FDH_UP_MAXFDS) {
        errno = EINVAL;
        return -1;
    }
    ssize_t n = send_fds(sock, fds, nfds, msg, sizeof *msg);
    if (n < 0)
        return -1;
    if ((size_t)n != sizeof *msg) { /* SEQPACKET: all or nothing */
        errno = EPROTO;
        return -1;
    }
    return 0;
}

int fdh_up_recv(int sock, struct fdh_upmsg *msg, int *fds, size_t *nfds)
{
    ssize_t n = recv_fds(sock, fds, nfds, msg, sizeof *msg);
    if (n <= 0)
        return (int)n;
    int ok = (size_t)n == sizeof *msg && msg->magic == FDH_UP_MAGIC && msg->type >= FDH_UP_HANDOVER &&
             msg->type <= FDH_UP_FAIL && (msg->type == FDH_UP_HANDOVER ? msg->nfds == *nfds : *nfds == 0);
    if (!ok) {
        for (size_t i = 0; i < *nfds; i++)
            close(fds[i]);
        *nfds = 0;
        errno = EPROTO;
        return -1;
    }
    msg->text[sizeof msg->text - 1] = '\0';
    msg->ip[sizeof msg->ip - 1] = '\0';
    return 1;
}

int fdh_peer_check(int sock, pid_t pid, char *err, size_t errlen)
{
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
        return snprintf(err, errlen, "SO_PEERCRED: %s", strerror(errno)), -1;
    if (cr.uid != getuid() || cr.pid != pid)
        return snprintf(err, errlen, "peer pid %d uid %d, expected pid %d uid %d", (int)cr.pid, (int)cr.uid,
                        (int)pid, (int)getuid()), -1;
    return 0;
}
