/* subreaper — run a command as a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so
 * that every process orphaned below it is reparented here and reaped at once.
 *
 *   subreaper CMD [ARG...]
 *
 * Why: bench/12-reload.sh upgrades fdhttpd with SIGUSR2; the new master is forked by
 * the old one, and when the old one exits the new master is an orphan. Without a
 * subreaper it goes to init (or whichever subreaper is above), whose reaping may take
 * seconds; until then an exited master is a zombie, which still counts as a process of
 * the group (kill(-pgid, 0) succeeds), so "is everything gone?" cannot be answered
 * promptly. Under this program the orphans are our children and are reaped as soon as
 * they exit.
 *
 * Contract: runs CMD (PATH searched) in the same process group, reaps every child
 * (CMD and adopted orphans) as it exits, and once CMD has exited and no child is left,
 * exits with CMD's status (128 + signal when CMD was killed). Processes still alive
 * 10 s after CMD exited are left behind by CMD: they get SIGKILL, are reaped, are
 * named on stderr, and the exit status is 1 whatever CMD returned.
 * Usage error: exit 2. Cannot fork or exec: exit 127 with the reason on stderr.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"

#define LINGER_S 10.0 /* how long adopted processes may outlive CMD */

/* SIGKILL every direct child (found in /proc by its parent pid); returns how many. */
static int kill_children(void)
{
    DIR *d = opendir("/proc");
    if (!d)
        die("opendir /proc");
    pid_t me = getpid();
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "re");
        if (!f)
            continue; /* gone meanwhile */
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        /* "pid (comm) S ppid ...": comm may hold anything, so parse after the last ')' */
        char *rp = strrchr(buf, ')');
        char state;
        long ppid;
        if (!rp || sscanf(rp + 1, " %c %ld", &state, &ppid) != 2 || ppid != me || state == 'Z')
            continue;
        warn_msg("left behind by the command: pid %ld, killed", pid);
        if (kill((pid_t)pid, SIGKILL) < 0 && errno != ESRCH)
            warn_errno("kill %ld", pid);
        n++;
    }
    closedir(d);
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: subreaper CMD [ARG...]\n");
        return 2;
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
        die("prctl(PR_SET_CHILD_SUBREAPER)");
    fflush(NULL);
    pid_t cmd = fork();
    if (cmd < 0)
        die("fork");
    if (cmd == 0) {
        execvp(argv[1], argv + 1);
        fprintf(stderr, "subreaper: exec %s: %s\n", argv[1], strerror(errno));
        _exit(127);
    }
    int code = -1, killed = 0;
    double cmd_done = 0;
    for (;;) {
        int status;
        /* Blocking while CMD runs; afterwards poll, so the linger bound holds. */
        pid_t pid = waitpid(-1, &status, code < 0 ? 0 : WNOHANG);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ECHILD)
                break; /* nobody left */
            die("waitpid");
        }
        if (pid == cmd)
            code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (code >= 0 && cmd_done == 0)
            cmd_done = mono_s();
        if (pid == 0) { /* CMD is done, adopted children still run */
            if (!killed && mono_s() - cmd_done > LINGER_S)
                killed = kill_children();
            sleep_ms(20);
        }
    }
    return killed ? 1 : code;
}
