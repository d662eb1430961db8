/* pass.c — part 2 of lab 13: handing a connection to another ring.
 *
 * uring dispatch (threads): the acceptor thread's ring accepts into its fixed-file
 *   table (multishot, direct) and sends each slot to a worker ring, round-robin, with
 *   IORING_OP_MSG_RING / IORING_MSG_SEND_FD, linked to a close of its own slot. Each
 *   worker thread owns a ring; the file arrives in a free slot of ITS table, announced
 *   by a CQE, and is served with fixed-file recv, send and close. No descriptor
 *   number exists for the connection in any table of the process at any time.
 * SCM_RIGHTS dispatch (threads, lab 09's way): accept4, sendmsg with SCM_RIGHTS over a
 *   socketpair to the worker, close; the worker recvmsg's a new descriptor.
 * process: the worker ring is created BEFORE fork, so the child owns a ring whose fd
 *   the parent still holds: MSG_RING reaches another process only that way.
 * scm_ring: sendmsg(SCM_RIGHTS) of an io_uring fd, and of an eventfd as the control.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "fdcount.h"
#include "fdpass.h"
#include "io.h"
#include "kv.h"
#include "labreply.h"
#include "loadgen.h"
#include "parts.h"
#include "ring.h"
#include "sock.h"

#define NW 2       /* worker threads */
#define SLOTS 256  /* fixed-file slots per ring */
#define BUF 1024

enum { T_ACCEPT = 1, T_MSG, T_SRCCLOSE, T_CONN, T_RECV, T_SEND, T_CLOSE, T_STOP };
#define UD(t, slot) (((unsigned long long)(t) << 32) | (unsigned)(slot))

struct worker {
    struct io_uring ring;
    int id;
    long served, failed, enters;
    unsigned limit; /* stop after this many connections (0: at T_STOP) */
    pthread_t thread;
    char buf[SLOTS][BUF];
};

struct acceptor {
    struct io_uring ring;
    int lfd;
    struct worker *w;
    int nw;
    long sent, failed, enters;
    unsigned limit; /* stop after this many sends (0: at T_STOP) */
    struct ring_usage cost;
    pthread_t thread;
};

static void ring_init(struct io_uring *r, unsigned entries)
{
    struct io_uring_params p = {.flags = IORING_SETUP_CQSIZE, .cq_entries = 4 * entries};
    int e = io_uring_queue_init_params(entries, r, &p);
    if (e < 0 || (e = io_uring_register_files_sparse(r, SLOTS)) < 0) {
        errno = -e;
        die("io_uring set-up");
    }
}

static void enter(struct io_uring *r, long *calls, const char *who)
{
    int e = ring_enter(r, 1, calls);
    if (e < 0 && e != -EINTR && e != -ETIME) {
        errno = -e;
        die("%s: io_uring_enter", who);
    }
}

static void fixed(struct io_uring_sqe *sqe, unsigned long long ud)
{
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, ud);
}

/* One worker ring: a connection arrives as a CQE carrying its new slot; recv the
 * request, send the reply naming this worker, close the slot. */
