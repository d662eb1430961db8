/* master.h — the master process: its state, shared by the files that each handle one
 * of its concerns, and its entry point.
 *
 *   master.c     fdh_master_run: start-up, the event loop (signals -> calls), shutdown
 *   supervise.c  worker slots: spawn, channels, reap, respawn with back-off (crash loop)
 *   reload.c     generations: a SIGHUP starts the next one beside the current one
 *   upgrade.c    SIGUSR2, both sides of the binary upgrade (upgrade.h)
 *   listeners.c  the listening sockets: bind, systemd activation, adopt (listeners.h)
 *   and the accept strategy's master hooks (accept.h; accept_passfd.c accepts here).
 *
 * Everything the master reacts to is an event in ONE evloop: a signalfd for SIGCHLD,
 * SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR2 (blocked before the first fork, so a worker
 * inherits them blocked and cannot lose one before its own signalfd exists), the
 * master's end of each worker's channel, timers (respawn back-off, deadlines), the
 * upgrade socket and, when the strategy has the master accept, the listener. fork() is
 * never called from inside a callback: callbacks only mark a slot "due", and the loop
 * spawns between iterations, so the child can free the master's loop (evloop_free
 * must not run inside one of its callbacks).
 *
 * Modes: RUNNING -> (SIGQUIT, or an upgrade handed over) QUITTING -> exit when no
 *        worker is left; RUNNING or QUITTING -> (SIGTERM/SIGINT) TERMINATING.
 * A worker that exits while RUNNING was not asked to: it is respawned in its slot.
 */
#ifndef LAB11_MASTER_H
#define LAB11_MASTER_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "evloop.h"
#include "listeners.h"
#include "static.h"
#include "stats.h"

enum mode { RUNNING, QUITTING, TERMINATING };

struct gen;
struct master;

struct wslot {
    pid_t pid;          /* 0 while the slot is empty */
    int chan;           /* master's end, -1 when closed */
    int ready;
    int due;            /* spawn between iterations */
    uint64_t started_ms;
    long backoff_ms;    /* delay used for the last respawn, 0 = none */
    struct ev_timer respawn;
    struct gen *g;
};

/* The workers started with one configuration (reload.c). */
struct gen {
    long id;                  /* generation number; its workers write bank id % 2 */
    struct fdh_config *cfg;   /* owned */
    struct site site;         /* the docroot of this generation, opened by the master */
    int stopping;             /* told QUIT or TERMINATE: never respawned */
    int aborted;              /* a next generation that failed to come up */
    int nalive;
    struct master *m;
    struct wslot w[FDH_MAX_WORKERS];
};

/* The old master's side of an upgrade in progress (upgrade.c). */
enum upstate { UP_NONE, UP_WAIT_CONNECT, UP_WAIT_READY, UP_HANDED_OVER };

struct master {
    struct gen *cur, *next, *old;
    struct fdh_shared *sh;
    int shfd;           /* the statistics memfd (handed over on upgrade) */
    struct evloop *el;
    struct fdh_listeners ls; /* held for the master's whole life */
    enum mode mode;
    int announced;      /* ready=1 printed */
    int reload_queued;
    struct ev_timer deadline;      /* shutdown: SIGKILL whoever is left */
    struct ev_timer old_deadline;  /* reload: SIGKILL old workers still draining */
    struct ev_timer next_deadline; /* reload: the next generation must be ready by then */
    char exe[PATH_MAX]; /* our binary, resolved at start: exec'd again on SIGUSR2 */
    /* upgrade, old side */
    enum upstate up;
    pid_t up_pid;       /* the new master (our child) until reaped */
    int up_lfd, up_conn;
    int up_seq;
    struct ev_timer up_deadline;
    /* upgrade, new side: the connection to the old master until it exits */
    int from_conn;
    int from_ready_sent;
    void *accept_state; /* the strategy's master state (accept.h), or NULL */
};

/* The whole server; returns the process exit code. cfg is heap-allocated (malloc) and
 * becomes the master's (a reload replaces and frees it). */
int fdh_master_run(struct fdh_config *cfg);

/* master.c, for the other master files. fdh_notify: systemd's notification socket
 * ("READY", "RELOADING", "STOPPING"; sdnotify.h). fdh_master_worker_ready: a worker of
 * g said READY. fdh_master_shut_down: QUITTING or TERMINATING. */
void fdh_notify(const char *what);
void fdh_master_worker_ready(struct master *m, struct gen *g);
void fdh_master_shut_down(struct master *m, enum mode mode);

#endif
