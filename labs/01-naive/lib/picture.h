/* picture.h — lab 01's picture of the two descriptor tables (fdsnap.h).
 *
 * naive_draw(scenario, worker, listener, cfd): when FDLAB_DRAW is set, draws the
 *   parent's and the worker's tables at the moment the worker has used the number
 *   cfd (both processes alive, the worker still holding its log) into
 *   FDLAB_DRAW/01-naive-not-open.dot (scenario 'a') or 01-naive-wrong-file.dot ('b').
 *   Does nothing otherwise. A failure to draw is reported on stderr and does not
 *   change the lab's result.
 */
#ifndef FDLAB_LAB01_PICTURE_H
#define FDLAB_LAB01_PICTURE_H

#include <sys/types.h>

void naive_draw(char scenario, pid_t worker, int listener, int cfd);

#endif
