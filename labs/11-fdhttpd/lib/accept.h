/* accept.h — how connections reach the workers: one table of operations per accept
 * strategy, one file per strategy. The rest of the server calls these operations and
 * never asks which strategy is active.
 *
 *   accept_reuseport.c  one SO_REUSEPORT listener per worker; the kernel picks (lab 08)
 *   accept_exclusive.c  one shared listener, EPOLLEXCLUSIVE in every worker (lab 08)
 *   accept_mutex.c      one shared listener, taken in turns under a robust
 *                       process-shared mutex, nginx's accept_mutex (labs 05, 07)
 *   accept_passfd.c     the master accepts and passes each connection to a worker
 *                       over its channel with SCM_RIGHTS (labs 03, 09)
 *   accept_steered.c    one SO_REUSEPORT listener per worker; an eBPF program picks
 *                       the least loaded worker (lab 08, reuseport_steer.h)
 *   accept_takeover.c   the master's side of a dead slot's listener (per-slot
 *                       listeners: reuseport, steered), and passing a connection
 *   accept.c            the table, and what the three listener strategies share: a
 *                       worker's listener in and out of its epoll set, the accept
 *                       batch, the pauses at --max-conns and on EMFILE
 *
 * Adding a strategy: a file defining a `const struct fdh_accept_ops`, and its entry in
 * the table of accept.c. A member left NULL means "nothing to do" (or, for
 * worker_round, "wait without a bound"). A strategy that needs more from the server —
 * a hook once the listeners are bound, a worker publishing its load — gets a new
 * optional member here, called where the others are.
 */
#ifndef LAB11_ACCEPT_H
#define LAB11_ACCEPT_H

#include <stddef.h>

#define FDH_ACCEPT_BATCH 64 /* connections accepted per listener wake-up, then serve */

struct fdh_config;
struct fdh_shared;
struct fdh_w;
struct master;

struct fdh_accept_ops {
    const char *name; /* --accept NAME, /status accept=NAME */

    /* The listening sockets the master opens (or adopts) once and holds for its life.
     * reuseport: bound with SO_REUSEPORT, and required on sockets handed to us. */
    int (*nlisteners)(const struct fdh_config *cfg);
    int reuseport;
    /* The index of the listener the worker of `slot` keeps (the others are closed in
     * it after fork); -1: none, connections come over its channel. */
    int (*slot_listener)(int slot);

    /* Worker. listen_mask: the epoll interest of its listener (evloop.h EV_*). */
    unsigned listen_mask;
    void (*worker_start)(struct fdh_w *w);   /* once, before the worker says READY */
    int (*worker_round)(struct fdh_w *w);    /* before each wait: its bound in ms, or -1 */
    void (*worker_release)(struct fdh_w *w); /* after each wait, on drain, when leaving */
    void (*worker_resume)(struct fdh_w *w);  /* a pause (--max-conns, EMFILE) ended */

    /* Master: master_ready once the first generation is ready (the master may start
     * accepting), master_end when it leaves (it prints its counters). */
    void (*master_ready)(struct master *m);
    void (*master_end)(struct master *m);

    /* Lines appended to /status (key=value\n); returns their length (< cap). */
    size_t (*status)(const struct fdh_shared *sh, char *buf, size_t cap);

    /* Master: once the listeners are open (bound, activated or adopted), before the
     * first fork; may set m->accept_state, which the workers inherit (fdh_w). Returns
     * 0, or -1 with why in `why`: the server does not start. */
    int (*master_listening)(struct master *m, char *why, size_t len);
    /* Master, RUNNING: slot `slot` has a ready worker (served=1) or none (0: it died,
     * waits out its back-off, or is starting). Called after every READY and every
     * death; the strategy acts on the changes. */
    void (*master_slot)(struct master *m, int slot, int served);
};

extern const struct fdh_accept_ops fdh_accept_reuseport, fdh_accept_exclusive, fdh_accept_mutex,
    fdh_accept_passfd, fdh_accept_steered;

/* The strategy named `name`, or NULL. The first one of the table is the default. */
const struct fdh_accept_ops *fdh_accept_find(const char *name);
const struct fdh_accept_ops *fdh_accept_default(void);

/* 0 when a reload from `old` to `cfg` keeps the listening sockets; otherwise 1 with why
 * not in why (another strategy, or another number of listeners): a reload never closes
 * a listener, which would reset every connection waiting in its queue. */
int fdh_accept_reload_refusal(const struct fdh_config *old, const struct fdh_config *cfg, char *why, size_t len);

/* Worker side, shared by the strategies that have a listener (accept.c). */
void fdh_accept_init(struct fdh_w *w);   /* before the loop: the EMFILE pause timer */
void fdh_listen_on(struct fdh_w *w);     /* listener into the epoll set, unless paused,
                                            draining, leaving, or none */
void fdh_listen_off(struct fdh_w *w);
/* The connection count changed: at cfg->max_conns take the listener out (new
 * connections wait in the backlog), below it call worker_resume. */
void fdh_accept_conns_changed(struct fdh_w *w);

/* Master side of every strategy: one listener per worker, or exactly one. */
int fdh_accept_per_slot(const struct fdh_config *cfg);
int fdh_accept_one(const struct fdh_config *cfg);

/* Master: passes connection c to the next ready worker of the current generation over
 * its channel, round robin from *rr (advanced), skipping slot `skip` (-1: none), and
 * counts it on address `addr` (listeners.h) of the worker that took it. Returns 1 when
 * one took it, 0 when none could. The caller closes its copy of c. */
int fdh_accept_pass(struct master *m, int *rr, int addr, int skip, int c);

/* Master: what its accepting from a listener counted. */
struct fdh_pass_count {
    int rr;            /* the next worker to pass to */
    long passed, failed;
    int emfile_logged; /* an out-of-descriptors episode was logged; cleared by an accept */
};
/* Master: accepts up to FDH_ACCEPT_BATCH connections from listener fd (of address addr) and passes each
 * (fdh_accept_pass, skipping slot `skip`); its own copy is closed either way (not
 * passed: the client sees end of file). Returns 1 when out of descriptors (EMFILE,
 * ENFILE, ENOBUFS, ENOMEM: the caller rests the listener, which level-triggered would
 * wake it again at once), else 0 (EAGAIN, or the batch done). */
int fdh_accept_master_batch(struct master *m, int fd, int addr, int skip, struct fdh_pass_count *n);

/* accept_takeover.c: while slot i of a per-slot-listener strategy has no ready worker
 * (a crash loop's back-off, a respawn), the connections its listener holds and gets
 * would wait for it. The master takes that listener into its own loop and passes what
 * it accepts to the ready workers; once slot i is served again it lets go.
 * fdh_takeover_new: the state (calloc; NULL with errno). fdh_takeover_slot: the
 * master_slot hook's work. fdh_takeover_free: lets go of every listener, prints
 * takeover_passed= and takeover_failed=, frees. */
struct fdh_takeover;
struct fdh_takeover *fdh_takeover_new(struct master *m);
void fdh_takeover_slot(struct fdh_takeover *t, int slot, int served);
void fdh_takeover_free(struct fdh_takeover *t);

#endif
