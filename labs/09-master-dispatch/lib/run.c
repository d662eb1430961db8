/* run.c — disp_run(): the driver side of one lab 09 scenario (see dispatch.h). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "internal.h"
#include "loadgen.h"
#include "pshm.h"
#include "sock.h"

/* Wait (at most 10 s) for the master's "ready" byte. 0 when it came. */
static int wait_ready(int ctl)
{
    struct pollfd p = {.fd = ctl, .events = POLLIN};
    for (;;) {
        int r = poll(&p, 1, 10000);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        char c;
        ssize_t k = read(ctl, &c, 1);
        if (k < 0 && errno == EINTR)
            continue;
        return k == 1 ? 0 : -1; /* 0: the master died before getting ready */
    }
}

static void derive(struct disp_result *r, int n)
{
    long max = -1, min = -1;
    for (int i = 0; i < n; i++) {
        const struct disp_proc *w = &r->w[i];
        r->served += w->conns;
        r->reported += w->reported;
        r->used += w->conns > 0;
        r->fd_leaks += w->fds_after - w->fds_before;
        r->cpu_us += w->cpu_us;
        r->csw += w->nvcsw + w->nivcsw;
        if (max < 0 || w->conns > max) {
            max = w->conns;
            r->largest = i;
        }
        if (min < 0 || w->conns < min)
            min = w->conns;
    }
    r->spread = max - min;
    r->cpu_us += r->master.cpu_us;
    r->csw += r->master.nvcsw + r->master.nivcsw;
}

int disp_run(const struct disp_opts *o, struct disp_result *res)
{
    memset(res, 0, sizeof *res);
    if ((unsigned)o->policy >= POL_COUNT || o->workers < 1 || o->workers > DISP_MAX_WORKERS ||
        o->conns < 1 || o->concurrency < 1) {
        errno = EINVAL;
        return -1;
    }
    struct disp_shared *sh = pshm_alloc(sizeof *sh);
    if (!sh)
        return -1;
    uint16_t port;
    /* The master's accept loop needs a non-blocking listener; the baseline's workers
     * sleep in accept() on a blocking one. */
    int lflags = SOCK_CLOEXEC | (o->policy == POL_SELF ? 0 : SOCK_NONBLOCK);
    int lfd = tcp_listen_loopback(1024, lflags, &port);
    int ctl[2] = {-1, -1};
    if (lfd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) < 0) {
        int e = errno;
        if (lfd >= 0)
            close(lfd);
        pshm_free(sh, sizeof *sh);
        errno = e;
        return -1;
    }
    pid_t me = getpid();
    fflush(stdout); /* nothing buffered may be printed twice by the children */
    pid_t master = fork();
    if (master < 0) {
        int e = errno;
        close(lfd), close(ctl[0]), close(ctl[1]);
        pshm_free(sh, sizeof *sh);
        errno = e;
        return -1;
    }
    if (master == 0) {
        die_with_parent(me);
        close(ctl[0]);
        master_main(o->policy, o->workers, lfd, ctl[1], sh);
    }
    close(ctl[1]);
    close(lfd); /* the master has it; the listening socket lives on */

    int rc = 0, err = 0;
    if (wait_ready(ctl[0]) < 0) {
        rc = -1, err = EPROTO;
    } else {
        struct loadgen_opts lo = {.port = port, .connections = o->concurrency,
                                  .requests = o->conns, .timeout_s = 5};
        struct loadgen_result lr;
        if (loadgen_run(&lo, &lr) < 0) {
            rc = -1, err = errno;
        } else {
            res->ok = lr.ok;
            res->errors = (long)lr.nsamples - lr.ok;
            res->elapsed_s = lr.elapsed_s;
            res->p50_s = loadgen_percentile(&lr, 0.5);
            res->p99_s = loadgen_percentile(&lr, 0.99);
            for (int i = 0; i < o->workers && i < LOADGEN_MAX_WORKERS; i++)
                res->xworker[i] = lr.per_worker[i];
            loadgen_result_free(&lr);
        }
    }
    close(ctl[0]); /* end of file: the master stops */
    pid_t pids[1] = {master};
    int clean = reap_all(pids, 1, 15000);
    if (rc == 0 && (!clean || !sh->master.reported))
        rc = -1, err = EPROTO;

    res->master = sh->master;
    memcpy(res->dispatched, sh->dispatched, sizeof res->dispatched);
    res->paused = sh->paused;
    res->dropped = sh->dropped;
    res->quit_clean = sh->quit_clean;
    memcpy(res->w, sh->w, sizeof res->w);
    derive(res, o->workers);
    pshm_free(sh, sizeof *sh);
    errno = err;
    return rc;
}
