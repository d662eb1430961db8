/* policy.h — how the master of lab 09 chooses a worker for a new connection.
 *
 * The master's view of worker i (struct pick_state): alive[i], and active[i] = the
 * connections it sent to i minus the ones i has reported finished (CHANNEL_DONE), i.e.
 * what i is serving or has queued on its channel. A pure function of that state,
 * so the tests can check each policy without processes.
 *
 *   POL_FIRST_IDLE    UNP's serv05: scan from slot 0 and take the first live worker
 *                     with active == 0. When none is idle, return -1: the master
 *                     must stop accepting until a worker reports done (the
 *                     connection waits in the kernel's accept queue meanwhile).
 *                     Low slots win every scan, hence the skew toward worker 0.
 *   POL_ROUND_ROBIN   the next live slot after the last one chosen, busy or not.
 *                     Over any run, per-worker counts differ by at most 1 (while no
 *                     worker dies).
 *   POL_LEAST_LOADED  the live worker with the smallest active; ties go to the
 *                     lowest slot (so with one connection at a time it behaves like
 *                     first-idle). Never returns -1 while a worker lives: it queues.
 *   POL_SELF          not a master policy: the baseline where workers accept
 *                     themselves. policy_pick returns -1.
 *
 * policy_pick(p, s): the chosen slot, or -1 (none idle, none alive, or POL_SELF).
 *   Updates s->next (round-robin's cursor) only; the caller records the dispatch
 *   (active[slot]++) when the send succeeded.
 * policy_parse(name): the policy for "self", "first_idle", "round_robin",
 *   "least_loaded", or -1.  policy_name(p): that name.
 */
#ifndef LAB09_POLICY_H
#define LAB09_POLICY_H

#define DISP_MAX_WORKERS 32

enum policy { POL_SELF, POL_FIRST_IDLE, POL_ROUND_ROBIN, POL_LEAST_LOADED, POL_COUNT };

struct pick_state {
    int n;    /* workers, 1..DISP_MAX_WORKERS */
    int next; /* round-robin: the slot to try first */
    int alive[DISP_MAX_WORKERS];
    long active[DISP_MAX_WORKERS];
};

int policy_pick(enum policy p, struct pick_state *s);
int policy_parse(const char *name);
const char *policy_name(enum policy p);

#endif
