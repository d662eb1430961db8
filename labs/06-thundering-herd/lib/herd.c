/* herd.c — see herd.h. */
#include "herd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "gate.h"
#include "labreply.h"
#include "loadgen.h"
#include "pdeath.h"
#include "procinfo.h"
#include "sock.h"

const char *herd_mode_name(enum herd_mode m)
{
    return m == HERD_EPOLL ? "epoll" : "accept";
}

static long nvcsw(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) < 0)
        die("getrusage");
    return ru.ru_nvcsw;
}

/* The page the parent and the workers share (MAP_SHARED, made before fork). */
struct herd_shm {
    struct herd_gate gate[2]; /* gate_ms mode: [0] before accept(), [1] after it */
    struct herd_worker w[HERD_MAX_WORKERS];
};

/* The worker's whole life. st is its own slot of the shared page; nobody else writes
 * it, and the parent reads it only after waitpid(). */
static __attribute__((noreturn)) void worker(const struct herd_opts *o, pid_t parent, int lfd,
                                            int id, int ready, struct herd_shm *shm)
{
    enum herd_mode mode = o->mode;
    struct herd_worker *st = &shm->w[id];
    /* If the parent dies, so do we: a test killed by its timeout leaves nothing behind. */
    die_with_parent(parent);
    int ep = -1;
    if (mode == HERD_EPOLL) {
        ep = epoll_create1(EPOLL_CLOEXEC);
        if (ep < 0)
            die("epoll_create1");
        /* Level-triggered, no EPOLLEXCLUSIVE: the plain way, and the herd's way. */
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
            die("epoll_ctl");
    }
    long base = nvcsw();
    if (write(ready, "r", 1) != 1)
        die("write ready");
    close(ready);
    for (;;) {
        long before = nvcsw(), slept = 0;
        if (mode == HERD_EPOLL) {
            struct epoll_event ev;
            /* Bounded wait; the parent stops us with shutdown() long before. */
            int n = epoll_wait(ep, &ev, 1, 1000);
            if (n < 0 && errno != EINTR)
                die("epoll_wait");
            slept = nvcsw() - before; /* before the gate: its sleeps are not wake-ups */
            if (n <= 0) {
                /* A loser woken for a connection another worker took re-checks the
                 * listener inside epoll_wait and sleeps again without returning:
                 * each of those sleeps ended in a connection's wake-up. The last
                 * sleep of this call ended by the timer (or a signal), not by one. */
                st->wait_csw += slept > 0 ? slept - 1 : 0;
                continue;
            }
            if (o->gate_ms > 0 && gate_wait(&shm->gate[0], (unsigned)o->workers, o->gate_ms))
                st->gate_timeouts++;
        }
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (mode == HERD_ACCEPT)
            slept = nvcsw() - before;
        /* Gate mode: nobody serves (so the client cannot send the next connection)
         * until every worker has called accept() for this one, so a slow loser finds
         * the queue empty (EAGAIN), never the next connection. */
        if (mode == HERD_EPOLL && o->gate_ms > 0 && (fd >= 0 || errno == EAGAIN)) {
            int e = errno;
            if (gate_wait(&shm->gate[1], (unsigned)o->workers, o->gate_ms))
                st->gate_timeouts++;
            errno = e;
        }
        if (fd < 0) {
            if (errno == EINVAL) {
                /* The parent shut the listener down: we are done. In epoll mode the
                 * last sleep of this epoll_wait was ended by that shutdown; the ones
                 * before it by connections (see the timeout case above). */
                if (mode == HERD_EPOLL)
                    st->wait_csw += slept > 0 ? slept - 1 : 0;
                /* Every switch since "ready" but that last sleep, which the shutdown
                 * (not a connection) ended: the same exclusion as wait_csw's. */
                st->csw = nvcsw() - base - (slept > 0 ? 1 : 0);
                break;
            }
            if (errno == EAGAIN) {
                st->eagain++; /* woken for a connection another worker took */
                st->wakes++;
                st->wait_csw += slept;
                continue;
            }
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            die("accept4");
        }
        st->wakes++;
        st->wait_csw += slept;
        st->accepted++;
        if (lab_serve(fd, id) < 0)
            st->serve_errors++;
    }
    st->reported = 1;
    _exit(0);
}