static void *worker_run(void *arg)
{
    struct worker *w = arg;
    char reply[160];
    int rlen = snprintf(reply, sizeof reply,
                        "HTTP/1.1 200 OK\r\nX-Worker: %d\r\nContent-Length: 3\r\n"
                        "Connection: close\r\n\r\nok\n", w->id);
    int stop = 0;
    while (!stop && !(w->limit && (unsigned long)(w->served + w->failed) >= w->limit)) {
        enter(&w->ring, &w->enters, "worker");
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&w->ring, head, cqe) {
            seen++;
            unsigned t = (unsigned)(cqe->user_data >> 32), slot = (unsigned)cqe->user_data;
            struct io_uring_sqe *sqe;
            if (t == T_STOP) {
                stop = 1;
            } else if (t == T_CONN) {
                if (cqe->res < 0 || cqe->res >= SLOTS) {
                    w->failed++;
                    continue;
                }
                sqe = ring_get_sqe(&w->ring);
                io_uring_prep_recv(sqe, cqe->res, w->buf[cqe->res], BUF, 0);
                fixed(sqe, UD(T_RECV, cqe->res));
            } else if (t == T_RECV) {
                sqe = ring_get_sqe(&w->ring);
                if (cqe->res > 0) {
                    io_uring_prep_send(sqe, (int)slot, reply, (size_t)rlen, MSG_NOSIGNAL);
                    fixed(sqe, UD(T_SEND, slot));
                } else {
                    w->failed++;
                    io_uring_prep_close_direct(sqe, slot);
                    io_uring_sqe_set_data64(sqe, UD(T_CLOSE, slot));
                }
            } else if (t == T_SEND) {
                w->served += cqe->res == rlen;
                w->failed += cqe->res != rlen;
                sqe = ring_get_sqe(&w->ring);
                io_uring_prep_close_direct(sqe, slot);
                io_uring_sqe_set_data64(sqe, UD(T_CLOSE, slot));
            }
        }
        io_uring_cq_advance(&w->ring, seen);
    }
    long ignored = 0;
    (void)ring_enter(&w->ring, 0, &ignored); /* submit the last closes */
    return NULL;
}

/* The acceptor: multishot accept into its own slots, MSG_RING each to a worker ring,
 * then close its own slot (linked: only after the send). */
static void *acceptor_run(void *arg)
{
    struct acceptor *a = arg;
    struct ring_usage start;
    ring_usage(&start);
    struct io_uring_sqe *sqe = ring_get_sqe(&a->ring);
    io_uring_prep_multishot_accept_direct(sqe, a->lfd, NULL, NULL, 0);
    io_uring_sqe_set_data64(sqe, UD(T_ACCEPT, 0));
    int stop = 0, next = 0;
    while (!stop && !(a->limit && (unsigned long)a->sent >= a->limit)) {
        enter(&a->ring, &a->enters, "acceptor");
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&a->ring, head, cqe) {
            seen++;
            unsigned t = (unsigned)(cqe->user_data >> 32);
            if (t == T_STOP) {
                stop = 1;
            } else if (t == T_ACCEPT) {
                if (cqe->res < 0) {
                    errno = -cqe->res;
                    die("acceptor: multishot accept");
                }
                if (!(cqe->flags & IORING_CQE_F_MORE))
                    die_msg("acceptor: the multishot accept ended");
                struct worker *w = &a->w[next];
                next = (next + 1) % a->nw;
                sqe = ring_get_sqe(&a->ring);
                ring_prep_send_fd(sqe, w->ring.ring_fd, (unsigned)cqe->res, UD(T_CONN, 0));
                io_uring_sqe_set_data64(sqe, UD(T_MSG, cqe->res));
                sqe->flags |= IOSQE_IO_LINK;
                sqe = ring_get_sqe(&a->ring);
                io_uring_prep_close_direct(sqe, (unsigned)cqe->res);
                io_uring_sqe_set_data64(sqe, UD(T_SRCCLOSE, cqe->res));
                a->sent++;
            } else if (t == T_MSG && cqe->res < 0) {
                a->failed++;
                warn_msg("MSG_RING send_fd: %s", errno_name(-cqe->res));
            }
        }
        io_uring_cq_advance(&a->ring, seen);
    }
    long ignored = 0;
    (void)ring_enter(&a->ring, 0, &ignored);
    ring_usage_delta(&start, &a->cost);
    return NULL;
}

/* Sends MSG_DATA "stop" to each ring from a ring of our own. */
static void stop_rings(struct io_uring **rings, int n)
{
    struct io_uring ctl;
    int e = io_uring_queue_init(8, &ctl, 0);
    if (e < 0) {
        errno = -e;
        die("control ring");
    }
    for (int i = 0; i < n; i++)
        io_uring_prep_msg_ring(ring_get_sqe(&ctl), rings[i]->ring_fd, 0, UD(T_STOP, 0), 0);
    long calls = 0;
    if ((e = ring_enter(&ctl, (unsigned)n, &calls)) < 0) {
        errno = -e;
        die("stop rings");
    }
    io_uring_queue_exit(&ctl);
}

