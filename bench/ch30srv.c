/* ch30srv — UNP vol. 1 ch. 30's server designs, one short function each.
 *
 *   ch30srv -m iterative|fork|prefork|fcntl|mutex|passfd|epoll|exclusive|reuseport|uring [-w N]
 *
 * Listens on 127.0.0.1 (port chosen by the kernel), prints "port=P", forks its N
 * workers (default 4; iterative and fork have none), prints "ready=1" and serves
 * every connection with lab_serve(fd, worker) (labreply.h: one reply naming the
 * worker in X-Worker) until SIGTERM or SIGINT. Then it kills its workers with
 * SIGTERM, reaps every child, and prints its CPU time — getrusage(2) RUSAGE_SELF +
 * RUSAGE_CHILDREN, i.e. the parent and every reaped worker — as
 *   cpu_user_s=..  cpu_sys_s=..  cpu_s=..
 * Exit 0 after a clean stop; 1 when a worker died on its own (printed as
 * worker_died=1) or something failed.
 *
 * The designs (Stevens' serv00..serv05 plus the epoll-era ones). The labs have the
 * richer, instrumented versions: 06-thundering-herd (blocking accept vs per-worker
 * epoll), 07-accept-lock (fcntl and robust mutex around accept),
 * 08-exclusive-reuseport (EPOLLEXCLUSIVE, SO_REUSEPORT), 09-master-dispatch
 * (descriptor passing), 13-io-uring (one ring per worker, multishot accept into
 * fixed slots, recv/send/close on the ring). Here each is stripped to its difference.
 *
 * Signals become events: the parent blocks SIGTERM/SIGINT/SIGCHLD and reads them from
 * a signalfd; workers restore the default mask so the parent's SIGTERM ends them
 * wherever they wait (accept, fcntl lock, futex, epoll_wait, recvmsg).
 */
#include <fcntl.h>
#include <getopt.h>
#include <liburing.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "fdpass.h"
#include "kv.h"
#include "labreply.h"
#include "pmutex.h"
#include "pshm.h"
#include "sock.h"

#define MAXW 64
#define BACKLOG 1024

/* The single per-process context. */
struct srv {
    const char *mode;
    int nworkers;
    int lfd;                  /* the shared listener (-1 in reuseport's parent) */
    uint16_t port;
    int sigfd;                /* parent: SIGTERM, SIGINT, SIGCHLD */
    sigset_t sigs;
    pid_t pid[MAXW];
    int chan[MAXW];           /* passfd: parent's end of each worker's socketpair */
    int chan_peer;            /* passfd, while spawning: the parent's end of the new one */
    int rfd[MAXW];            /* reuseport: one listener per worker */
    int lockfd;               /* fcntl: the file whose record lock guards accept */
    pthread_mutex_t *mtx;     /* mutex: robust, process-shared, in pshm */
};

/* ------------------------------------------------------------------ helpers */

/* accept(2), retried on the errors a client's early reset can cause. -1 = retry. */
static int accept_one(int lfd)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0 && errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
        die("accept");
    return fd;
}

static void serve(int fd, int id)
{
    if (fd >= 0)
        (void)lab_serve(fd, id); /* a failed request is the client's result, not ours */
}

/* Fork one worker running body(s, id); the child never returns. */
static pid_t spawn(struct srv *s, int id, void (*body)(struct srv *, int))
{
    pid_t p = fork();
    if (p < 0)
        die("fork");
    if (p == 0) {
        if (close(s->sigfd) < 0 || sigprocmask(SIG_UNBLOCK, &s->sigs, NULL) < 0)
            die("worker %d: signal setup", id);
        body(s, id);
        _exit(0);
    }
    return p;
}

/* Block until the next signal; returns its number. */
static int next_signal(struct srv *s)
{
    struct signalfd_siginfo si;
    ssize_t n = read(s->sigfd, &si, sizeof si);
    if (n != (ssize_t)sizeof si)
        die("read signalfd");
    return (int)si.ssi_signo;
}

/* ------------------------------------------------- designs without workers */