/* The system calls a worker of this mode blocks in (what common/kit/procinfo.h looks for). */
static int wait_syscalls(enum herd_mode mode, long nrs[3])
{
    int k = 0;
    if (mode == HERD_EPOLL) {
        nrs[k++] = SYS_epoll_wait; /* glibc's epoll_wait() on x86-64 */
        nrs[k++] = SYS_epoll_pwait;
#ifdef SYS_epoll_pwait2
        nrs[k++] = SYS_epoll_pwait2;
#endif
    } else {
#ifdef SYS_accept
        nrs[k++] = SYS_accept;
#endif
        nrs[k++] = SYS_accept4; /* what accept4() (and glibc's accept()) calls */
    }
    return k;
}

/* Wait (at most 3 s) until every worker has reported ready and then sleeps, so the
 * first connection finds all of them waiting. Not needed for correctness: a late
 * worker only makes the first few numbers smaller. */
static void wait_workers_ready(enum herd_mode mode, int ready, const pid_t *pids, int n)
{
    int got = 0;
    char buf[HERD_MAX_WORKERS];
    while (got < n) {
        struct pollfd p = {.fd = ready, .events = POLLIN};
        int r = poll(&p, 1, 3000);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        ssize_t k = read(ready, buf, sizeof buf);
        if (k <= 0)
            break;
        got += (int)k;
    }
    long nrs[3];
    int k = wait_syscalls(mode, nrs);
    (void)proc_wait_all_asleep(pids, (size_t)n, nrs, (size_t)k, 3000); /* best effort */
}

/* One request on a fresh connection, reply read to EOF (the server closes).
 * Returns 0 when a "HTTP/1.1 200" reply came, -1 otherwise. Every wait bounded (5 s). */
static int one_request(uint16_t port)
{
    int fd = tcp_connect("127.0.0.1", port, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
        warn_errno("connect 127.0.0.1:%u", (unsigned)port);
        return -1;
    }
    static const char req[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    char buf[512];
    size_t got = 0;
    int rc = -1;
    if (send(fd, req, sizeof req - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof req - 1)) {
        warn_errno("send request");
        goto out;
    }
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, 5000);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = ETIMEDOUT;
            warn_errno("poll reply");
            goto out;
        }
        ssize_t k = read(fd, buf + got, sizeof buf - 1 - got);
        if (k < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (k < 0) {
            warn_errno("read reply");
            goto out;
        }
        if (k == 0 || (got += (size_t)k) == sizeof buf - 1)
            break; /* EOF: the whole reply (or more than a lab reply can be) */
    }
    buf[got] = '\0';
    rc = strncmp(buf, "HTTP/1.1 200", 12) == 0 ? 0 : -1;
out:
    close(fd);
    return rc;
}

/* The synchronised driver (opts->sync_ms > 0): before each of conns sequential
 * connections, wait (at most sync_ms) until every worker sleeps in its blocking call,
 * and count whether that held. After the last one wait again, so the shutdown that
 * follows finds them asleep too (its wake-up then ends exactly one sleep; herd.c's
 * worker subtracts it). */
static void sync_drive(const struct herd_opts *o, uint16_t port, const pid_t *pids,
                       struct herd_result *res)
{
    long nrs[3];
    int k = wait_syscalls(o->mode, nrs);
    for (long c = 0; c < o->conns; c++) {
        if (proc_wait_all_asleep(pids, (size_t)o->workers, nrs, (size_t)k, o->sync_ms) == 0)
            res->all_asleep_conns++;
        else
            res->not_asleep_conns++;
        if (one_request(port) < 0)
            res->errors++;
        else
            res->ok++;
    }
    (void)proc_wait_all_asleep(pids, (size_t)o->workers, nrs, (size_t)k, o->sync_ms);
}

/* Reap every worker: they exit on their own after shutdown(); after 5 s, SIGKILL. */
static void reap_workers(pid_t *pids, int n)
{
    int left = n;
    for (int tick = 0; left > 0; tick++) {
        for (int i = 0; i < n; i++) {
            if (pids[i] <= 0)
                continue;
            pid_t r = waitpid(pids[i], NULL, tick < 500 ? WNOHANG : 0);
            if (r == pids[i] || (r < 0 && errno == ECHILD)) {
                pids[i] = 0;
                left--;
            } else if (r < 0 && errno != EINTR) {
                die("waitpid");
            }
        }
        if (tick == 499)
            for (int i = 0; i < n; i++)
                if (pids[i] > 0)
                    kill(pids[i], SIGKILL);
        if (left > 0 && tick < 500)
            sleep_ms(10);
    }
}

