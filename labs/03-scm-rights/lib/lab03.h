/* lab03.h — what lab 03's scenario files share.
 *
 * struct lab: the one per-process context; claim_quiet(&lab->claims, ...) (claim.h)
 *   records each claim, and the lab exits non-zero unless every one held.
 * kcmp_file() comes from kcmp.h; wait_readable(), read_full(), read_line() and
 *   reap_bounded() from io.h; fork_or_die() from forkflush.h (common/): included
 *   here for every scenario file.
 * poll_now(fd): revents of a zero-timeout poll for POLLIN|POLLRDHUP (0 = nothing
 *   to read and no end of file), -1 with errno.
 *
 * The parent<->worker channel is an AF_UNIX SOCK_SEQPACKET socketpair: one struct
 * chmsg per message, at most one descriptor attached (fdpass.h).
 * ch_send(ch, m, fd): fd < 0 sends none. 0, or -1 with errno.
 * ch_recv(ch, m, fd, ms): waits at most ms; fd NULL means no descriptor is expected
 *   (one that arrives anyway is an EMSGSIZE error, closed by recv_fds). Returns 1
 *   with *m (and *fd, -1 when none came), 0 at EOF, -1 with errno.
 *
 * open_extra_fds(fds, n): n descriptors on /dev/null (so that a process's lowest
 *   free number is pushed up); 0, or -1 with errno and nothing left open.
 */
#ifndef LAB03_H
#define LAB03_H

#include <stddef.h>
#include <sys/types.h>

#include "claim.h"
#include "forkflush.h"
#include "io.h"
#include "kcmp.h"

#define WAIT_MS 10000 /* bound on every wait; the lab normally needs milliseconds */

struct fdsnap;

struct lab {
    struct claims claims;
    struct fdsnap *snap; /* the picture (FDLAB_DRAW set, fdsnap.h), else NULL */
};

struct chmsg {
    int type; /* enum in each scenario */
    int a, b;
};

int poll_now(int fd);
int ch_send(int ch, const struct chmsg *m, int fd);
int ch_recv(int ch, struct chmsg *m, int *fd, int ms);
void seqpair_or_die(int sv[2]);
int open_extra_fds(int *fds, int n);
void close_fds(const int *fds, int n);

/* The scenarios (one file each). */
void scn_serve(struct lab *lab, int workers, int clients);
void scn_inflight(struct lab *lab);
void scn_multi(struct lab *lab);
void scn_ctrunc(struct lab *lab);
void scn_churn(struct lab *lab, int passes);
void scn_limits(struct lab *lab);

#endif
