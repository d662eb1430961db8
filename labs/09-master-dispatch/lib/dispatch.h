/* dispatch.h — one lab 09 scenario: a master hands connections to N workers.
 *
 * disp_run(opts, result):
 *   Creates a listener on 127.0.0.1:0 and forks the MASTER process, which forks
 *   opts->workers WORKERS, each linked to it by a channel (common/runtime/channel.h).
 *     policy != POL_SELF: the master alone accepts (non-blocking listener, one
 *       epoll loop over the listener, the channels and its control socket), picks a
 *       worker by the policy (policy.h) and sends it the connection as
 *       CHANNEL_NEW_CONN with the descriptor attached, then closes its own copy. The
 *       worker serves it with lab_serve(fd, slot) and answers CHANNEL_DONE with its
 *       finished count.
 *     policy == POL_SELF (the baseline): the workers block in accept(2) on the
 *       shared (blocking) listener themselves; the master only waits.
 *   When every worker has said CHANNEL_READY, the master takes its fd count and CPU
 *   clock and tells this process, which drives opts->conns requests at the port
 *   with loadgen (opts->concurrency in flight), then closes the control socket. The
 *   master then takes its fd count and CPU clock again, stops the workers
 *   (CHANNEL_QUIT, or shutdown(2) of the listener in the baseline), reaps them
 *   (SIGKILL after 5 s) and exits; this process reaps it (SIGKILL after 15 s). Every
 *   process reports into a MAP_SHARED page that is read only after its writer was
 *   reaped.
 *   Returns 0 with *result filled, or -1 with errno when the run could not be made
 *   (EINVAL for bad options; EPROTO when the master failed or never got ready).
 *
 * CPU and context switches are getrusage(RUSAGE_SELF) differences each process
 * takes itself between "ready" and "stop": start-up and shutdown are not counted.
 */
#ifndef LAB09_DISPATCH_H
#define LAB09_DISPATCH_H

#include "policy.h"

struct disp_opts {
    enum policy policy;
    int workers;     /* 1..DISP_MAX_WORKERS */
    long conns;      /* requests to drive, > 0 */
    int concurrency; /* in flight, >= 1 */
};

/* What one process reports about itself (between ready and stop). */
struct disp_proc {
    long conns;        /* worker: connections served; master: connections dispatched */
    long serve_errors; /* worker: lab_serve failures */
    long cpu_us;       /* user + system CPU time */
    long nvcsw, nivcsw;
    int fds_before, fds_after; /* fd_count() at ready and at stop */
    int reported;      /* 1 once the numbers were written */
};

struct disp_result {
    /* from the load generator */
    long ok, errors;
    long xworker[DISP_MAX_WORKERS]; /* responses per X-Worker id */
    double p50_s, p99_s, elapsed_s;
    /* from the master */
    struct disp_proc master;
    long dispatched[DISP_MAX_WORKERS]; /* CHANNEL_NEW_CONN sent per slot */
    long paused;  /* first-idle: times the master stopped accepting (none idle) */
    long dropped; /* accepted connections no live worker could take */
    long quit_clean; /* workers that exited 0 on their own */
    /* from the workers */
    struct disp_proc w[DISP_MAX_WORKERS];
    /* derived */
    long served;     /* sum of w[].conns */
    int reported;    /* workers that reported */
    int used;        /* workers that served at least one connection */
    long spread;     /* max - min of w[].conns */
    int largest;     /* the slot that served most (lowest slot on a tie) */
    int fd_leaks;    /* sum over workers of fds_after - fds_before */
    long cpu_us;     /* master + workers */
    long csw;        /* voluntary + involuntary, master + workers */
};

int disp_run(const struct disp_opts *opts, struct disp_result *result);

#endif
