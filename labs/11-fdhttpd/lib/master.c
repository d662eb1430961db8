/* master.c — the master's life (master.h): start-up, a loop that turns events into
 * calls to the files of each concern, and shutdown.
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accept.h"
#include "channel.h"
#include "err.h"
#include "kv.h"
#include "master.h"
#include "reload.h"
#include "sdnotify.h"
#include "supervise.h"
#include "upgrade.h"

void fdh_notify(const char *what)
{
    char msg[128];
    if (strcmp(what, "READY") == 0)
        snprintf(msg, sizeof msg, "READY=1\nMAINPID=%d", (int)getpid());
    else if (strcmp(what, "RELOADING") == 0) /* Type=notify-reload wants the timestamp */
        snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
                 (unsigned long long)sd_notify_monotonic_usec());
    else
        snprintf(msg, sizeof msg, "%s=1", what);
    if (sd_notify_send(msg) < 0)
        warn_errno("master: NOTIFY_SOCKET");
}

/* Every worker of the first generation is ready: the server serves. */
static void first_ready(struct master *m)
{
    const struct fdh_config *cfg = m->cur->cfg;
    m->announced = 1;
    atomic_store(&m->sh->generation, m->cur->id);
    if (cfg->accept->master_ready)
        cfg->accept->master_ready(m);
    fdh_upgrade_serving(m);
    kv_print("ready", "1");
    fdh_notify("READY");
    /* --no-handover's new master: nothing to wait for, the old one is already leaving
     * (its statistics were not handed over: a fresh page, generation 1). */
    if (cfg->upgrade_from && strcmp(cfg->upgrade_from, "-") == 0)
        kv_print("upgrade", "done generation=%ld master_pid=%d handover=0", m->cur->id, (int)getpid());
}

void fdh_master_worker_ready(struct master *m, struct gen *g)
{
    if (g == m->cur && !m->announced && m->mode == RUNNING && fdh_gen_all_ready(g))
        first_ready(m);
    else if (g == m->next && fdh_gen_all_ready(g))
        fdh_reload_switch(m);
}

static void on_deadline(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)el, (void)t;
    struct master *m = ud;
    fdh_kill_gen(m->cur, "did not stop in time");
    fdh_kill_gen(m->next, "did not stop in time");
    fdh_kill_gen(m->old, "did not stop in time");
}

void fdh_master_shut_down(struct master *m, enum mode mode)
{
    if (m->mode == TERMINATING || m->mode == mode)
        return;
    /* A new master not yet ready must not outlive us and serve on as an orphan. */
    if (m->up == UP_WAIT_CONNECT || m->up == UP_WAIT_READY)
        fdh_upgrade_failed(m, "the old master was told to stop before the new one was ready");
    m->mode = mode;
    int handed_over = m->up == UP_HANDED_OVER && !m->cur->cfg->no_handover;
    if (!handed_over)
        fdh_notify("STOPPING"); /* not after a hand-over: the new master is the service now */
    fdh_listeners_close(&m->ls, m->el); /* the workers keep their own references while they need them */
    int cmd = mode == QUITTING ? CHANNEL_QUIT : CHANNEL_TERMINATE;
    struct gen *gens[3] = {m->cur, m->next, m->old};
    for (int k = 0; k < 3; k++)
        if (gens[k]) {
            gens[k]->stopping = 1;
            fdh_tell_gen(m, gens[k], cmd);
        }
    evloop_timer_stop(m->el, &m->next_deadline);
    /* After a hand-over our workers are an old generation like a reload's: they get
     * --drain-timeout (as --help says), not a SIGQUIT's FDH_DRAIN_MAX_MS. */
    long ms = mode != QUITTING ? FDH_TERM_GRACE_MS : handed_over ? m->cur->cfg->drain_timeout_ms : FDH_DRAIN_MAX_MS;
    if (evloop_timer_start(m->el, &m->deadline, ms, 0) < 0)
        die("evloop_timer_start");
}

/* SIGUSR1: every worker reopens its access log (accesslog.h). The master forwards the
 * signal with kill(2) to each worker it knows, of every generation alive (a draining
 * one still writes lines), rather than leaving it to the workers: an operator's
 * `kill -USR1 MASTERPID` (logrotate's postrotate, a systemd ExecReload) reaches the
 * master only, and only the master knows its workers' pids. A signal, not a channel
 * message: the workers already read signals from their signalfd, and the channel
 * protocol stays as it is. A worker being forked meanwhile inherits the log path,
 * not the old descriptor: it opens the file after the rename anyway. A group-wide
 * `kill -USR1 -PGID` also works: a worker then reopens twice, which is harmless. */