/* UNP serv00 / lab 06's baseline: the parent accepts and serves, one at a time. */
static int run_iterative(struct srv *s)
{
    struct pollfd p[2] = {{.fd = s->lfd, .events = POLLIN}, {.fd = s->sigfd, .events = POLLIN}};
    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        if (p[1].revents && next_signal(s) != SIGCHLD)
            return 0;
        if (p[0].revents)
            serve(accept_one(s->lfd), 0);
    }
}

/* UNP serv01: one fork(2) per connection; the child serves and exits. Children are
 * reaped as SIGCHLD arrives, and all of them before the parent reports its CPU. */
static int run_fork(struct srv *s)
{
    struct pollfd p[2] = {{.fd = s->lfd, .events = POLLIN}, {.fd = s->sigfd, .events = POLLIN}};
    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        if (p[1].revents) {
            if (next_signal(s) != SIGCHLD)
                return 0;
            while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
        }
        if (!p[0].revents)
            continue;
        int fd = accept_one(s->lfd);
        if (fd < 0)
            continue;
        pid_t c = fork();
        if (c < 0)
            die("fork");
        if (c == 0) {
            if (sigprocmask(SIG_UNBLOCK, &s->sigs, NULL) < 0)
                die("sigprocmask");
            serve(fd, 0);
            _exit(0);
        }
        if (close(fd) < 0)
            die("close");
    }
}

/* ------------------------------------------------ worker bodies (pre-forked) */

/* UNP serv02: every worker blocks in accept(2) on the shared listener; the kernel
 * wakes one per connection (lab 06). */
static void w_prefork(struct srv *s, int id)
{
    for (;;)
        serve(accept_one(s->lfd), id);
}

/* UNP serv03: an fcntl(2) write lock on a file serialises accept (lab 07). Record
 * locks belong to the process, so the inherited descriptor is enough. */
static void w_fcntl(struct srv *s, int id)
{
    struct flock lk = {.l_whence = SEEK_SET};
    for (;;) {
        lk.l_type = F_WRLCK;
        if (fcntl(s->lockfd, F_SETLKW, &lk) < 0) {
            if (errno == EINTR)
                continue;
            die("worker %d: F_SETLKW", id);
        }
        int fd = accept_one(s->lfd);
        lk.l_type = F_UNLCK;
        if (fcntl(s->lockfd, F_SETLK, &lk) < 0)
            die("worker %d: F_UNLCK", id);
        serve(fd, id);
    }
}

/* UNP serv04, made robust: a PTHREAD_PROCESS_SHARED mutex in shared memory around
 * accept; a worker dying with it held would hand the next locker EOWNERDEAD, which
 * pmutex_lock_repair turns back into a held, consistent lock (lab 05, lab 07). */
static void w_mutex(struct srv *s, int id)
{
    for (;;) {
        int e = pmutex_lock_repair(s->mtx, NULL, NULL, NULL);
        if (e)
            die("worker %d: pmutex_lock_repair", id);
        int fd = accept_one(s->lfd);
        if ((e = pmutex_unlock(s->mtx)) != 0)
            die("worker %d: pmutex_unlock", id);
        serve(fd, id);
    }
}

/* UNP serv05: the worker receives a connected descriptor from the parent over its
 * socketpair, serves it, and answers one byte: "idle again" (lab 09). */
static void w_passfd(struct srv *s, int id)
{
    int ch = s->chan[id];
    for (int j = 0; j < id; j++) /* the parent's ends of the earlier workers' channels */
        if (close(s->chan[j]) < 0)
            die("worker %d: close", id);
    if (close(s->chan_peer) < 0)
        die("worker %d: close", id);
    for (;;) {
        int fd;
        size_t nfd = 1;
        char b;
        ssize_t n = recv_fds(ch, &fd, &nfd, &b, 1);
        if (n == 0)
            return; /* parent gone */
        if (n < 0 || nfd != 1)
            die("worker %d: recv_fds", id);
        serve(fd, id);
        if (write(ch, "i", 1) != 1)
            die("worker %d: write idle", id);
    }
}

/* One epoll instance per worker on the shared non-blocking listener (lab 06): every
 * sleeping worker is woken per connection; the losers' accept gets EAGAIN. With
 * exclusive, EPOLLEXCLUSIVE wakes one (or a few) of them (lab 08). */
