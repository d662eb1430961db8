/* uppicture.c — see uppicture.h. */
#include "uppicture.h"

#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "fdsnap.h"

void upgrade_draw(int conn, const int *lfd, int nlfd)
{
    if (!fdsnap_drawing())
        return;
    struct ucred peer;
    socklen_t len = sizeof peer;
    if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &peer, &len) < 0) {
        warn_errno("picture 12-reload-upgrade: SO_PEERCRED");
        return;
    }
    struct fdsnap *s = fdsnap_new("Lab 12: a binary upgrade hands the listening sockets to a new master");
    if (s) {
        fdsnap_panel(s, "after the hand-over, before READY: two masters, the same listening sockets");
        int old = fdsnap_proc(s, peer.pid, "the old master");
        int new = fdsnap_proc(s, getpid(), "the new master (exec'd by the old one)");
        fdsnap_fd(s, new, conn, "upgrade connection to the old master");
        for (int i = 0; i < nlfd; i++)
            if (lfd[i] >= 0)
                fdsnap_fd(s, new, lfd[i], "listener, received with SCM_RIGHTS");
        fdsnap_shared(s, old, new); /* the old master's numbers for the same sockets */
        for (int i = 0; i < nlfd; i++) {
            int ofd = lfd[i] >= 0 ? fdsnap_shared_fd(s, old, new, lfd[i]) : -1;
            if (ofd >= 0)
                fdsnap_note(s, old, ofd, "listener, open since it started");
        }
    }
    if (fdsnap_draw(s, "12-reload-upgrade") < 0)
        warn_errno("picture 12-reload-upgrade");
    fdsnap_free(s);
}
