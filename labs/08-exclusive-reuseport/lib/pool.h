/* pool.h — N pre-forked workers, each with its own epoll instance, serving one
 * loopback port in one of three accept modes (lab 08).
 *
 *   POOL_EXCLUSIVE  one listening socket, shared by every worker; each worker adds it
 *                   to its own epoll with EPOLLIN | EPOLLEXCLUSIVE (epoll_ctl(2)).
 *   POOL_REUSEPORT  one SO_REUSEPORT listener per worker on the same port (socket(7));
 *                   worker i polls only listener i, the kernel picks one per connection.
 *   POOL_NGINX      as EXCLUSIVE, but after every `readd_every` accepts a worker does
 *                   EPOLL_CTL_DEL + EPOLL_CTL_ADD on the listener, as nginx does. The
 *                   phase differs from nginx: here after the K-th, 2K-th, ... accept;
 *                   nginx (c->requests++ % 16) after the 1st, 17th, 33rd, ... one.
 *   POOL_CPU        as REUSEPORT, plus a classic BPF program on the group that picks
 *                   listener (receiving CPU % workers) (reuseport_steer.h).
 *   POOL_STEERED    as REUSEPORT, plus an eBPF SK_REUSEPORT program that picks the
 *                   listener whose worker has the fewest unfinished connections; each
 *                   worker takes one off its counter when it has served a connection
 *                   (reuseport_steer.h). Needs CAP_BPF: pool_start fails with EPERM.
 *
 * Registration order is a contract: worker i adds the listener to its epoll only
 * after worker i-1 has done so (pool_start waits for each worker's "ready" byte), so
 * the listener's wait queue holds the workers' entries in the order 0, 1, ..., n-1.
 *
 * A worker serves one connection at a time: one accept4() per readiness event, then
 * (when it is the slow worker) a sleep of slow_ms, then lab_serve() (labreply.h),
 * which names the worker in "X-Worker: <id>". Then it goes back to epoll_wait.
 *
 * pool_start(opts, pool): returns 0 with pool->port set, or -1 with errno (EINVAL for
 *   bad options, EPERM when POOL_STEERED may not load its program); on failure nothing
 *   is left running or open.
 * pool_stop(pool, stats): tells the workers to stop by closing the write end of a
 *   pipe each worker polls (they see EPOLLHUP: no signals involved), collects one
 *   struct worker_stats per worker into stats[0..n-1] (indexed by worker id), and
 *   reaps every worker. Waits at most ~5 s; a worker still alive then is killed with
 *   SIGKILL and the call returns -1 (ETIMEDOUT). Returns 0 when every worker exited 0
 *   and reported. Every descriptor of the pool is closed in all cases.
 */
#ifndef LAB08_POOL_H
#define LAB08_POOL_H

#include <stdint.h>
#include <sys/types.h>

#include "reuseport_steer.h"

#define POOL_MAX RSTEER_MAX

enum pool_mode { POOL_EXCLUSIVE, POOL_REUSEPORT, POOL_NGINX, POOL_CPU, POOL_STEERED };
#define POOL_MODES 5

struct pool_opts {
    enum pool_mode mode;
    int workers;     /* 1..POOL_MAX */
    int readd_every; /* POOL_NGINX: re-add after this many accepts (nginx: 16), >= 1 */
    int slow_worker; /* worker id that sleeps before replying, or -1 */
    int slow_ms;     /* its sleep per connection, 0..10000 */
};

struct worker_stats {
    int id;
    long accepted;     /* connections this worker accepted */
    long empty_wakeups;/* readiness reported but accept4() said EAGAIN */
    long readds;       /* EPOLL_CTL_DEL + ADD pairs done (POOL_NGINX) */
    long serve_errors; /* lab_serve() failures */
};

struct pool {
    int n;
    pid_t pid[POOL_MAX];
    int stop_w;  /* closing it tells every worker to exit */
    int stats_r; /* each worker writes one struct worker_stats here before exiting */
    uint16_t port;
    struct rsteer steer; /* POOL_STEERED: the program, its maps and the load counters */
};

int pool_start(const struct pool_opts *opts, struct pool *pool);
int pool_stop(struct pool *pool, struct worker_stats stats[POOL_MAX]);
const char *pool_mode_name(enum pool_mode m);
int pool_mode_parse(const char *s, enum pool_mode *m); /* 0, or -1 for an unknown name */

#endif
