/* worker.h — a worker process: its context (struct fdh_w, the only mutable "global",
 * passed everywhere) and its entry point. worker.c runs the loop and decides when the
 * worker drains and stops; the accept strategy (accept.h) brings connections in;
 * conn.c serves them.
 */
#ifndef LAB11_WORKER_H
#define LAB11_WORKER_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "accesslog.h"
#include "config.h"
#include "evloop.h"
#include "http_parse.h"
#include "reply.h"
#include "static.h"
#include "stats.h"

struct fdh_conn;

struct fdh_w {
    const struct fdh_config *cfg;
    const struct site *site;
    struct fdh_shared *sh;
    struct fdh_slot *me;
    int slot;
    pid_t pid;
    struct evloop *el;
    int lfd[FDH_MAX_ADDRS]; /* socket slot_listener(slot) of each address (listeners.h),
                              -1 once closed; nlfd = 0 when the strategy gives none */
    int nlfd, chan;
    int listening;         /* every lfd is in the epoll set */
    int held;              /* accept=mutex: this worker holds the accept mutex */
    int draining;          /* QUIT received: no accepting, close when idle */
    struct ev_timer drain_idle; /* draining: FDH_DRAIN_IDLE_MS, then the idle are half-closed */
    int stop;              /* leave the loop after this iteration */
    struct fdh_conn *conns;
    long nconns;
    struct http_limits lim;
    struct http_header *headers; /* lim.max_headers entries, shared by all requests */
    struct alog *alog;     /* --access-log: this worker's buffer; NULL when off */
    char xworker[32];      /* "X-Worker: N\r\n", appended to every response */
    time_t now;            /* wall-clock seconds of the event being handled (conn.c) */
    char date[HTTP_DATE_LEN + 1]; /* http_date_format(now), redone only when now changes */
    struct fcache *fc;     /* the open-file cache (fcache.h), this worker's own */
    int paused_full;       /* not accepting: nconns reached --max-conns */
    int paused_emfile;     /* not accepting for FDH_EMFILE_PAUSE_MS: accept4 ran out of fds */
    int emfile_logged;     /* the EMFILE episode was logged (once per episode) */
    struct ev_timer accept_timer; /* ends paused_emfile */
    void *accept_state;    /* the strategy's master state, inherited (accept.h) */
    uint64_t steer_reported; /* accept=steered: connections told finished (rsteer_done) */
};

/* What the master's fork child runs (worker.c); never returns. */
struct fdh_worker_env {
    const struct fdh_config *cfg;
    const struct site *site; /* opened by the master before the first fork */
    struct fdh_shared *sh;
    struct fdh_slot *me; /* this worker's counters: sh->slot[generation % 2][slot] */
    int slot;
    int lfd[FDH_MAX_ADDRS]; /* the listener the strategy gives this slot (accept.h), one */
    int nlfd;               /*   per address; nlfd = 0: none */
    int chan; /* the worker's end of its channel */
    pid_t master; /* the master's pid, read before fork (PR_SET_PDEATHSIG check) */
    void *accept_state; /* m->accept_state (accept.h master_listening) */
};
__attribute__((noreturn)) void fdh_worker_run(const struct fdh_worker_env *env);

#endif
