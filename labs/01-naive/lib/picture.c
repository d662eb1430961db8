/* picture.c — see picture.h. */
#include "picture.h"

#include <stdio.h>
#include <unistd.h>

#include "err.h"
#include "fdsnap.h"

void naive_draw(char scenario, pid_t worker, int listener, int cfd)
{
    if (!fdsnap_drawing())
        return;
    char note[96];
    struct fdsnap *s = fdsnap_new(scenario == 'a'
                                      ? "Lab 01 (a): the number the parent wrote to shared memory is not open in the worker"
                                      : "Lab 01 (b): the same number names a different file in each table");
    if (!s) {
        warn_errno("lab 01: picture");
        return;
    }
    int ok = fdsnap_panel(s, "after the parent accept()ed and wrote its number to shared memory") == 0;
    int par = fdsnap_proc(s, getpid(), "the parent");
    int wk = fdsnap_proc(s, worker, "the worker (forked before accept)");
    snprintf(note, sizeof note, "accepted client; %d is written to shared memory", cfd);
    ok = ok && par >= 0 && wk >= 0 && fdsnap_fd(s, par, listener, "listener, opened before fork()") == 0 &&
         fdsnap_fd(s, par, cfd, note) == 0 &&
         fdsnap_fd(s, wk, listener, "listener, inherited") == 0;
    snprintf(note, sizeof note, "%d read from shared memory: %s", cfd,
             scenario == 'a' ? "write() fails, EBADF" : "its own log, opened after fork()");
    ok = ok && fdsnap_fd(s, wk, cfd, note) == 0 &&
         fdsnap_draw(s, scenario == 'a' ? "01-naive-not-open" : "01-naive-wrong-file") == 0;
    if (!ok)
        warn_errno("lab 01: picture");
    fdsnap_free(s);
}
