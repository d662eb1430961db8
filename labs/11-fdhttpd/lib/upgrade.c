/* upgrade.c — the old master's side of a binary upgrade (upgrade.h): on SIGUSR2 it
 * forks and execs its own binary again, hands the new master its listeners and
 * statistics page, and drains once the new one is ready. Any failure is a rollback:
 * the old master never stopped serving.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "accept.h"
#include "err.h"
#include "kv.h"
#include "reload.h"
#include "unixsock.h"
#include "upgrade.h"

static void on_up_deadline(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)el, (void)t;
    struct master *m = ud;
    char r[128];
    snprintf(r, sizeof r, "new master (pid %d) not ready within %d ms", (int)m->up_pid, FDH_READY_MAX_MS);
    fdh_upgrade_failed(m, r);
}

void fdh_upgrade_init(struct master *m)
{
    m->up_lfd = m->up_conn = m->from_conn = -1;
    ev_timer_init(&m->up_deadline, on_up_deadline, m);
}

static void up_close(struct master *m)
{
    evloop_timer_stop(m->el, &m->up_deadline);
    if (m->up_lfd >= 0) {
        evloop_io_del(m->el, m->up_lfd);
        close(m->up_lfd);
        m->up_lfd = -1;
    }
    if (m->up_conn >= 0 && m->up != UP_HANDED_OVER) {
        evloop_io_del(m->el, m->up_conn);
        close(m->up_conn);
        m->up_conn = -1;
    }
}

void fdh_upgrade_child_close(struct master *m)
{
    if (m->up_lfd >= 0)
        close(m->up_lfd);
    if (m->up_conn >= 0)
        close(m->up_conn);
    if (m->from_conn >= 0)
        close(m->from_conn);
}

void fdh_upgrade_end(struct master *m)
{
    evloop_timer_stop(m->el, &m->up_deadline);
    if (m->up_lfd >= 0)
        close(m->up_lfd);
    if (m->up_conn >= 0)
        close(m->up_conn); /* after a hand-over: the new master's "old one gone" */
    if (m->from_conn >= 0)
        close(m->from_conn);
}

/* The new master's generation (ours + 1) wrote bank (id + 1) % 2 and the per-slot
 * back-off, and nobody reaps its workers for us: their `active` would stay counted in
 * /status, and our next reload's workers (same bank) would start from it. Its workers
 * were SIGKILLed when it died (PR_SET_PDEATHSIG, sent as it exited, before the wait in
 * fdh_upgrade_failed returned): the bank has no live writer now. */
static void clear_new_bank(struct master *m)
{
    struct fdh_slot *bank = m->sh->slot[(m->cur->id + 1) % FDH_BANKS];
    for (int i = 0; i < FDH_MAX_WORKERS; i++) {
        atomic_store(&bank[i].pid, 0);
        atomic_store(&bank[i].active, 0);
        atomic_store(&m->sh->backoff_ms[i], i < m->cur->cfg->workers ? m->cur->w[i].backoff_ms : 0);
    }
}

/* It is SIGKILLed and reaped here, at once (a SIGKILLed process dies promptly), so that
 * the next SIGUSR2 does not find an upgrade still "in progress". Workers it may have
 * started die with it (PR_SET_PDEATHSIG). */
void fdh_upgrade_failed(struct master *m, const char *reason)
{
    int handed = m->up == UP_WAIT_READY; /* it had our sockets and our statistics page */
    up_close(m);
    m->up = UP_NONE;
    if (m->up_pid > 0) {
        if (kill(m->up_pid, SIGKILL) < 0 && errno != ESRCH)
            warn_errno("kill(new master)");
        while (waitpid(m->up_pid, NULL, 0) < 0 && errno == EINTR)
            ;
        m->up_pid = 0;
    }
    if (handed)
        clear_new_bank(m);
    atomic_fetch_add(&m->sh->upgrades_failed, 1);
    kv_print("upgrade", "failed reason=%s", reason);
    fdh_notify("READY");
}

int fdh_upgrade_reaped(struct master *m, pid_t pid, const char *why)
{
    if (pid != m->up_pid || pid == 0)
        return 0;
    m->up_pid = 0;
    if (m->up == UP_WAIT_CONNECT || m->up == UP_WAIT_READY) {
        /* Its FAIL message (why) may still be queued: the SIGCHLD and the message
         * arrive in the same wake-up, in either order. */
        struct fdh_upmsg msg;
        size_t nfds = 0;
        char r[sizeof msg.text + 96];
        if (m->up_conn >= 0 && fdh_up_recv(m->up_conn, &msg, NULL, &nfds) > 0 && msg.type == FDH_UP_FAIL &&
            msg.text[0])
            snprintf(r, sizeof r, "%s", msg.text);
        else
            snprintf(r, sizeof r, "new master (pid %d) %s before it was ready", (int)pid, why);
        fdh_upgrade_failed(m, r);
    } else if (m->up == UP_HANDED_OVER) {
        warn_msg("master: the new master (pid %d) %s", (int)pid, why);
    }
    if (m->reload_queued && m->up == UP_NONE)
        fdh_reload_start(m);
    return 1;
}

