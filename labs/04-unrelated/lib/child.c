/* child.c — see child.h. */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "textbuf.h"

static void close_if(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

int child_start(struct child *c, char *const argv[])
{
    memset(c, 0, sizeof *c);
    c->pid = -1;
    c->pidfd = c->in = c->out = -1;
    int pin[2], pout[2] = {-1, -1};
    if (pipe2(pin, O_CLOEXEC) < 0)
        return -1;
    if (pipe2(pout, O_CLOEXEC) < 0) {
        int e = errno;
        close(pin[0]), close(pin[1]);
        errno = e;
        return -1;
    }
    fflush(stdout); /* nothing buffered may be printed twice */
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pin[0]), close(pin[1]), close(pout[0]), close(pout[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        /* dup2 clears close-on-exec on the copies; the originals vanish at exec. */
        if (dup2(pin[0], STDIN_FILENO) < 0 || dup2(pout[1], STDOUT_FILENO) < 0)
            _exit(127);
        execv(argv[0], argv);
        dprintf(STDERR_FILENO, "child: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(pin[0]), close(pout[1]);
    c->pid = pid;
    c->in = pin[1];
    c->out = pout[0];
    c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (c->pidfd < 0) {
        int e = errno;
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close_if(&c->in), close_if(&c->out);
        errno = e;
        return -1;
    }
    return 0;
}

/* One read from the child's stdout into c->text: >0 bytes, 0 at EOF, -1 error.
 * c->text, len and cap are a textbuf's fields under the names child.h gives them. */
static ssize_t read_some(struct child *c)
{
    struct textbuf b = {c->text, c->len, c->cap};
    ssize_t n = textbuf_read(&b, c->out);
    c->text = b.p, c->len = b.len, c->cap = b.cap;
    return n;
}

static int has_key(const struct child *c, const char *key)
{
    size_t k = strlen(key);
    for (const char *p = c->text; p && *p;) {
        if (strncmp(p, key, k) == 0 && p[k] == '=' && strchr(p, '\n'))
            return 1;
        const char *nl = strchr(p, '\n');
        p = nl ? nl + 1 : NULL;
    }
    return 0;
}

int child_wait_key(struct child *c, const char *key, double timeout_s)
{
    double deadline = mono_s() + timeout_s;
    while (!c->text || !has_key(c, key)) {
        if (c->out < 0) {
            errno = EPIPE;
            return -1;
        }
        double left = deadline - mono_s();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = {c->out, POLLIN, 0};
        int n = poll(&p, 1, (int)(left * 1000) + 1);
        if (n < 0 && errno != EINTR)
            return -1;
        if (n > 0) {
            ssize_t r = read_some(c);
            if (r < 0)
                return -1;
            if (r == 0)
                close_if(&c->out);
        }
    }
    return 0;
}

int child_finish(struct child *c, double timeout_s)
{
    if (c->pid < 0) {
        errno = ECHILD;
        return -1;
    }
    close_if(&c->in);
    double deadline = mono_s() + timeout_s;
    int exited = 0, status = 0;
    while (c->out >= 0 || !exited) {
        double left = deadline - mono_s();
        if (left <= 0) {
            kill(c->pid, SIGKILL);
            break;
        }
        struct pollfd p[2] = {{c->out, POLLIN, 0}, {exited ? -1 : c->pidfd, POLLIN, 0}};
        int n = poll(p, 2, (int)(left * 1000) + 1);
        if (n < 0 && errno != EINTR) {
            kill(c->pid, SIGKILL);
            break;
        }
        if (n <= 0)
            continue;
        if (p[0].revents) {
            ssize_t r = read_some(c);
            if (r <= 0 && !(r < 0 && errno == EINTR))
                close_if(&c->out);
        }
        if (p[1].revents & POLLIN && waitpid(c->pid, &status, 0) == c->pid)
            exited = 1;
    }
    if (!exited && waitpid(c->pid, &status, 0) != c->pid)
        status = -1;
    close_if(&c->out);
    close_if(&c->pidfd);
    c->pid = -1;
    if (!c->text && !(c->text = calloc(1, 1))) /* callers may always read c->text */
        return -1;
    if (status == -1) {
        errno = ECHILD;
        return -1;
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

void child_free(struct child *c)
{
    free(c->text);
    c->text = NULL;
    c->len = c->cap = 0;
}