static void reopen_logs(struct master *m)
{
    /* Workers that dropped to --user cannot create a file in a directory only root may
     * write (/var/log): the master, still root, creates the new file first and gives it
     * to their user; the workers then open an existing file for appending. */
    const struct fdh_config *cfg = m->cur->cfg;
    if (cfg->drop && cfg->access_log != NULL) {
        int fd = open(cfg->access_log, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0) {
            if (fchown(fd, cfg->uid, cfg->gid) < 0)
                warn_errno("master: chown %s to %s", cfg->access_log, cfg->user_name);
            close(fd);
        } else if (errno != EEXIST) {
            warn_errno("master: creating %s for the workers", cfg->access_log);
        }
    }
    struct gen *gens[3] = {m->cur, m->next, m->old};
    int n = 0;
    for (int k = 0; k < 3; k++)
        for (int i = 0; gens[k] && i < gens[k]->cfg->workers; i++)
            if (gens[k]->w[i].pid > 0) {
                if (kill(gens[k]->w[i].pid, SIGUSR1) < 0 && errno != ESRCH)
                    warn_errno("master: SIGUSR1 to worker %d", (int)gens[k]->w[i].pid);
                n++;
            }
    kv_print("reopen", "workers=%d", n);
}

static void on_signal(struct evloop *el, int signo, void *ud)
{
    (void)el;
    struct master *m = ud;
    switch (signo) {
    case SIGCHLD: fdh_reap(m); break;
    case SIGQUIT: fdh_master_shut_down(m, QUITTING); break;
    case SIGHUP: fdh_reload_start(m); break;
    case SIGUSR2: fdh_upgrade_start(m); break;
    case SIGUSR1: reopen_logs(m); break;
    default: fdh_master_shut_down(m, TERMINATING); break; /* SIGTERM, SIGINT */
    }
}

/* The signals the master handles, blocked before any fork (see master.h). */
static void block_signals(sigset_t *sigs)
{
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) /* belt and braces: every send is MSG_NOSIGNAL */
        die("signal");
    sigemptyset(sigs);
    sigaddset(sigs, SIGCHLD);
    sigaddset(sigs, SIGTERM);
    sigaddset(sigs, SIGINT);
    sigaddset(sigs, SIGQUIT);
    sigaddset(sigs, SIGHUP);
    sigaddset(sigs, SIGUSR2);
    sigaddset(sigs, SIGUSR1);
    if (sigprocmask(SIG_BLOCK, sigs, NULL) < 0)
        die("sigprocmask");
}

/* The listeners (systemd's, the old master's, or bound now), the statistics page and
 * generation 1 (or the old master's + 1). Returns 0, or -1 after saying why. */
static int acquire(struct master *m, struct fdh_config *cfg, int *nsd)
{
    char err[300];
    int sdfds[FDH_MAX_LISTENERS];
    char (*names)[FDH_FDNAME_MAX] = calloc(FDH_MAX_LISTENERS, FDH_FDNAME_MAX);
    if (names == NULL)
        die("master: socket activation names");
    int upgrading = cfg->upgrade_from && strcmp(cfg->upgrade_from, "-") != 0;
    *nsd = fdh_systemd_listeners(sdfds, names, FDH_MAX_LISTENERS, err, sizeof err);
    int bad = *nsd < 0 || (*nsd > 0 && fdh_listeners_activated(&m->ls, cfg, sdfds, names, *nsd, err, sizeof err) < 0);
    free(names);
    if (bad)
        return warn_msg("socket activation: %s", err), -1;
    if (*nsd == 0 && upgrading && fdh_upgrade_adopt(m, cfg, err, sizeof err) < 0) {
        warn_msg("upgrade: %s", err);
        fdh_upgrade_tell_old(m, FDH_UP_FAIL, err);
        return -1;
    }
    if (*nsd == 0 && !upgrading && fdh_listeners_bind(&m->ls, cfg, cfg->upgrade_from != NULL) < 0)
        return -1;
    if (m->sh == NULL && (m->sh = fdh_shared_new(&m->shfd)) == NULL)
        die("shared memory");
    m->sh->naddr = m->ls.naddr; /* /status names the addresses */
    for (int a = 0; a < m->ls.naddr; a++)
        snprintf(m->sh->addr[a], sizeof m->sh->addr[a], "%s", m->ls.text[a]);
    long id = upgrading ? atomic_load(&m->sh->generation) + 1 : 1;
    if ((m->cur = fdh_gen_new(m, cfg, id, err, sizeof err)) == NULL) {
        warn_msg("%s", err);
        fdh_upgrade_tell_old(m, FDH_UP_FAIL, err);
        return -1;
    }
    return 0;
}