static void on_up_conn(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)el, (void)events;
    struct master *m = ud;
    struct fdh_upmsg msg;
    int fds[1];
    size_t nfds = 0;
    int r = fdh_up_recv(fd, &msg, fds, &nfds);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (m->up == UP_HANDED_OVER) {
        /* The new master holds the other end as long as it lives; nothing more comes. */
        if (r <= 0) {
            evloop_io_del(m->el, fd);
            close(fd);
            m->up_conn = -1;
        }
        return;
    }
    if (r <= 0)
        fdh_upgrade_failed(m, r == 0 ? "new master closed the upgrade connection" : "bad message from the new master");
    else if (msg.type == FDH_UP_FAIL)
        fdh_upgrade_failed(m, msg.text[0] ? msg.text : "new master failed");
    else if (msg.type != FDH_UP_READY || msg.pid != m->up_pid)
        fdh_upgrade_failed(m, "unexpected message from the new master");
    else {
        /* The new generation serves: ours drains like a SIGQUIT and we exit. The
         * upgrade connection stays open until we exit — its EOF tells the new master
         * we are gone. */
        evloop_timer_stop(m->el, &m->up_deadline);
        m->up = UP_HANDED_OVER;
        kv_print("upgrade", "handed_over old_master_pid=%d new_master_pid=%d", (int)getpid(), (int)m->up_pid);
        fdh_master_shut_down(m, QUITTING);
    }
}

/* HANDOVER on the new master's connection c: the listeners, then the stats memfd, in
 * as few messages as SCM_MAX_FD allows (one, unless there are over 252 listeners). */
static int hand_over(struct master *m, int c)
{
    struct fdh_upmsg msg = {.magic = FDH_UP_MAGIC, .type = FDH_UP_HANDOVER, .pid = getpid(),
                            .naddr = (uint16_t)m->ls.naddr, .per = (uint16_t)m->ls.per};
    for (int a = 0; a < m->ls.naddr; a++) {
        snprintf(msg.addr[a], sizeof msg.addr[a], "%s", m->ls.text[a]);
        snprintf(msg.name[a], sizeof msg.name[a], "%s", m->ls.name[a]);
    }
    snprintf(msg.accept, sizeof msg.accept, "%s", m->cur->cfg->accept->name);
    int total = m->ls.n + 1;
    msg.nparts = (uint16_t)((total + FDH_UP_MAXFDS - 1) / FDH_UP_MAXFDS);
    for (int i = 0; i < total; msg.part++) {
        int fds[FDH_UP_MAXFDS];
        size_t n = 0;
        for (; i < total && n < FDH_UP_MAXFDS; i++) {
            msg.kind[n] = i < m->ls.n ? FDH_FD_LISTENER : FDH_FD_STATS;
            fds[n++] = i < m->ls.n ? m->ls.fd[i] : m->shfd;
        }
        msg.nfds = (uint32_t)n;
        if (fdh_up_send(c, &msg, fds, n) < 0)
            return -1;
    }
    return 0;
}

static void on_up_listen(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)el, (void)events;
    struct master *m = ud;
    char err[160];
    int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) {
        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
            return;
        /* EMFILE/ENFILE/ENOMEM: the connection stays queued and the (level-triggered)
         * listener fires again at once: a busy loop until the deadline. Give up now. */
        snprintf(err, sizeof err, "accepting the new master: %s", strerror(errno));
        fdh_upgrade_failed(m, err);
        return;
    }
    if (fdh_peer_check(c, m->up_pid, err, sizeof err) < 0) {
        /* Someone else in our network namespace: not who we forked. Ignore it. */
        warn_msg("master: upgrade: refused a connection: %s", err);
        close(c);
        return;
    }
    evloop_io_del(m->el, fd); /* one connection only */
    close(fd);
    m->up_lfd = -1;
    m->up_conn = c;
    if (hand_over(m, c) < 0) {
        snprintf(err, sizeof err, "sending the listeners: %s", strerror(errno));
        fdh_upgrade_failed(m, err);
        return;
    }
    m->up = UP_WAIT_READY;
    if (evloop_io_add(m->el, c, EV_READ, on_up_conn, m) < 0)
        die("evloop_io_add(upgrade)");
}

/* argv for the new master: ours without --upgrade-from and --listen (in every form:
 * "--listen=A", "--listen A", "-l A", "-lA"), then one --listen=ADDR per address with
 * the port actually bound (port 0 stays the same port) and --upgrade-from=NAME.
 * listen: room for FDH_MAX_ADDRS options of SA_TEXT_MAX + 9 bytes. */