int herd_run(const struct herd_opts *o, struct herd_result *res)
{
    memset(res, 0, sizeof *res);
    if (o->workers < 1 || o->workers > HERD_MAX_WORKERS || o->conns < 1 || o->concurrency < 1 ||
        o->gate_ms < 0 || o->gate_ms > 10000 || o->sync_ms < 0 || o->sync_ms > 10000 ||
        (o->sync_ms > 0 && o->concurrency != 1)) {
        errno = EINVAL;
        return -1;
    }
    size_t shm_len = sizeof(struct herd_shm);
    struct herd_shm *shm =
        mmap(NULL, shm_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shm == MAP_FAILED)
        return -1;
    uint16_t port;
    int lflags = SOCK_CLOEXEC | (o->mode == HERD_EPOLL ? SOCK_NONBLOCK : 0);
    int lfd = tcp_listen_loopback(1024, lflags, &port);
    int rp[2] = {-1, -1};
    if (lfd < 0 || pipe2(rp, O_CLOEXEC) < 0) {
        int e = errno;
        if (lfd >= 0)
            close(lfd);
        munmap(shm, shm_len);
        errno = e;
        return -1;
    }

    pid_t pids[HERD_MAX_WORKERS], parent = getpid();
    fflush(stdout); /* nothing buffered may be printed twice by the children */
    for (int i = 0; i < o->workers; i++) {
        pids[i] = fork();
        if (pids[i] < 0) {
            /* Stop the ones already running the same way as at the end. */
            int e = errno;
            shutdown(lfd, SHUT_RDWR);
            close(lfd), close(rp[0]), close(rp[1]);
            reap_workers(pids, i);
            munmap(shm, shm_len);
            errno = e;
            return -1;
        }
        if (pids[i] == 0) {
            close(rp[0]);
            worker(o, parent, lfd, i, rp[1], shm);
        }
    }
    close(rp[1]);
    wait_workers_ready(o->mode, rp[0], pids, o->workers);
    close(rp[0]);

    struct loadgen_result lr;
    int lg_rc = 1, lg_errno = 0; /* 1: loadgen not used (sync mode) */
    if (o->sync_ms > 0) {
        sync_drive(o, port, pids, res);
    } else {
        struct loadgen_opts lo = {.port = port, .connections = o->concurrency,
                                  .requests = o->conns, .timeout_s = 5};
        lg_rc = loadgen_run(&lo, &lr);
        lg_errno = errno;
    }

    /* shutdown() on a listening socket moves it out of LISTEN and wakes every waiter:
     * a blocked accept() returns EINVAL, epoll_wait() returns and the accept() after
     * it fails with EINVAL. It acts on the socket all workers share, so it reaches
     * them all (res->reported counts who got the message). */
    if (shutdown(lfd, SHUT_RDWR) < 0)
        warn_errno("shutdown listener");
    close(lfd);
    reap_workers(pids, o->workers);

    if (lg_rc == 0) {
        res->ok = lr.ok;
        /* Summed from errors[]: nsamples - ok would be wrong with no_samples. */
        for (int e = LG_ERR_CONNECT; e <= LG_ERR_PROTOCOL; e++)
            res->errors += lr.errors[e];
        res->elapsed_s = lr.elapsed_s;
        loadgen_result_free(&lr);
    }
    for (int i = 0; i < o->workers; i++) {
        struct herd_worker *w = &res->w[i];
        *w = shm->w[i];
        res->accepted += w->accepted;
        res->eagain += w->eagain;
        res->wait_csw += w->wait_csw;
        res->csw += w->csw;
        res->wakes += w->wakes;
        res->gate_timeouts += w->gate_timeouts;
        res->busy_workers += w->accepted > 0;
        res->reported += w->reported;
    }
    munmap(shm, shm_len);
    if (lg_rc < 0) {
        errno = lg_errno;
        return -1;
    }
    return 0;
}