static int load(uint16_t port, unsigned n, struct loadgen_result *res)
{
    struct loadgen_opts o = {.port = port, .connections = 4, .requests = n};
    if (loadgen_run(&o, res) < 0)
        die("loadgen");
    return res->ok == (long)n;
}

struct dispatch {
    long ok, per_worker[NW], acc_syscalls, failed;
    double acc_cpu_us;
};

static void dispatch_uring(unsigned n, struct dispatch *d)
{
    static struct worker w[NW]; /* large buffers: not on the stack */
    struct acceptor a = {.w = w, .nw = NW};
    uint16_t port;
    if ((a.lfd = tcp_listen_loopback(128, SOCK_CLOEXEC, &port)) < 0)
        die("listen");
    ring_init(&a.ring, 64);
    for (int i = 0; i < NW; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].id = i;
        ring_init(&w[i].ring, 64);
        if ((errno = pthread_create(&w[i].thread, NULL, worker_run, &w[i])) != 0)
            die("pthread_create");
    }
    if ((errno = pthread_create(&a.thread, NULL, acceptor_run, &a)) != 0)
        die("pthread_create");
    struct loadgen_result res;
    load(port, n, &res);
    struct io_uring *all[NW + 1] = {&a.ring};
    for (int i = 0; i < NW; i++)
        all[i + 1] = &w[i].ring;
    stop_rings(all, NW + 1);
    if ((errno = pthread_join(a.thread, NULL)) != 0)
        die("pthread_join");
    d->failed = a.failed;
    for (int i = 0; i < NW; i++) {
        if ((errno = pthread_join(w[i].thread, NULL)) != 0)
            die("pthread_join");
        io_uring_queue_exit(&w[i].ring);
        d->per_worker[i] = res.per_worker[i];
        d->failed += w[i].failed;
    }
    io_uring_queue_exit(&a.ring);
    if (close(a.lfd) < 0)
        die("close");
    d->ok = res.ok;
    d->acc_syscalls = a.enters;
    d->acc_cpu_us = a.cost.user_us + a.cost.sys_us;
    loadgen_result_free(&res);
}

struct scm_acceptor {
    int lfd, chan[NW];
    long sent, syscalls;
    struct ring_usage cost;
};

struct scm_worker {
    int chan, id;
};

static void *scm_worker_run(void *arg)
{
    struct scm_worker *w = arg;
    for (;;) {
        int fd;
        size_t nfd = 1;
        char b;
        ssize_t r = recv_fds(w->chan, &fd, &nfd, &b, 1);
        if (r == 0)
            return NULL;
        if (r < 0 || nfd != 1)
            die("scm worker: recv_fds");
        (void)lab_serve(fd, w->id); /* closes fd; a failure is the client's result */
    }
}

static void *scm_acceptor_run(void *arg)
{
    struct scm_acceptor *a = arg;
    struct ring_usage start;
    ring_usage(&start);
    for (int next = 0;; next = (next + 1) % NW) {
        a->syscalls++;
        int fd = accept4(a->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINVAL) /* shutdown(2) of the listener: the run is over */
                break;
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            die("scm acceptor: accept4");
        }
        a->syscalls += 2;
        if (send_fds(a->chan[next], &fd, 1, "c", 1) != 1 || close(fd) < 0)
            die("scm acceptor: pass");
        a->sent++;
    }
    a->syscalls--; /* the accept4 that saw the shutdown is not a connection's cost */
    ring_usage_delta(&start, &a->cost);
    return NULL;
}

