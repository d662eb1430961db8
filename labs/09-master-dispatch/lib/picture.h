/* picture.h — lab 09's picture (fdsnap.h): the master's accepted connection arriving
 * in worker PICTURE_SLOT, drawn when FDLAB_DRAW is set.
 *
 * The hand-over is too quick to catch in flight (the worker serves at once), so the
 * two sides agree on one pause, with no message of its own: worker PICTURE_SLOT stops
 * itself (SIGSTOP) right after receiving its FIRST connection; the master, after
 * sending exactly that connection, waits (bounded by PICTURE_WAIT_MS) until the worker
 * is stopped, draws, and resumes it (SIGCONT) in every case. Both conditions are the
 * same fact ("worker PICTURE_SLOT's first connection"), so they always match.
 *
 * handover_before(worker, lfd, fd, ch): the master, before sending fd over ch to the
 *   worker: a new snapshot with the first panel, or NULL when not drawing.
 * handover_after(snap, worker, lfd, fd, ch): the master, after the send: the second
 *   panel (the worker holding it, the master's copy not yet closed), written as
 *   FDLAB_DRAW/09-master-dispatch-handover.dot; resumes the worker; frees snap (NULL: nothing).
 * handover_pause(slot, conns): the worker, after receiving a connection, with conns
 *   served before it: stops itself when drawing, slot == PICTURE_SLOT and conns == 0.
 */
#ifndef LAB09_PICTURE_H
#define LAB09_PICTURE_H

#include <sys/types.h>

#define PICTURE_SLOT 1
#define PICTURE_WAIT_MS 2000

struct fdsnap;

struct fdsnap *handover_before(pid_t worker, int lfd, int fd, int ch);
void handover_after(struct fdsnap *snap, pid_t worker, int lfd, int fd, int ch);
void handover_pause(int slot, long conns);

#endif
