/* spawn.c — see spawn.h. */
#include "spawn.h"
#include "clock.h"
#include "labpath.h"
#include "textbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void close_if(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

int run_capture(char *const argv[], double timeout_s, struct run_result *r)
{
    memset(r, 0, sizeof *r);
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
        int e = errno;
        close_if(&po[0]), close_if(&po[1]);
        errno = e;
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close_if(&po[0]), close_if(&po[1]), close_if(&pe[0]), close_if(&pe[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        /* In the child only async-signal-safe calls; a failure is reported on the
         * captured stderr (or, before that exists, by the exit status) and ends it. */
        if (setpgid(0, 0) < 0)
            _exit(126);
        /* O_CLOEXEC: dup2() clears the flag on fd 0, and the original closes at exec,
         * so the program starts with exactly fds 0, 1, 2 from us. */
        int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 || dup2(po[1], STDOUT_FILENO) < 0 ||
            dup2(pe[1], STDERR_FILENO) < 0)
            _exit(126);
        execvp(argv[0], argv);
        dprintf(STDERR_FILENO, "spawn: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    /* Both sides call setpgid so the group exists before either side relies on it.
     * EACCES here means the child already exec'd (after its own setpgid): fine. */
    if (setpgid(pid, pid) < 0 && errno != EACCES && errno != ESRCH) {
        int e = errno;
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close_if(&po[0]), close_if(&pe[0]);
        errno = e;
        return -1;
    }
    close_if(&po[1]), close_if(&pe[1]);
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) {
        int e = errno;
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close_if(&po[0]), close_if(&pe[0]);
        errno = e;
        return -1;
    }

    struct textbuf out = {0}, err = {0};
    double deadline = mono_s() + timeout_s, exited_at = 0;
    int exited = 0, rc = 0;
    while (po[0] >= 0 || pe[0] >= 0 || !exited) {
        struct pollfd p[3] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}, {exited ? -1 : pidfd, POLLIN, 0}};
        double left = deadline - mono_s();
        /* Pipes still open after the child exited mean something it started holds
         * them: give it a moment, then treat it as a leftover. */
        if (exited && exited_at + 1.0 - mono_s() < left)
            left = exited_at + 1.0 - mono_s();
        if (left <= 0) {
            if (!exited)
                r->timed_out = 1;
            else
                r->leftovers += 1;
            kill(-pid, SIGKILL);
            /* Drain whatever was already written, then stop. */
            deadline = mono_s() + 2.0;
            exited_at = mono_s() + 1.0;
            if (!exited) {
                waitpid(pid, &r->status, 0);
                exited = 1;
            }
            while (po[0] >= 0 && textbuf_read(&out, po[0]) > 0) {
            }
            while (pe[0] >= 0 && textbuf_read(&err, pe[0]) > 0) {
            }
            break;
        }
        int n = poll(p, 3, (int)(left * 1000) + 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -1;
            kill(-pid, SIGKILL);
            break;
        }
        for (int i = 0; i < 2; i++) {
            int *fd = i == 0 ? &po[0] : &pe[0];
            if (*fd >= 0 && (p[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                ssize_t got = textbuf_read(i == 0 ? &out : &err, *fd);
                if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN))
                    close_if(fd);
            }
        }
        if (!exited && (p[2].revents & POLLIN)) {
            if (waitpid(pid, &r->status, 0) == pid) {
                exited = 1;
                exited_at = mono_s();
            }
        }
    }
    if (!exited)
        waitpid(pid, &r->status, 0);
    /* Anything still in the group now was left behind by the child. */
    if (kill(-pid, 0) == 0) {
        r->leftovers += 1;
        kill(-pid, SIGKILL);
    }
    close_if(&po[0]), close_if(&pe[0]);
    close(pidfd);
    r->out = out.p ? out.p : strdup("");
    r->err = err.p ? err.p : strdup("");
    if (!r->out || !r->err) {
        run_result_free(r);
        errno = ENOMEM;
        return -1;
    }
    return rc;
}

static int run_lab_va(struct run_result *r, double timeout_s, const char *lab, const char *prog, va_list ap)
{
    char rel[4096], path[4096];
    if ((size_t)snprintf(rel, sizeof rel, "labs/%s/%s", lab, prog) >= sizeof rel) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (!build_path(path, sizeof path, rel))
        return -1;
    char *argv[64];
    int argc = 0;
    argv[argc++] = path;
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && argc < 63)
        argv[argc++] = (char *)a;
    argv[argc] = NULL;
    return run_capture(argv, timeout_s, r);
}

int run_lab(struct run_result *r, double timeout_s, const char *lab, const char *prog, ...)
{
    va_list ap;
    va_start(ap, prog);
    int rc = run_lab_va(r, timeout_s, lab, prog, ap);
    va_end(ap);
    return rc;
}

int run_lab_exit(double timeout_s, const char *lab, const char *prog, ...)
{
    struct run_result r = {0};
    va_list ap;
    va_start(ap, prog);
    int rc = run_lab_va(&r, timeout_s, lab, prog, ap);
    va_end(ap);
    if (rc == 0)
        rc = run_check(&r, RUN_ANY_EXIT, NULL, 0) == 0 ? run_exit_code(&r) : -1;
    run_result_free(&r);
    return rc;
}

int run_exit_code(const struct run_result *r)
{
    if (WIFEXITED(r->status))
        return WEXITSTATUS(r->status);
    if (WIFSIGNALED(r->status))
        return 128 + WTERMSIG(r->status);
    return -1;
}

int run_check(const struct run_result *r, int want_exit, char *why, size_t whylen)
{
    int code = run_exit_code(r);
    if (r->timed_out)
        snprintf(why, whylen, "timed out");
    else if (r->leftovers != 0)
        snprintf(why, whylen, "left %d process(es) behind", r->leftovers);
    else if (want_exit != RUN_ANY_EXIT && code != want_exit)
        snprintf(why, whylen, "exit code %d, want %d", code, want_exit);
    else {
        if (whylen > 0)
            why[0] = '\0';
        return 0;
    }
    return -1;
}

void run_result_free(struct run_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}