static void w_epoll_common(struct srv *s, int id, uint32_t extra)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN | extra};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, s->lfd, &ev) < 0)
        die("worker %d: epoll", id);
    for (;;) {
        int n = epoll_wait(ep, &ev, 1, -1);
        if (n < 0 && errno != EINTR)
            die("worker %d: epoll_wait", id);
        if (n > 0)
            serve(accept_one(s->lfd), id);
    }
}
static void w_epoll(struct srv *s, int id) { w_epoll_common(s, id, 0); }
static void w_exclusive(struct srv *s, int id) { w_epoll_common(s, id, EPOLLEXCLUSIVE); }

/* SO_REUSEPORT: each worker has a listener of its own on the same port; the kernel
 * hashes each connection's 4-tuple to one of them (lab 08). */
static void w_reuseport(struct srv *s, int id)
{
    for (int i = 0; i < s->nworkers; i++)
        if (i != id && close(s->rfd[i]) < 0)
            die("worker %d: close", id);
    for (;;)
        serve(accept_one(s->rfd[id]), id);
}

/* Lab 13: each worker owns a ring with one multishot accept (into fixed slots) on the
 * shared listener; a connection is recv'd until its blank line, answered with
 * lab_serve's exact reply, and closed, all as SQEs; one io_uring_enter per loop. */
#define URING_SLOTS 256
static void w_uring(struct srv *s, int id)
{
    static char buf[URING_SLOTS][1024];
    static unsigned len[URING_SLOTS];
    char reply[128];
    int rlen = snprintf(reply, sizeof reply, "HTTP/1.1 200 OK\r\nX-Worker: %d\r\n"
                        "Content-Length: 3\r\nConnection: close\r\n\r\nok\n", id);
    struct io_uring ring;
    int e = io_uring_queue_init(URING_SLOTS, &ring, 0); /* an SQE per CQE always fits */
    if (e < 0 || (e = io_uring_register_files_sparse(&ring, URING_SLOTS)) < 0)
        die_msg("worker %d: io_uring set-up: %s", id, strerror(-e));
    enum { ACC, RECV, SEND, CLOSE };
    struct io_uring_sqe *q = io_uring_get_sqe(&ring);
    io_uring_prep_multishot_accept_direct(q, s->lfd, NULL, NULL, 0);
    io_uring_sqe_set_data64(q, ACC);
    for (;;) {
        if ((e = io_uring_submit_and_wait(&ring, 1)) < 0 && e != -EINTR)
            die_msg("worker %d: io_uring_enter: %s", id, strerror(-e));
        struct io_uring_cqe *c;
        unsigned head, n = 0;
        io_uring_for_each_cqe(&ring, head, c) {
            n++;
            unsigned op = (unsigned)(c->user_data >> 32), slot = (unsigned)c->user_data;
            if (op == ACC && c->res < 0)
                die_msg("worker %d: accept: %s", id, strerror(-c->res));
            if (op == ACC || (op == RECV && c->res > 0)) {
                if (op == ACC)
                    slot = (unsigned)c->res, len[slot] = 0;
                else
                    len[slot] += (unsigned)c->res;
                q = io_uring_get_sqe(&ring);
                buf[slot][len[slot]] = '\0';
                if (!strstr(buf[slot], "\r\n\r\n") && len[slot] < sizeof buf[0] - 1) {
                    io_uring_prep_recv(q, (int)slot, buf[slot] + len[slot],
                                       sizeof buf[0] - 1 - len[slot], 0);
                    io_uring_sqe_set_data64(q, (unsigned long long)RECV << 32 | slot);
                } else {
                    io_uring_prep_send(q, (int)slot, reply, (size_t)rlen, MSG_NOSIGNAL);
                    io_uring_sqe_set_data64(q, (unsigned long long)SEND << 32 | slot);
                }
                q->flags |= IOSQE_FIXED_FILE;
            } else if (op == RECV || op == SEND) { /* answered, or the client left */
                io_uring_prep_close_direct(q = io_uring_get_sqe(&ring), slot);
                io_uring_sqe_set_data64(q, (unsigned long long)CLOSE << 32 | slot);
            }
        }
        io_uring_cq_advance(&ring, n);
    }
}

