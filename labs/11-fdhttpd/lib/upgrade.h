/* upgrade.h — the binary upgrade (SIGUSR2, lab 12): the old master forks and execs its
 * own path again and hands the new master every listening socket and the statistics
 * page; once the new one is ready the old one drains and exits. upgrade.c has the old
 * side, upgrade_new.c the new side and the protocol's messages.
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
 *   old -> new  HANDOVER, descriptors attached with SCM_RIGHTS: the listeners (kind
 *               FDH_FD_LISTENER, in the order of listeners.h: address by address,
 *               socket k of each in slot order) then the stats memfd (FDH_FD_STATS);
 *               naddr/per/addr/accept (the strategy's name) say what the old master
 *               serves, name the LISTEN_FDNAMES of each address (socket activation:
 *               the new master reports them as its own). All in ONE message when they fit (FDH_UP_MAXFDS descriptors,
 *               the kernel's SCM_MAX_FD): two addresses under reuseport with 64
 *               workers are 129. More (up to 8 x 64 + 1) go in nparts messages,
 *               part = 0..nparts-1, each with its own nfds and kind[], the same
 *               header; the new master takes them all or none.
 *   new -> old  READY once every new worker reported ready, or FAIL with a reason
 *               (then it exits 1); the old master then drains and exits
 *   the connection stays open until the old master exits: its end of file tells the
 *   new master the old generation is gone (upgrade=done).
 * fdh_up_send(sock, msg, fds, nfds): one message (nfds <= FDH_UP_MAXFDS
 *   descriptors; the caller keeps its own). 0, or -1 with errno (send_fds).
 * fdh_up_recv(sock, msg, fds, &nfds): one message; *nfds in: capacity, out: how many
 *   arrived (the caller's to close). 1, 0 at end of file, -1 with errno (EPROTO: wrong
 *   size, magic or type, or descriptors on a message that has none; every descriptor
 *   that arrived is then closed).
 * fdh_peer_check(sock, pid, err, errlen): 0 when the peer of the connected Unix
 *   socket has our uid and pid `pid`; -1 with the reason in err.
 */
#ifndef LAB11_UPGRADE_H
#define LAB11_UPGRADE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "fdpass.h"
#include "master.h"

#define FDH_UP_MAGIC 0x46444855u /* "FDHU" */
enum { FDH_UP_HANDOVER = 1, FDH_UP_READY = 2, FDH_UP_FAIL = 3 };
enum { FDH_FD_LISTENER = 1, FDH_FD_STATS = 2 };
#define FDH_UP_MAXFDS FDPASS_MAX /* descriptors per message */
#define FDH_UP_MAXPARTS ((FDH_MAX_LISTENERS + 1 + FDH_UP_MAXFDS - 1) / FDH_UP_MAXFDS)

struct fdh_upmsg {
    uint32_t magic;   /* FDH_UP_MAGIC */
    uint32_t type;    /* FDH_UP_* */
    int32_t pid;      /* the sender */
    uint32_t nfds;    /* HANDOVER: descriptors attached to this message */
    uint16_t part, nparts; /* HANDOVER: this message of how many */
    uint8_t kind[FDH_UP_MAXFDS]; /* HANDOVER: FDH_FD_* of each descriptor */
    uint16_t naddr, per; /* HANDOVER: addresses served, sockets per address */
    char addr[FDH_MAX_ADDRS][SA_TEXT_MAX]; /* HANDOVER: each address, as bound */
    char name[FDH_MAX_ADDRS][FDH_FDNAME_MAX]; /* HANDOVER: socket activation's names, "" */
    char accept[16];  /* HANDOVER: the accept strategy's name */
    char text[200];   /* FAIL: the reason */
};

int fdh_up_send(int sock, const struct fdh_upmsg *msg, const int *fds, size_t nfds);
int fdh_up_recv(int sock, struct fdh_upmsg *msg, int *fds, size_t *nfds);
int fdh_peer_check(int sock, pid_t pid, char *err, size_t errlen);

/* Old side (upgrade.c). */
void fdh_upgrade_init(struct master *m);             /* its timer; nothing open */
void fdh_upgrade_start(struct master *m);            /* SIGUSR2 */
/* A rollback: the new master failed; we serve on. Kills and reaps it. */
void fdh_upgrade_failed(struct master *m, const char *reason);
/* SIGCHLD for pid: 1 when it was the new master (handled), 0 when not. */
int fdh_upgrade_reaped(struct master *m, pid_t pid, const char *why);
void fdh_upgrade_child_close(struct master *m);      /* in a worker after fork */
void fdh_upgrade_end(struct master *m);              /* the master leaves: close all */

/* New side (upgrade_new.c). fdh_upgrade_adopt: connect to cfg->upgrade_from, check
 * the peer, take its listeners (into m->ls) and statistics page (m->sh, m->shfd).
 * 0, or -1 with the reason in err (what was taken is the caller's to close).
 * fdh_upgrade_tell_old: FDH_UP_FAIL with a reason, or FDH_UP_READY (no-op without a
 * connection). fdh_upgrade_serving: every new worker is ready: READY to the old master,
 * then wait for its end of file (upgrade=done). */
int fdh_upgrade_adopt(struct master *m, const struct fdh_config *cfg, char *err, size_t errlen);
void fdh_upgrade_tell_old(struct master *m, uint32_t type, const char *text);
void fdh_upgrade_serving(struct master *m);

#endif
