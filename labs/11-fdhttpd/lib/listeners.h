/* listeners.h — the master's listening sockets (listeners.c): bound by the master, or
 * taken from systemd's socket activation or from the old master of an upgrade (lab 12),
 * then held for the master's whole life. How many, and whether with SO_REUSEPORT, is
 * the accept strategy's (accept.h).
 *
 * fdh_listeners_bind(ls, cfg, retry_busy)
 *   Binds cfg->accept->nlisteners(cfg) sockets to cfg->ip:cfg->port (port 0: the first
 *   bind picks the port, the others join its reuseport group); retry_busy: retry
 *   EADDRINUSE for up to 5 s (the old master of --no-handover may still hold the port).
 *   0, or -1 after a warning on stderr.
 * fdh_listeners_activated(ls, cfg, fds, n, err, errlen)
 *   Takes systemd's n sockets: n must be what the strategy needs, each must pass
 *   fdh_listener_check (any address, one port). ls->ip is what they are bound to.
 *   0, or -1 with the reason in err.
 * fdh_listeners_adopt(ls, fd, ip, reuseport, err, errlen)
 *   Takes one socket after fdh_listener_check(fd, ip, ls->port, ...) (the first one
 *   taken sets ls->port when it is 0). 0, or -1 with the reason in err (fd not taken).
 * fdh_listeners_close(ls, el): closes them all (out of el first when registered there).
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
 */
#ifndef LAB11_LISTENERS_H
#define LAB11_LISTENERS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "evloop.h"

struct fdh_listeners {
    int fd[FDH_MAX_WORKERS];
    int n;
    char ip[16];        /* the address actually served (socket activation: what the
                           sockets are bound to, whatever --listen says) */
    uint16_t port;      /* bound */
};

int fdh_listeners_bind(struct fdh_listeners *ls, const struct fdh_config *cfg, int retry_busy);
int fdh_listeners_activated(struct fdh_listeners *ls, const struct fdh_config *cfg, const int *fds, int n,
                            char *err, size_t errlen);
int fdh_listeners_adopt(struct fdh_listeners *ls, int fd, const char *ip, int reuseport, char *err, size_t errlen);
void fdh_listeners_close(struct fdh_listeners *ls, struct evloop *el);
int fdh_listener_check(int fd, const char *ip, uint16_t port, int reuseport, char *err, size_t errlen);
int fdh_systemd_listeners(int *fds, int max, char *err, size_t errlen);

#endif
