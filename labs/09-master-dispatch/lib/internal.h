/* internal.h — what the driver (run.c), the master (master.c) and the workers
 * (worker.c) of lab 09 share. Not part of the lab's interface (dispatch.h).
 */
#ifndef LAB09_INTERNAL_H
#define LAB09_INTERNAL_H

#include <sys/types.h>

#include "dispatch.h"
#include "pdeath.h" /* die_with_parent: every process of the lab dies with its parent */

/* The MAP_SHARED page. Each field has one writer (the master, or worker i for w[i])
 * and is read only after that writer has been reaped. */
struct disp_shared {
    struct disp_proc master;
    long dispatched[DISP_MAX_WORKERS];
    long paused, dropped, quit_clean;
    struct disp_proc w[DISP_MAX_WORKERS];
};

/* The master process: forks the workers and runs the loop described in dispatch.h.
 * lfd is the listener, ctl its end of the control socket to the driver (it writes
 * one byte when ready; end of file means stop). Exits 0 after a clean run. */
__attribute__((noreturn)) void master_main(enum policy policy, int workers, int lfd, int ctl,
                                           struct disp_shared *sh);

/* A worker process of slot `slot`, with its channel end ch. In the baseline it
 * accepts on lfd itself; otherwise it serves what the channel brings (lfd unused
 * and already closed: pass -1). Exits 0 after CHANNEL_QUIT / the listener's shutdown. */
__attribute__((noreturn)) void worker_main(enum policy policy, int slot, int ch, int lfd,
                                           struct disp_proc *st);

/* getrusage(RUSAGE_SELF): CPU microseconds, voluntary and involuntary switches. */
void self_usage(long *cpu_us, long *nvcsw, long *nivcsw);

/* waitpid each of pids[0..n-1] (entries <= 0 are skipped), SIGKILL whatever still
 * runs after timeout_ms. Returns how many exited with status 0 on their own. */
int reap_all(pid_t *pids, int n, int timeout_ms);

#endif