static char **new_argv(struct master *m, const char *from, char (*listen)[SA_TEXT_MAX + 9], char *fromopt,
                       size_t flen)
{
    const struct fdh_config *cfg = m->cur->cfg;
    char **av = calloc((size_t)cfg->argc + FDH_MAX_ADDRS + 2, sizeof *av);
    if (av == NULL)
        return NULL;
    int n = 0;
    for (int i = 0; i < cfg->argc; i++) {
        const char *a = cfg->argv[i];
        if (i > 0 && (strcmp(a, "-l") == 0 || strcmp(a, "--listen") == 0 || strcmp(a, "--upgrade-from") == 0))
            i++; /* and its value */
        else if (i == 0 || (strncmp(a, "--upgrade-from=", 15) != 0 && strncmp(a, "--listen=", 9) != 0 &&
                            strncmp(a, "-l", 2) != 0))
            av[n++] = cfg->argv[i];
    }
    for (int a = 0; a < m->ls.naddr; a++) {
        snprintf(listen[a], sizeof listen[a], "--listen=%s", m->ls.text[a]);
        av[n++] = listen[a];
    }
    snprintf(fromopt, flen, "--upgrade-from=%s", from);
    av[n++] = fromopt;
    av[n] = NULL;
    return av;
}

/* The upgrade socket, under an abstract name. Any local user can bind an abstract name
 * first (squatting): with only pid and a counter in it, another user could bind every
 * name we would pick and refuse all upgrades for good. 64 random bits make it
 * unguessable; the peer checks (upgrade.h) still decide who may talk to us. */
static int up_listen(struct master *m, char *name, size_t namelen)
{
    char r[160];
    uint64_t rnd;
    if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd) {
        snprintf(r, sizeof r, "getrandom: %s", strerror(errno));
        fdh_upgrade_failed(m, r);
        return -1;
    }
    snprintf(name, namelen, "@fdhttpd-upgrade-%d-%d-%016llx", (int)getpid(), ++m->up_seq, (unsigned long long)rnd);
    m->up_lfd = unix_listen(name, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 4);
    if (m->up_lfd < 0) {
        snprintf(r, sizeof r, "upgrade socket %s: %s", name, strerror(errno));
        fdh_upgrade_failed(m, r);
        return -1;
    }
    return 0;
}

/* Forks and execs our binary with the new master's argv. Its pid, or -1 after a rollback. */
static pid_t exec_new(struct master *m, const char *name)
{
    char listen[FDH_MAX_ADDRS][SA_TEXT_MAX + 9], fromopt[128];
    char **av = new_argv(m, name, listen, fromopt, sizeof fromopt);
    if (av)
        fflush(NULL);
    pid_t pid = av ? fork() : -1;
    if (pid < 0) { /* rollback, not death: we are still the server */
        char r[160];
        snprintf(r, sizeof r, "%s: %s", av ? "fork" : "argv", strerror(errno));
        free(av);
        fdh_upgrade_failed(m, r);
        return -1;
    }
    if (pid == 0) {
        /* Every descriptor of ours is close-on-exec; the signal mask is inherited and
         * the new master sets its own. */
        execv(m->exe, av);
        dprintf(2, "fdhttpd: exec %s: %s\n", m->exe, strerror(errno));
        _exit(127);
    }
    free(av);
    return pid;
}

void fdh_upgrade_start(struct master *m)
{
    if (m->mode != RUNNING)
        return;
    if (m->next || m->old || m->up != UP_NONE || m->from_conn >= 0 || !m->announced) {
        /* Refused, not queued: an upgrade is a deliberate act, and one during a
         * reload would make three generations. The caller can retry. */
        kv_print("upgrade", "failed reason=busy (a reload or an upgrade is in progress)");
        return;
    }
    char name[64] = "-";
    int handover = !m->cur->cfg->no_handover;
    if (handover && up_listen(m, name, sizeof name) < 0)
        return;
    /* --no-handover, the naive way, for the comparison: stop listening FIRST, then let
     * the new binary bind fresh sockets. Connections queued on ours are reset when the
     * last reference closes; new ones are refused until it has bound. */
    if (!handover)
        fdh_master_shut_down(m, QUITTING);
    pid_t pid = exec_new(m, name);
    if (pid < 0)
        return;
    m->up_pid = pid;
    kv_print("upgrade", "started new_master_pid=%d handover=%d", (int)pid, handover);
    if (!handover) {
        m->up = UP_HANDED_OVER; /* nothing to wait for: we are already leaving */
        return;
    }
    m->up = UP_WAIT_CONNECT;
    fdh_notify("RELOADING");
    if (evloop_io_add(m->el, m->up_lfd, EV_READ, on_up_listen, m) < 0 ||
        evloop_timer_start(m->el, &m->up_deadline, FDH_READY_MAX_MS, 0) < 0)
        die("upgrade: evloop");
}
