/* reload.h — generations (reload.c). The workers started with one configuration are a
 * generation (struct gen, master.h). The listening sockets are NOT part of it: the
 * master opens them once and holds them for its whole life, and every generation's
 * workers get the same descriptors.
 *
 * A reload (SIGHUP) parses the options again into a new config, starts a `next`
 * generation beside `cur`, and waits for a READY on each new channel (no sleep). Then
 * it switches: cur becomes `old` and gets QUIT (stop accepting, answer in-flight
 * requests with Connection: close, half-close the idle, exit — bounded by
 * --drain-timeout, then SIGKILL), next becomes cur. When the last old worker is gone
 * the master prints reload=done generation=N. At most two generations are alive and
 * they are consecutive (cur+next, or cur+old): the statistics banks depend on it
 * (stats.h). A SIGHUP while one is in progress is queued (reload=queued) and runs when
 * it is done. A next generation that is not ready within FDH_READY_MAX_MS is
 * terminated and the reload fails; cur was never touched.
 */
#ifndef LAB11_RELOAD_H
#define LAB11_RELOAD_H

#include <stddef.h>

#include "master.h"

/* A generation for cfg (taken on success), its docroot opened, no worker started.
 * NULL with the reason in err. */
struct gen *fdh_gen_new(struct master *m, struct fdh_config *cfg, long id, char *err, size_t errlen);
void fdh_gen_free(struct master *m, struct gen *g);  /* frees its cfg too; NULL: nothing */

void fdh_reload_init(struct master *m);              /* the reload's timers */
void fdh_reload_start(struct master *m);             /* SIGHUP (queued while busy) */
void fdh_reload_switch(struct master *m);            /* every worker of next is ready */
void fdh_reload_abort(struct master *m, const char *why); /* next cannot come up */
void fdh_reload_old_gone(struct master *m);          /* the last worker of old exited */

#endif
