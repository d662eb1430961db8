/* picture.h — lab 08's picture (fdsnap.h): each worker's epoll instance and the
 * listener(s) it watches, drawn while the workers wait in epoll_wait.
 *
 * pool_draw(snap, pool, mode): adds a panel for the mode with every worker of the
 *   started pool (its sockets and epoll instance, fdsnap_sockets). snap NULL: does
 *   nothing. Failures are recorded in snap and reported by fdsnap_draw.
 */
#ifndef LAB08_PICTURE_H
#define LAB08_PICTURE_H

#include "fdsnap.h"
#include "pool.h"

void pool_draw(struct fdsnap *snap, const struct pool *pool, enum pool_mode mode);

#endif