/* The strategy's hook once the listeners are open (accept.h). Returns 0, or -1 after
 * saying why (and telling an upgrading old master). */
static int accept_listening(struct master *m)
{
    char why[512];
    const struct fdh_accept_ops *acc = m->cur->cfg->accept;
    if (acc->master_listening == NULL || acc->master_listening(m, why, sizeof why) == 0)
        return 0;
    warn_msg("%s", why);
    fdh_upgrade_tell_old(m, FDH_UP_FAIL, why);
    return -1;
}

static void announce(const struct master *m, const struct fdh_config *cfg, int nsd)
{
    kv_print("listening", "%s", m->ls.text[0]); /* the first address, for a quick look */
    for (int a = 0; a < m->ls.naddr; a++) {
        char key[24];
        snprintf(key, sizeof key, "listen.%d", a);
        kv_print(key, "%s sockets=%d%s%s", m->ls.text[a], m->ls.per, m->ls.name[a][0] ? " name=" : "",
                 m->ls.name[a]);
    }
    kv_print("accept", "%s", cfg->accept->name);
    kv_print("workers", "%d", cfg->workers);
    kv_print("root", "%s", cfg->root ? cfg->root : "(none)");
    /* user=NAME: the workers' user; self: not started as root, nobody to switch to */
    kv_print("user", "%s", cfg->user_name[0] ? cfg->user_name : "self");
    if (!cfg->user_name[0] && cfg->user)
        warn_msg("--user %s ignored: not started as root", cfg->user);
    kv_print("access_log", "%s", cfg->access_log ? cfg->access_log : "off");
    kv_print("master_pid", "%d", (int)getpid());
    kv_print("generation", "%ld", m->cur->id);
    if (nsd > 0)
        kv_print("socket_activation", "%d", nsd);
}

static void leave(struct master *m)
{
    evloop_timer_stop(m->el, &m->deadline);
    const struct fdh_accept_ops *acc = m->cur->cfg->accept;
    if (acc->master_end)
        acc->master_end(m); /* (cfg itself may be another one than at start: a reload) */
    fdh_listeners_close(&m->ls, m->el);
    fdh_upgrade_end(m);
    evloop_free(m->el);
    m->el = NULL;
    fdh_shared_free(m->sh);
    close(m->shfd);
    fdh_gen_free(m, m->cur);
    fdh_gen_free(m, m->next);
    fdh_gen_free(m, m->old);
    /* After a hand-over the new master is the server: "stopped=1" stays its line. */
    kv_print("stopped", "%s", m->up == UP_HANDED_OVER ? "handed_over" : "1");
}

int fdh_master_run(struct fdh_config *cfg)
{
    struct master m = {.mode = RUNNING, .shfd = -1};
    ev_timer_init(&m.deadline, on_deadline, &m);
    fdh_reload_init(&m);
    fdh_upgrade_init(&m);
    sigset_t sigs;
    block_signals(&sigs);
    /* Resolved now: on SIGUSR2 this PATH is exec'd, so a binary replaced on disk
     * (rename over it) is the one that starts. */
    ssize_t el = readlink("/proc/self/exe", m.exe, sizeof m.exe - 1);
    if (el <= 0)
        die("readlink /proc/self/exe");
    m.exe[el] = '\0';
    int nsd = 0;
    if (acquire(&m, cfg, &nsd) < 0 || accept_listening(&m) < 0) {
        fdh_listeners_close(&m.ls, NULL);
        if (m.from_conn >= 0)
            close(m.from_conn);
        fdh_shared_free(m.sh);
        if (m.shfd >= 0)
            close(m.shfd);
        if (m.cur != NULL)
            fdh_gen_free(&m, m.cur); /* it owns cfg */
        else
            free(cfg);
        return 1;
    }
    if ((m.el = evloop_new()) == NULL)
        die("evloop_new");
    if (evloop_signalfd(m.el, &sigs, on_signal, &m) < 0)
        die("evloop_signalfd");
    announce(&m, cfg, nsd);
    for (int i = 0; i < cfg->workers; i++)
        m.cur->w[i].due = 1;
    for (;;) {
        int alive = m.cur->nalive + (m.next ? m.next->nalive : 0) + (m.old ? m.old->nalive : 0);
        if (m.mode != RUNNING && alive == 0)
            break;
        int failed = fdh_spawn_due(&m);
        if (evloop_run_once(m.el, failed ? 0 : -1) < 0)
            die("evloop_run_once");
    }
    leave(&m);
    return 0;
}
