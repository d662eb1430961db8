/* handover.h — lab 12: listening sockets that come from elsewhere (the old master on
 * a binary upgrade, systemd's socket activation), how they are checked, and the
 * upgrade protocol between two masters. Code: listeners.c, upgrade.c.
 *
 * fdh_listener_check(fd, ip, port, reuseport, err, errlen)
 *   Trusts nothing about fd: it must be a listening (SO_ACCEPTCONN = 1) stream
 *   (SO_TYPE) IPv4 (SO_DOMAIN) socket, bound (getsockname) to ip (a dotted quad; NULL:
 *   any address) and port (0: any port), with SO_REUSEPORT set when reuseport != 0.
 *   Returns the bound port (1..65535), or -1 with the reason in err.
 * fdh_systemd_listeners(fds, max, err, errlen)
 *   Socket activation (sd_listen_fds(3), implemented directly): when LISTEN_PID is
 *   this process and LISTEN_FDS = n >= 1, descriptors 3..3+n-1 are the sockets. They
 *   are stored in fds[0..n), made non-blocking and close-on-exec (workers and a new
 *   master must not inherit them by accident), and LISTEN_PID, LISTEN_FDS and
 *   LISTEN_FDNAMES are removed from the environment (a child must not take them for
 *   its own). Returns n; 0 when not activated (no variables, or they name another
 *   pid: then nothing is touched; or LISTEN_FDS=0, as sd_listen_fds(3) reads it: the
 *   variables are removed); -1 with the reason in err (n > max, negative, not a
 *   number, an fd that is not open).
 *
 * THE UPGRADE PROTOCOL. The old master listens on an abstract AF_UNIX SOCK_SEQPACKET
 * name "@fdhttpd-upgrade-<pid>-<n>-<64 random bits in hex>" (no file to clean up;
 * anyone in the network namespace may connect, hence the credential checks on BOTH
 * sides; anyone may also bind a name first, hence the random part: a squatter cannot
 * guess the next name, and if it did the bind fails and the upgrade is refused with
 * the reason, the old master serving on) and forks+execs
 * the new master with --upgrade-from=<name>. Messages are struct fdh_upmsg:
 *   new -> old  connect; each side checks the other with SO_PEERCRED (fdh_peer_check):
 *               same uid, and pid = the child it forked / pid = getppid()
 *   old -> new  HANDOVER, descriptors attached with SCM_RIGHTS: nfds = the listeners
 *               (kind FDH_FD_LISTENER, in slot order) then the stats memfd
 *               (FDH_FD_STATS); ip/port/accept say what the old master serves
 *   new -> old  READY once every new worker reported ready, or FAIL with a reason
 *               (then it exits 1); the old master then drains and exits
 *   the connection stays open until the old master exits: its end of file tells the
 *   new master the old generation is gone (upgrade=done).
 * fdh_up_send(sock, msg, fds, nfds): one message (nfds <= FDH_MAX_WORKERS + 1
 *   descriptors; the caller keeps its own). 0, or -1 with errno (send_fds).
 * fdh_up_recv(sock, msg, fds, &nfds): one message; *nfds in: capacity, out: how many
 *   arrived (the caller's to close). 1, 0 at end of file, -1 with errno (EPROTO: wrong
 *   size, magic or type, or descriptors on a message that has none; every descriptor
 *   that arrived is then closed).
 * fdh_peer_check(sock, pid, err, errlen): 0 when the peer of the connected Unix
 *   socket has our uid and pid `pid`; -1 with the reason in err.
 */
#ifndef LAB11_HANDOVER_H
#define LAB11_HANDOVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fdhttpd.h"

#define FDH_UP_MAGIC 0x46444855u /* "FDHU" */
enum { FDH_UP_HANDOVER = 1, FDH_UP_READY = 2, FDH_UP_FAIL = 3 };
enum { FDH_FD_LISTENER = 1, FDH_FD_STATS = 2 };
#define FDH_UP_MAXFDS (FDH_MAX_WORKERS + 1)

struct fdh_upmsg {
    uint32_t magic;   /* FDH_UP_MAGIC */
    uint32_t type;    /* FDH_UP_* */
    int32_t pid;      /* the sender */
    uint32_t nfds;    /* HANDOVER: descriptors attached */
    uint8_t kind[FDH_UP_MAXFDS]; /* HANDOVER: FDH_FD_* of each descriptor */
    char ip[16];      /* HANDOVER: the address served */
    uint16_t port;
    int32_t accept;   /* HANDOVER: enum fdh_accept */
    char text[200];   /* FAIL: the reason */
};

int fdh_listener_check(int fd, const char *ip, uint16_t port, int reuseport, char *err, size_t errlen);
int fdh_systemd_listeners(int *fds, int max, char *err, size_t errlen);
int fdh_up_send(int sock, const struct fdh_upmsg *msg, const int *fds, size_t nfds);
int fdh_up_recv(int sock, struct fdh_upmsg *msg, int *fds, size_t *nfds);
int fdh_peer_check(int sock, pid_t pid, char *err, size_t errlen);

#endif