static void dispatch_scm(unsigned n, struct dispatch *d)
{
    struct scm_acceptor a = {0};
    struct scm_worker w[NW];
    pthread_t wt[NW], at;
    uint16_t port;
    if ((a.lfd = tcp_listen_loopback(128, SOCK_CLOEXEC, &port)) < 0)
        die("listen");
    for (int i = 0; i < NW; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
            die("socketpair");
        a.chan[i] = sv[0];
        w[i] = (struct scm_worker){.chan = sv[1], .id = i};
        if ((errno = pthread_create(&wt[i], NULL, scm_worker_run, &w[i])) != 0)
            die("pthread_create");
    }
    if ((errno = pthread_create(&at, NULL, scm_acceptor_run, &a)) != 0)
        die("pthread_create");
    struct loadgen_result res;
    load(port, n, &res);
    if (shutdown(a.lfd, SHUT_RD) < 0 || (errno = pthread_join(at, NULL)) != 0)
        die("stop scm acceptor");
    for (int i = 0; i < NW; i++) {
        if (close(a.chan[i]) < 0 || (errno = pthread_join(wt[i], NULL)) != 0 || close(w[i].chan) < 0)
            die("stop scm worker");
        d->per_worker[i] = res.per_worker[i];
    }
    if (close(a.lfd) < 0)
        die("close");
    d->ok = res.ok;
    d->failed = 0;
    d->acc_syscalls = a.syscalls;
    d->acc_cpu_us = a.cost.user_us + a.cost.sys_us;
    loadgen_result_free(&res);
}

/* A worker PROCESS: its ring exists before fork, so the parent holds its fd. The
 * child serves one connection and exits. Returns 1 when the reply named the child. */
static int dispatch_process(long *child_pid)
{
    static struct worker w;
    memset(&w, 0, sizeof w);
    ring_init(&w.ring, 8);
    uint16_t port;
    int lfd = tcp_listen_loopback(8, SOCK_CLOEXEC, &port);
    if (lfd < 0)
        die("listen");
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        w.id = (int)getpid();
        w.limit = 1;
        worker_run(&w);
        _exit(w.served == 1 ? 0 : 1);
    }
    *child_pid = pid;
    struct acceptor a = {.lfd = lfd, .w = &w, .nw = 1, .limit = 1};
    ring_init(&a.ring, 8);
    int cfd = tcp_connect("127.0.0.1", port, SOCK_CLOEXEC); /* completes into the backlog */
    if (cfd < 0)
        die("connect");
    acceptor_run(&a); /* accepts it, MSG_RING's it to the child's ring */
    static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    char resp[512] = "";
    ssize_t got = 0;
    if (write(cfd, req, sizeof req - 1) != (ssize_t)sizeof req - 1)
        die("write request");
    for (ssize_t r = 1; r > 0 && got < (ssize_t)sizeof resp - 1; got += r > 0 ? r : 0) {
        if (wait_readable(cfd, 5000) <= 0)
            die_msg("process worker: no reply in 5 s");
        if ((r = read(cfd, resp + got, sizeof resp - 1 - (size_t)got)) < 0)
            die("read reply");
    }
    int rc = reap_bounded(pid, 5000);
    io_uring_queue_exit(&a.ring);
    io_uring_queue_exit(&w.ring);
    if (close(cfd) < 0 || close(lfd) < 0)
        die("close");
    char want[32];
    snprintf(want, sizeof want, "X-Worker: %d\r\n", (int)pid);
    return rc == 0 && a.failed == 0 && strstr(resp, want) != NULL;
}

