/* pair.c — see pair.h. */
#include "pair.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kv.h"
#include "naive.h"
#include "pgroup.h"
#include "spawn.h"
#include "textbuf.h"

/* Reads fd until `until` appears in the text (or EOF when until is NULL), by the
 * monotonic deadline end. 0 when reached, -1 with errno otherwise. */
static int read_until(struct textbuf *t, int fd, const char *until, double end)
{
    for (;;) {
        if (until && t->p && strstr(t->p, until))
            return 0;
        int left = (int)((end - mono_s()) * 1000);
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = {fd, POLLIN, 0};
        int n = poll(&p, 1, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            continue;
        ssize_t m = textbuf_read(t, fd);
        if (m < 0 && errno == EINTR)
            continue;
        if (m < 0)
            return -1;
        if (m == 0) {
            if (!until)
                return 0;
            errno = EPIPE; /* ended without printing `until` */
            return -1;
        }
    }
}

/* After the server was reaped: does anything of its group live on (a worker that
 * outlived it)? kill(-pgid, 0) answers ESRCH when the group is empty. Survivors
 * are counted, then killed (our own server's group only). */
static int group_leftovers(pid_t pgid)
{
    if (kill(-pgid, 0) < 0)
        return errno == ESRCH ? 0 : -1;
    int n = pgroup_count(pgid);
    kill(-pgid, SIGKILL);
    return n > 0 ? n : 1; /* kill() saw at least one */
}

int pair_run(const char *dir, char scenario, char **out_server, char **out_client, int *leftovers)
{
    char server[4096], client[4096], sc[2] = {scenario, '\0'};
    snprintf(server, sizeof server, "%s/server", dir);
    snprintf(client, sizeof client, "%s/client", dir);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]), close(p[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        /* Both sides set the group (whichever runs first wins the race with exec). */
        if (setpgid(0, 0) < 0 || dup2(p[1], STDOUT_FILENO) < 0) {
            dprintf(STDERR_FILENO, "pair: setpgid/dup2: %s\n", strerror(errno));
            _exit(127);
        }
        execl(server, server, "-s", sc, (char *)NULL);
        _exit(127);
    }
    /* EACCES: the child has already exec'd, after its own setpgid(0, 0). */
    if (setpgid(pid, pid) < 0 && errno != EACCES) {
        int e = errno;
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
        close(p[0]), close(p[1]);
        errno = e;
        return -1;
    }
    close(p[1]);

    struct textbuf t = {0};
    struct run_result cr = {0};
    int rc = -1, e = 0;
    double end = mono_s() + PAIR_TIMEOUT_S;
    if (read_until(&t, p[0], "port=", end) == 0) {
        char *port = kv_get(t.p, "port");
        char *argv[] = {client, "-p", port ? port : "0", NULL};
        if (port && run_capture(argv, PAIR_TIMEOUT_S, &cr) == 0 && read_until(&t, p[0], NULL, end) == 0)
            rc = 0;
        free(port);
    }
    e = errno;
    if (rc < 0)
        kill(-pid, SIGKILL); /* our own server's group only */
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    close(p[0]);
    int left = group_leftovers(pid);
    if (rc == 0 && left < 0) {
        rc = -1;
        e = errno;
    }
    if (rc == 0)
        *leftovers = left + cr.leftovers; /* the client's group is counted by run_capture */
    if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        rc = -1;
        e = ECHILD;
    }
    if (rc == 0 && (cr.timed_out || run_exit_code(&cr) != 0)) {
        fputs(cr.err, stderr); /* the client's own reason */
        rc = -1;
        e = ETIMEDOUT;
    }
    if (rc < 0) {
        free(t.p);
        run_result_free(&cr);
        errno = e;
        return -1;
    }
    *out_server = t.p;
    *out_client = cr.out;
    free(cr.err);
    return 0;
}
