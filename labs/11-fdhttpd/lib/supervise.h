/* supervise.h — the master's worker slots (supervise.c): a worker per slot, started with
 * fork, followed by its channel and SIGCHLD, respawned in the same slot when it exits
 * unasked — at once after a long life, after a doubling back-off (FDH_BACKOFF_MIN_MS
 * .. FDH_BACKOFF_MAX_MS) while it keeps dying within FDH_CRASH_WINDOW_MS of its start
 * (a crash loop, shown as crashloop= lines and /status backoff_ms).
 */
#ifndef LAB11_SUPERVISE_H
#define LAB11_SUPERVISE_H

#include "master.h"

/* Prepares slot `slot` of g (empty, its respawn timer). */
void fdh_slot_init(struct gen *g, int slot);
/* Spawns every slot marked due, of cur and next, while RUNNING. Returns 1 when a spawn
 * failed (then the caller polls and comes back: the generations may have changed). */
int fdh_spawn_due(struct master *m);
/* SIGCHLD: reaps every exited child; the upgrade's new master goes to upgrade.c. */
void fdh_reap(struct master *m);
/* Every worker of g (NULL: none) gets `command` (channel.h) and is no longer due. */
void fdh_tell_gen(struct master *m, struct gen *g, int command);
/* SIGKILL to every worker of g (NULL: none), logged with `why`. */
void fdh_kill_gen(struct gen *g, const char *why);
int fdh_gen_all_ready(const struct gen *g);

#endif
