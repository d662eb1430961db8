/* listeners.h — the master's listening sockets (listeners.c): bound by the master, or
 * taken from systemd's socket activation or from the old master of an upgrade (lab 12),
 * then held for the master's whole life.
 *
 * SEVERAL ADDRESSES. The server listens on ls->naddr addresses (--listen, given up to
 * FDH_MAX_ADDRS times); each address gets ls->per sockets, the number the accept
 * strategy asks for (accept.h nlisteners: one per worker for reuseport, else one).
 * Socket k of address a is fd[a * per + k]. A strategy thinks in k only (its
 * slot_listener); the multiplication by the addresses happens here and in the code
 * that hands sockets to a worker (supervise.c: a worker keeps socket k of EVERY
 * address; accept.c: it watches all of them), so a new strategy serves every address
 * without knowing there are several.
 *
 * IPv4 and IPv6. An IPv6 socket is IPV6_V6ONLY (sock.c): "[::]:80" serves IPv6 only
 * and "*:80" IPv4 only, whatever net.ipv6.bindv6only says; a dual-stack server lists
 * both. One rule on every host, and /status and the access log name the family a
 * connection really used (no v4-mapped ::ffff:a.b.c.d addresses).
 *
 * fdh_listeners_bind(ls, cfg, retry_busy)
 *   Binds cfg->accept->nlisteners(cfg) sockets to each cfg->listen[a] (port 0: the
 *   first bind picks the port, the others join its reuseport group); retry_busy: retry
 *   EADDRINUSE for up to 5 s (the old master of --no-handover may still hold the port).
 *   0, or -1 after a warning on stderr (what was bound stays in ls, to close).
 * fdh_listeners_activated(ls, cfg, fds, names, n, err, errlen)
 *   Takes systemd's n sockets, grouped by the address each is bound to (first seen,
 *   first); every group must have nlisteners(cfg) sockets and one name (names[i]:
 *   LISTEN_FDNAMES' name of fds[i], kept in ls->name). They replace --listen.
 *   0, or -1 with the reason in err (the sockets are the caller's to close).
 * fdh_listeners_expect(ls, naddr, per): an empty ls that fdh_listeners_adopt fills.
 * fdh_listeners_adopt(ls, fd, want, reuseport, err, errlen)
 *   Takes one socket as the next one (address ls->n / per) after
 *   fdh_listener_check(fd, want, ...); the first socket of an address sets
 *   ls->addr/text, the others must be bound to exactly the same address and port.
 *   0, or -1 with the reason in err (fd not taken).
 * fdh_listeners_close(ls, el): closes them all (out of el first when registered there).
 *
 * fdh_listener_check(fd, want, reuseport, got, err, errlen)
 *   Trusts nothing about fd: it must be a listening (SO_ACCEPTCONN = 1) stream
 *   (SO_TYPE) IPv4 or IPv6 (SO_DOMAIN) socket, bound (getsockname) to want's family
 *   and address (want NULL: anything) and port (want's port 0: any port), with
 *   SO_REUSEPORT set when reuseport != 0. *got (may be NULL) receives the bound
 *   address. Returns the bound port (1..65535), or -1 with the reason in err.
 * fdh_systemd_listeners(fds, names, max, err, errlen)
 *   Socket activation (sd_listen_fds_with_names(3), implemented directly): when
 *   LISTEN_PID is this process and LISTEN_FDS = n >= 1, descriptors 3..3+n-1 are the
 *   sockets. They are stored in fds[0..n), made non-blocking and close-on-exec
 *   (workers and a new master must not inherit them by accident); names[i] gets the
 *   i-th name of LISTEN_FDNAMES (':'-separated; "unknown" when absent or short, as
 *   systemd says). LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES are removed from the
 *   environment (a child must not take them for its own). Returns n; 0 when not
 *   activated (no variables, or they name another pid: then nothing is touched; or
 *   LISTEN_FDS=0, as sd_listen_fds(3) reads it: the variables are removed); -1 with
 *   the reason in err (n > max, negative, not a number, an fd that is not open).
 */
#ifndef LAB11_LISTENERS_H
#define LAB11_LISTENERS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "evloop.h"
#include "sockaddr.h"

#define FDH_MAX_LISTENERS (FDH_MAX_ADDRS * FDH_MAX_WORKERS)
#define FDH_FDNAME_MAX 32

struct fdh_listeners {
    int fd[FDH_MAX_LISTENERS]; /* socket k of address a: fd[a * per + k]; -1 once closed */
    int n;                     /* sockets held */
    int naddr, per;            /* addresses; sockets per address */
    struct sa_any addr[FDH_MAX_ADDRS]; /* as bound (the port the kernel chose) */
    char text[FDH_MAX_ADDRS][SA_TEXT_MAX]; /* sa_format(addr[a]) */
    char name[FDH_MAX_ADDRS][FDH_FDNAME_MAX]; /* socket activation: the LISTEN_FDNAMES name */
};

int fdh_listeners_bind(struct fdh_listeners *ls, const struct fdh_config *cfg, int retry_busy);
int fdh_listeners_activated(struct fdh_listeners *ls, const struct fdh_config *cfg, const int *fds,
                            char (*names)[FDH_FDNAME_MAX], int n, char *err, size_t errlen);
void fdh_listeners_expect(struct fdh_listeners *ls, int naddr, int per);
int fdh_listeners_adopt(struct fdh_listeners *ls, int fd, const struct sa_any *want, int reuseport, char *err,
                        size_t errlen);
void fdh_listeners_close(struct fdh_listeners *ls, struct evloop *el);
int fdh_listener_check(int fd, const struct sa_any *want, int reuseport, struct sa_any *got, char *err,
                       size_t errlen);
int fdh_systemd_listeners(int *fds, char (*names)[FDH_FDNAME_MAX], int max, char *err, size_t errlen);

#endif
