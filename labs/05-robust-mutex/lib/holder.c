/* holder.c — a process that dies holding the lock, and probes (see l05.h). */
#include "l05.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pmutex.h"

static void holder(struct l05_shared *s, int ready_w, int hold_r)
{
    if (pmutex_lock(&s->m) != 0)
        _exit(3);
    s->rec.a -= L05_MOVE; /* half a transfer: b += L05_MOVE would come next */
    char c = 'h';
    if (write(ready_w, &c, 1) != 1)
        _exit(4);
    while (read(hold_r, &c, 1) > 0) /* wait for SIGKILL, or EOF if the parent died */
        ;
    _exit(0);
}

int l05_holder_start(struct l05_shared *s, struct l05_holder *h)
{
    int ready[2], hold[2];
    if (pipe2(ready, O_CLOEXEC) < 0)
        return -1;
    if (pipe2(hold, O_CLOEXEC) < 0) {
        int e = errno;
        close(ready[0]), close(ready[1]);
        errno = e;
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(ready[0]), close(ready[1]), close(hold[0]), close(hold[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        close(ready[0]);
        close(hold[1]);
        holder(s, ready[1], hold[0]);
    }
    close(ready[1]);
    close(hold[0]);
    *h = (struct l05_holder){.pid = pid, .ready_fd = ready[0], .hold_fd = hold[1]};
    struct pollfd p = {.fd = h->ready_fd, .events = POLLIN};
    int n = poll(&p, 1, 5000);
    char c;
    if (n == 1 && read(h->ready_fd, &c, 1) == 1)
        return 0;
    int e = n == 0 ? ETIMEDOUT : n < 0 ? errno : EPROTO;
    l05_holder_kill(h);
    errno = e;
    return -1;
}

int l05_holder_kill(struct l05_holder *h)
{
    int rc = 0, st;
    if (kill(h->pid, SIGKILL) < 0 && errno != ESRCH)
        rc = -1;
    if (waitpid(h->pid, &st, 0) < 0)
        rc = -1;
    int e = errno;
    close(h->ready_fd);
    close(h->hold_fd);
    errno = e;
    if (rc < 0)
        return -1;
    return WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

int l05_lock_elsewhere(struct l05_shared *s, long timeout_ms)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int rc = pmutex_timedlock(&s->m, timeout_ms);
        if (rc == 0)
            pmutex_unlock(&s->m);
        _exit(rc & 0xff);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0)
        return -1;
    if (!WIFEXITED(st)) {
        errno = EPROTO;
        return -1;
    }
    return WEXITSTATUS(st);
}

unsigned l05_lock_word(pthread_mutex_t *m)
{
    return (unsigned)__atomic_load_n(&m->__data.__lock, __ATOMIC_SEQ_CST);
}

int l05_owner_field(pthread_mutex_t *m)
{
    return __atomic_load_n(&m->__data.__owner, __ATOMIC_SEQ_CST);
}

long l05_robust_list_len(pid_t pid)
{
    struct robust_list_head *head = NULL;
    size_t len = 0;
    if (syscall(SYS_get_robust_list, pid, &head, &len) < 0)
        return -1;
    return head ? (long)len : 0;
}