/* ------------------------------------------------------------ the parents */

/* Pre-forked designs whose parent only waits for a signal. */
static int run_pool(struct srv *s, void (*body)(struct srv *, int))
{
    for (int i = 0; i < s->nworkers; i++)
        s->pid[i] = spawn(s, i, body);
    if (!strcmp(s->mode, "reuseport")) /* the workers own the listeners now */
        for (int i = 0; i < s->nworkers; i++)
            if (close(s->rfd[i]) < 0)
                die("close");
    kv_print("ready", "1");
    return next_signal(s) == SIGCHLD; /* a worker died on its own */
}

/* serv05's parent: accept only while some worker is idle, hand the connection to
 * the first idle one (so low-numbered workers get the most), mark it busy until it
 * writes its byte back. */
static int run_passfd(struct srv *s)
{
    int n = s->nworkers, idle[MAXW], nidle = n;
    struct pollfd p[MAXW + 2];
    for (int i = 0; i < n; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
            die("socketpair");
        s->chan[i] = sv[1];
        s->chan_peer = sv[0];
        s->pid[i] = spawn(s, i, w_passfd);
        if (close(sv[1]) < 0)
            die("close");
        s->chan[i] = sv[0];
        idle[i] = 1;
        p[i] = (struct pollfd){.fd = sv[0], .events = POLLIN};
    }
    p[n] = (struct pollfd){.fd = s->sigfd, .events = POLLIN};
    p[n + 1] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
    kv_print("ready", "1");
    for (;;) {
        p[n + 1].revents = 0; /* not polled while every worker is busy */
        if (poll(p, (nfds_t)n + (nidle > 0 ? 2 : 1), -1) < 0) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        if (p[n].revents)
            return next_signal(s) == SIGCHLD;
        for (int i = 0; i < n; i++) {
            char b;
            if (!p[i].revents)
                continue;
            if (read(p[i].fd, &b, 1) != 1)
                die("worker %d channel", i);
            idle[i] = 1;
            nidle++;
        }
        if (nidle > 0 && p[n + 1].revents) {
            int fd = accept_one(s->lfd), i = 0;
            if (fd < 0)
                continue;
            while (!idle[i])
                i++;
            if (send_fds(s->chan[i], &fd, 1, "c", 1) != 1)
                die("send_fds to worker %d", i);
            if (close(fd) < 0)
                die("close");
            idle[i] = 0;
            nidle--;
        }
    }
}

/* ------------------------------------------------------------------ main */

static void setup_listener(struct srv *s)
{
    /* Whoever polls the listener before accept must not block in accept. */
    int nb = !strcmp(s->mode, "epoll") || !strcmp(s->mode, "exclusive") ||
                     !strcmp(s->mode, "passfd") || !strcmp(s->mode, "iterative") ||
                     !strcmp(s->mode, "fork")
                 ? SOCK_NONBLOCK : 0;
    if (strcmp(s->mode, "reuseport") != 0) {
        if ((s->lfd = tcp_listen_loopback(BACKLOG, SOCK_CLOEXEC | nb, &s->port)) < 0)
            die("tcp_listen");
        return;
    }
    s->lfd = -1; /* every listener bound to one port, all opened before any accept */
    for (int i = 0; i < s->nworkers; i++)
        if ((s->rfd[i] = tcp_listen("127.0.0.1", s->port, BACKLOG,
                                    SOCK_CLOEXEC | SOCK_REUSEPORT, &s->port)) < 0)
            die("tcp_listen reuseport %d", i);
}