/* sendmsg(SCM_RIGHTS) of an io_uring fd, then of an eventfd; "ok" or the errno name. */
static void scm_ring(const char **ring_res, const char **efd_res, int *efd_arrived)
{
    struct io_uring r;
    int e = io_uring_queue_init(4, &r, 0), sv[2], efd = eventfd(0, EFD_CLOEXEC);
    if (e < 0 || efd < 0 || socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
        die("scm_ring set-up");
    *ring_res = send_fds(sv[0], &r.ring_fd, 1, "r", 1) == 1 ? "ok" : errno_name(errno);
    *efd_res = send_fds(sv[0], &efd, 1, "e", 1) == 1 ? "ok" : errno_name(errno);
    /* What arrives: only the control's descriptor (the refused message never left). */
    int got[1];
    size_t ngot = 1;
    char b;
    *efd_arrived = 0;
    if (recv_fds(sv[1], got, &ngot, &b, 1) == 1 && ngot == 1) {
        *efd_arrived = b == 'e';
        if (close(got[0]) < 0)
            die("close");
    }
    io_uring_queue_exit(&r);
    if (close(sv[0]) < 0 || close(sv[1]) < 0 || close(efd) < 0)
        die("close");
}

void pass_part(struct claims *c, unsigned n)
{
    puts("\n# Part 2: passing a connection to another ring (IORING_OP_MSG_RING + IORING_MSG_SEND_FD)");
    printf("%u connections (one request each, 4 in flight) through an acceptor and %d workers,\n"
           "threads of this process: MSG_RING between rings, then SCM_RIGHTS over socketpairs.\n",
           n, NW);
    fflush(stdout);
    int fds0 = fd_count();
    struct dispatch u = {0}, s = {0};
    dispatch_uring(n, &u);
    dispatch_scm(n, &s);
    kv_print("pass.n", "%u", n);
    kv_print("pass.uring.ok", "%ld", u.ok);
    kv_print("pass.uring.per_worker", "%ld,%ld", u.per_worker[0], u.per_worker[1]);
    kv_print("pass.uring.failed", "%ld", u.failed);
    kv_print("pass.uring.acceptor_syscalls_per_conn", "%.3f", (double)u.acc_syscalls / n);
    kv_print("pass.uring.acceptor_cpu_us_per_conn", "%.2f", u.acc_cpu_us / n);
    kv_print("pass.scm.ok", "%ld", s.ok);
    kv_print("pass.scm.per_worker", "%ld,%ld", s.per_worker[0], s.per_worker[1]);
    kv_print("pass.scm.acceptor_syscalls_per_conn", "%.3f", (double)s.acc_syscalls / n);
    kv_print("pass.scm.acceptor_cpu_us_per_conn", "%.2f", s.acc_cpu_us / n);
    kv_print("pass.fd_table_growth", "%d", fd_count() - fds0);
    claim(c, "pass.msg_ring.shown", u.ok == (long)n && u.failed == 0 && u.per_worker[0] > 0 &&
                                        u.per_worker[1] > 0 &&
                                        u.per_worker[0] + u.per_worker[1] == (long)n);
    claim(c, "pass.scm.shown", s.ok == (long)n && s.per_worker[0] + s.per_worker[1] == (long)n);

    puts("\n# Between processes: only through a ring fd both hold. The worker's ring is created");
    puts("before fork(); the parent accepts and MSG_RING's the connection into the child's ring.");
    long child = 0;
    int pok = dispatch_process(&child);
    kv_print("pass.process.child_pid", "%ld", child);
    kv_print("pass.process.served_by_child", "%d", pok);
    claim(c, "pass.process.shown", pok);

    puts("\n# And the ring fd itself over SCM_RIGHTS (an eventfd as the control):");
    const char *rr, *er;
    int arrived;
    scm_ring(&rr, &er, &arrived);
    kv_print("pass.scm_ring.sendmsg", "%s", rr);
    kv_print("pass.scm_eventfd.sendmsg", "%s", er);
    kv_print("pass.scm_eventfd.arrived", "%d", arrived);
    puts("sendmsg refuses an io_uring fd in SCM_RIGHTS (the message is not sent at all);");
    puts("the same call with any other descriptor works.");
    claim(c, "pass.scm_ring.shown", strcmp(rr, "EINVAL") == 0 && strcmp(er, "ok") == 0 && arrived);
}
