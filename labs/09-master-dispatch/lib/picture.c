/* picture.c — see picture.h. */
#include "picture.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "fdsnap.h"
#include "procinfo.h"

static void master_and_worker(struct fdsnap *s, const char *title, pid_t worker, int lfd, int fd, int ch)
{
    char note[48];
    snprintf(note, sizeof note, "channel to worker %d", PICTURE_SLOT);
    fdsnap_panel(s, title);
    int m = fdsnap_proc(s, getpid(), "the master");
    fdsnap_fds(s, m, lfd, "listener", fd, "accepted", ch, note, -1);
    char role[32];
    snprintf(role, sizeof role, "worker %d", PICTURE_SLOT);
    int w = fdsnap_proc(s, worker, role);
    fdsnap_sockets(s, w); /* the worker's numbers are its own: found, not known */
    int got = fdsnap_shared_fd(s, w, m, fd);
    /* The worker holds no other socket than the received one and its channel. */
    for (int i = 0, n; (n = fdsnap_nth_fd(s, w, i)) >= 0; i++)
        fdsnap_note(s, w, n, n == got ? "received over the channel" : "channel to the master");
}

struct fdsnap *handover_before(pid_t worker, int lfd, int fd, int ch)
{
    if (!fdsnap_drawing())
        return NULL;
    char title[96];
    snprintf(title, sizeof title, "Lab 09: the master accepts, worker %d gets the connection (SCM_RIGHTS)",
             PICTURE_SLOT);
    struct fdsnap *s = fdsnap_new(title);
    if (s)
        master_and_worker(s, "1. accepted by the master, before the hand-over", worker, lfd, fd, ch);
    else
        warn_errno("picture 09-master-dispatch-handover");
    return s;
}

void handover_after(struct fdsnap *snap, pid_t worker, int lfd, int fd, int ch)
{
    if (!snap)
        return;
    int stopped = 0;
    for (double end = mono_s() + PICTURE_WAIT_MS / 1000.0; !stopped && mono_s() < end;) {
        struct proc_sleep ps;
        stopped = proc_sleep(worker, &ps) == 0 && (ps.state == 'T' || ps.state == 't');
        if (!stopped)
            sleep_ms(1);
    }
    if (stopped) {
        master_and_worker(snap, "2. received by the worker: its own number, the same open file", worker, lfd, fd,
                          ch);
        if (fdsnap_draw(snap, "09-master-dispatch-handover") < 0)
            warn_errno("picture 09-master-dispatch-handover");
    } else {
        warn_msg("picture 09-master-dispatch-handover: worker %d did not stop within %d ms", PICTURE_SLOT, PICTURE_WAIT_MS);
    }
    if (kill(worker, SIGCONT) < 0)
        warn_errno("picture 09-master-dispatch-handover: resume worker %d", PICTURE_SLOT);
    fdsnap_free(snap);
}

void handover_pause(int slot, long conns)
{
    if (slot == PICTURE_SLOT && conns == 0 && fdsnap_drawing() && raise(SIGSTOP) != 0)
        warn_errno("picture 09-master-dispatch-handover: stop worker %d", slot);
}
