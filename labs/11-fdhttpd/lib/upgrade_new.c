/* upgrade_new.c — the new master's side of a binary upgrade, and the messages of the
 * protocol with the peer check (upgrade.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "accept.h"
#include "err.h"
#include "fdpass.h"
#include "kv.h"
#include "reload.h"
#include "unixsock.h"
#include "upgrade.h"
#include "uppicture.h"

#define UP_CONNECT_MS 5000 /* new master: the old one must answer within this */

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
    for (int a = 0; a < FDH_MAX_ADDRS; a++) {
        msg->addr[a][sizeof msg->addr[a] - 1] = '\0';
        msg->name[a][sizeof msg->name[a] - 1] = '\0';
    }
    msg->accept[sizeof msg->accept - 1] = '\0';
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

void fdh_upgrade_tell_old(struct master *m, uint32_t type, const char *text)
{
    if (m->from_conn < 0)
        return;
    struct fdh_upmsg msg = {.magic = FDH_UP_MAGIC, .type = type, .pid = getpid()};
    snprintf(msg.text, sizeof msg.text, "%s", text ? text : "");
    if (fdh_up_send(m->from_conn, &msg, NULL, 0) < 0)
        warn_errno("master: upgrade: tell the old master");
}

/* End of file (or an error): the old master has exited, its generation is gone. */
static void on_from_conn(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)events;
    struct master *m = ud;
    char b[256];
    ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    evloop_io_del(el, fd);
    close(fd);
    m->from_conn = -1;
    kv_print("upgrade", "done generation=%ld master_pid=%d", m->cur->id, (int)getpid());
    if (m->reload_queued && m->mode == RUNNING)
        fdh_reload_start(m);
}

void fdh_upgrade_serving(struct master *m)
{
    if (m->from_conn < 0)
        return;
    atomic_fetch_add(&m->sh->upgrades, 1);
    upgrade_draw(m->from_conn, m->ls.fd, m->ls.n); /* FDLAB_DRAW only (lab 12's picture) */
    fdh_upgrade_tell_old(m, FDH_UP_READY, NULL);
    m->from_ready_sent = 1;
    if (evloop_io_add(m->el, m->from_conn, EV_READ, on_from_conn, m) < 0)
        die("evloop_io_add(upgrade)");
}

/* Connected to the old master and checked it: its HANDOVER, all its parts (the
 * descriptors of every part in fds, *nfds of them; capacity FDH_UP_MAXPARTS *
 * FDH_UP_MAXFDS), or -1 with err and nothing left open. */
static int recv_handover(int c, struct fdh_upmsg *msg, int *fds, size_t *nfds, char *err, size_t errlen)
{
    struct timeval tv = {UP_CONNECT_MS / 1000, 0};
    if (setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
        return snprintf(err, errlen, "SO_RCVTIMEO: %s", strerror(errno)), -1;
    size_t have = 0;
    int r = 1, bad = 0;
    uint16_t nparts = 1;
    for (uint16_t part = 0; part < nparts && r > 0 && !bad; part++) {
        struct fdh_upmsg one;
        size_t n = FDH_UP_MAXFDS;
        r = fdh_up_recv(c, &one, fds + have, &n);
        if (r <= 0)
            break;
        have += n;
        if (part == 0) {
            *msg = one;
            nparts = one.nparts;
        }
        bad = one.type != FDH_UP_HANDOVER || one.part != part || one.nparts != nparts || nparts == 0 ||
              nparts > FDH_UP_MAXPARTS;
        size_t nl = (size_t)msg->naddr * msg->per; /* descriptors 0..nl-1 are listeners, nl the page */
        for (size_t k = 0; k < n && !bad; k++)
            bad = one.kind[k] != (have - n + k < nl ? FDH_FD_LISTENER : FDH_FD_STATS);
    }
    if (r > 0 && !bad) {
        *nfds = have;
        return 0;
    }
    for (size_t i = 0; i < have; i++)
        close(fds[i]);
    return snprintf(err, errlen, "no hand-over from the old master (%s)",
                    r < 0 ? strerror(errno) : bad ? "wrong message" : "end of file"), -1;
}

/* Takes the hand-over's descriptors: the listeners (each checked against cfg's
 * address of the same index), then the statistics page. 0, or -1 with err; the
 * descriptors not taken are closed. */
static int take_fds(struct master *m, const struct fdh_config *cfg, const struct fdh_upmsg *msg, int *fds,
                    size_t nfds, char *err, size_t errlen)
{
    size_t per = (size_t)cfg->accept->nlisteners(cfg), want = per * (size_t)cfg->nlisten;
    int rc = 0;
    fdh_listeners_expect(&m->ls, cfg->nlisten, (int)per);
    if (strcmp(msg->accept, cfg->accept->name) != 0 || msg->naddr != cfg->nlisten || msg->per != per ||
        nfds != want + 1) {
        snprintf(err, errlen, "the old master serves accept=%s on %u addresses with %zu sockets; this "
                 "configuration wants accept=%s on %d with %zu", msg->accept, msg->naddr, nfds ? nfds - 1 : 0,
                 cfg->accept->name, cfg->nlisten, want);
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i + 1 < nfds; i++)
        rc = fdh_listeners_adopt(&m->ls, fds[i], &cfg->listen[i / per], cfg->accept->reuseport, err, errlen);
    if (rc == 0 && (m->sh = fdh_shared_attach(fds[nfds - 1])) == NULL) {
        snprintf(err, errlen, "the statistics page is not one of ours");
        rc = -1;
    }
    if (rc == 0) {
        m->shfd = fds[nfds - 1];
        for (int a = 0; a < m->ls.naddr; a++) /* socket activation's names live on */
            snprintf(m->ls.name[a], sizeof m->ls.name[a], "%s", msg->name[a]);
        return 0;
    }
    for (size_t k = (size_t)m->ls.n; k < nfds; k++)
        close(fds[k]);
    return -1;
}

/* On failure the caller sends the reason to the old master (FAIL) and exits 1: the old
 * master keeps serving. */
int fdh_upgrade_adopt(struct master *m, const struct fdh_config *cfg, char *err, size_t errlen)
{
    int c = unix_connect(cfg->upgrade_from, SOCK_SEQPACKET | SOCK_CLOEXEC);
    if (c < 0)
        return snprintf(err, errlen, "connect %s: %s", cfg->upgrade_from, strerror(errno)), -1;
    m->from_conn = c;
    if (fdh_peer_check(c, getppid(), err, errlen) < 0)
        return -1;
    struct fdh_upmsg msg;
    int fds[FDH_UP_MAXPARTS * FDH_UP_MAXFDS];
    size_t nfds = 0;
    if (recv_handover(c, &msg, fds, &nfds, err, errlen) < 0 || take_fds(m, cfg, &msg, fds, nfds, err, errlen) < 0)
        return -1;
    kv_print("handover", "listeners=%d addresses=%d messages=%u", m->ls.n, m->ls.naddr, (unsigned)msg.nparts);
    /* From now on the connection is an event in the loop: non-blocking. */
    if (fcntl(c, F_SETFL, O_NONBLOCK) < 0)
        return snprintf(err, errlen, "fcntl: %s", strerror(errno)), -1;
    return 0;
}
