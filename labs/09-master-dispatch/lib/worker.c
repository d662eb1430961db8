/* worker.c — a lab 09 worker (see internal.h). Serves one connection at a time. */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "channel.h"
#include "err.h"
#include "fdcount.h"
#include "internal.h"
#include "labreply.h"
#include "picture.h"

/* Channel mode: every CHANNEL_NEW_CONN brings a connection; serve it, then report. */
static void serve_channel(int slot, int ch, struct disp_proc *st)
{
    for (;;) {
        struct channel_msg m;
        /* Blocking: the master always ends with CHANNEL_QUIT, and if it dies instead its
         * end closes (end of file here) and PR_SET_PDEATHSIG kills us anyway. */
        int r = channel_recv(ch, &m);
        if (r == 0)
            return; /* the master is gone */
        if (r < 0) {
            if (errno == EPROTO || errno == EMSGSIZE) {
                warn_errno("worker %d: bad channel message", slot);
                continue;
            }
            die("worker %d: channel_recv", slot);
        }
        if (m.command == CHANNEL_QUIT)
            return;
        if (m.command != CHANNEL_NEW_CONN) {
            warn_msg("worker %d: unexpected %s", slot, channel_cmd_name(m.command));
            continue;
        }
        handover_pause(slot, st->conns); /* FDLAB_DRAW only: the master draws us now */
        if (lab_serve(m.fd, slot) < 0) /* closes m.fd in every case */
            st->serve_errors++;
        st->conns++;
        struct channel_msg done = {.command = CHANNEL_DONE, .pid = getpid(), .slot = slot,
                                   .fd = -1, .count = st->conns};
        if (channel_send(ch, &done) < 0) {
            if (errno == EPIPE || errno == ECONNRESET)
                return;
            die("worker %d: send done", slot);
        }
    }
}

/* Baseline: accept on the shared listener until the master shuts it down. */
static void serve_accept(int slot, int lfd, struct disp_proc *st)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINVAL)
                return; /* shutdown(2) by the master: stop */
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            die("worker %d: accept4", slot);
        }
        if (lab_serve(fd, slot) < 0)
            st->serve_errors++;
        st->conns++;
    }
}

void worker_main(enum policy policy, int slot, int ch, int lfd, struct disp_proc *st)
{
    long cpu0, v0, iv0, cpu1, v1, iv1;
    st->fds_before = fd_count();
    self_usage(&cpu0, &v0, &iv0);
    struct channel_msg hello = {.command = CHANNEL_READY, .pid = getpid(), .slot = slot, .fd = -1};
    if (channel_send(ch, &hello) < 0)
        die("worker %d: send ready", slot);
    if (policy == POL_SELF)
        serve_accept(slot, lfd, st);
    else
        serve_channel(slot, ch, st);
    self_usage(&cpu1, &v1, &iv1);
    st->fds_after = fd_count();
    st->cpu_us = cpu1 - cpu0;
    st->nvcsw = v1 - v0;
    st->nivcsw = iv1 - iv0;
    st->reported = 1;
    _exit(0);
}