static void usage(void)
{
    fprintf(stderr, "usage: ch30srv -m iterative|fork|prefork|fcntl|mutex|passfd|epoll|"
                    "exclusive|reuseport|uring [-w N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct srv s = {.nworkers = 4, .lockfd = -1};
    int opt;
    while ((opt = getopt(argc, argv, "m:w:")) != -1) {
        if (opt == 'm')
            s.mode = optarg;
        else if (opt == 'w')
            s.nworkers = atoi(optarg);
        else
            usage();
    }
    static const struct {
        const char *name;
        void (*body)(struct srv *, int);
    } pools[] = {{"prefork", w_prefork}, {"fcntl", w_fcntl},         {"mutex", w_mutex},
                 {"epoll", w_epoll},     {"exclusive", w_exclusive}, {"reuseport", w_reuseport},
                 {"uring", w_uring}};
    void (*body)(struct srv *, int) = NULL;
    for (size_t i = 0; s.mode && i < sizeof pools / sizeof pools[0]; i++)
        if (strcmp(s.mode, pools[i].name) == 0)
            body = pools[i].body;
    int known = body || (s.mode && (!strcmp(s.mode, "iterative") || !strcmp(s.mode, "fork") ||
                                    !strcmp(s.mode, "passfd")));
    if (optind != argc || !known || s.nworkers < 1 || s.nworkers > MAXW)
        usage();

    sigemptyset(&s.sigs);
    sigaddset(&s.sigs, SIGTERM);
    sigaddset(&s.sigs, SIGINT);
    sigaddset(&s.sigs, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &s.sigs, NULL) < 0 ||
        (s.sigfd = signalfd(-1, &s.sigs, SFD_CLOEXEC)) < 0)
        die("signalfd");
    setup_listener(&s);
    kv_print("port", "%u", (unsigned)s.port);

    if (body == w_fcntl) {
        /* An unnamed file: nothing to remove afterwards. */
        if ((s.lockfd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) < 0) {
            char path[] = "/tmp/ch30srv-lock-XXXXXX"; /* no O_TMPFILE on this fs */
            if ((s.lockfd = mkostemp(path, O_CLOEXEC)) < 0 || unlink(path) < 0)
                die("lock file");
        }
    } else if (body == w_mutex) {
        if (!(s.mtx = pshm_alloc(sizeof *s.mtx)))
            die("pshm_alloc");
        if (pmutex_init(s.mtx, PMUTEX_ROBUST) != 0)
            die("pmutex_init");
    }

    int died;
    if (!strcmp(s.mode, "iterative") || !strcmp(s.mode, "fork")) {
        kv_print("ready", "1");
        died = s.mode[0] == 'i' ? run_iterative(&s) : run_fork(&s);
        s.nworkers = 0;
    } else {
        died = body ? run_pool(&s, body) : run_passfd(&s);
    }

    /* Stop: SIGTERM every worker (default action, they never catch it), then reap
     * every child — fork mode's last ones finish their single request first. */
    for (int i = 0; i < s.nworkers; i++)
        if (kill(s.pid[i], SIGTERM) < 0 && errno != ESRCH)
            die("kill %d", (int)s.pid[i]);
    while (wait(NULL) > 0 || errno == EINTR)
        ;
    if (errno != ECHILD)
        die("wait");
    for (int i = 0; !strcmp(s.mode, "passfd") && i < s.nworkers; i++)
        if (close(s.chan[i]) < 0)
            die("close channel");
    if ((s.lfd >= 0 && close(s.lfd) < 0) || (s.lockfd >= 0 && close(s.lockfd) < 0) ||
        close(s.sigfd) < 0)
        die("close");
    if (s.mtx && (pmutex_destroy(s.mtx) != 0 || pshm_free(s.mtx, sizeof *s.mtx) < 0))
        die("mutex cleanup");

    struct rusage self, kids;
    if (getrusage(RUSAGE_SELF, &self) < 0 || getrusage(RUSAGE_CHILDREN, &kids) < 0)
        die("getrusage");
    double us = (double)(self.ru_utime.tv_sec + kids.ru_utime.tv_sec) +
                (double)(self.ru_utime.tv_usec + kids.ru_utime.tv_usec) / 1e6;
    double sy = (double)(self.ru_stime.tv_sec + kids.ru_stime.tv_sec) +
                (double)(self.ru_stime.tv_usec + kids.ru_stime.tv_usec) / 1e6;
    kv_print("mode", "%s", s.mode);
    kv_print("workers", "%d", s.nworkers);
    kv_print("cpu_user_s", "%.3f", us);
    kv_print("cpu_sys_s", "%.3f", sy);
    kv_print("cpu_s", "%.3f", us + sy);
    if (died)
        kv_print("worker_died", "1");
    return died ? 1 : 0;
}
