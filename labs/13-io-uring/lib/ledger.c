/* ledger.c — part 3 of lab 13: the cost ledger, epoll against io_uring.
 *
 * The server is a forked child pinned to CPU 0 (the load client, this process, to
 * CPU 1 when there is one). It answers every request with the same 41-byte response
 * (60 bytes with "Connection: close"), kept alive or closing the connection, until the parent writes to its stop pipe.
 * Between "ready" and "stop" it counts its own system calls and reads getrusage
 * (RUSAGE_SELF: user+sys CPU, voluntary+involuntary context switches), and reports
 * them over a pipe. The two servers:
 *   epoll  level-triggered epoll_wait; accept4 until EAGAIN, EPOLL_CTL_ADD each; one
 *          read and one write per request; close when the client closes or after the
 *          response in close mode (close removes it from the epoll set)
 *   uring  one ring: multishot accept into fixed slots, recv and send on the slot,
 *          close_direct; every loop is ONE io_uring_enter that submits what the
 *          previous completions asked for and waits for at least one more.
 *          IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN (6.1) when the kernel has them.
 */
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "io.h"
#include "kv.h"
#include "loadgen.h"
#include "parts.h"
#include "ring.h"
#include "sock.h"

#define SLOTS 1024
#define BUF 512

static const char KEEP[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
static const char CLOSE[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";

struct report {
    double cpu_us;
    long syscalls, ctxsw, requests;
};

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sysconf(_SC_NPROCESSORS_ONLN) > 1 && sched_setaffinity(0, sizeof set, &set) < 0)
        die("sched_setaffinity");
}

static double rusage_us(const struct rusage *r, long *ctxsw)
{
    *ctxsw = r->ru_nvcsw + r->ru_nivcsw;
    return (double)(r->ru_utime.tv_sec + r->ru_stime.tv_sec) * 1e6 +
           (double)(r->ru_utime.tv_usec + r->ru_stime.tv_usec);
}

/* Counts requests in a read: each ends with a blank line. */
static long count_requests(const char *b, ssize_t n)
{
    long k = 0;
    for (ssize_t i = 3; i < n; i++)
        k += b[i] == '\n' && b[i - 1] == '\r' && b[i - 2] == '\n' && b[i - 3] == '\r';
    return k;
}

static void serve_epoll(int lfd, int stopfd, int keep, struct report *rep)
{
    const char *resp = keep ? KEEP : CLOSE;
    size_t rlen = strlen(resp);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
        die("epoll");
    ev.data.fd = stopfd;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, stopfd, &ev) < 0)
        die("epoll_ctl");
    char buf[BUF];
    for (;;) {
        struct epoll_event evs[64];
        rep->syscalls++;
        int n = epoll_wait(ep, evs, 64, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == stopfd) {
                if (close(ep) < 0)
                    die("close");
                return;
            }
            if (fd == lfd) {
                for (;;) {
                    rep->syscalls++;
                    int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                    if (c < 0) {
                        if (errno == EAGAIN || errno == ECONNABORTED)
                            break;
                        die("accept4");
                    }
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
                    rep->syscalls++;
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev) < 0)
                        die("epoll_ctl");
                }
                continue;
            }
            rep->syscalls++;
            ssize_t r = read(fd, buf, sizeof buf);
            if (r < 0 && errno == EAGAIN)
                continue;
            long k = r > 0 ? count_requests(buf, r) : 0;
            if (k > 0) {
                rep->requests += k;
                for (long j = 0; j < k; j++) {
                    rep->syscalls++;
                    if (send(fd, resp, rlen, MSG_NOSIGNAL) != (ssize_t)rlen) {
                        r = -1; /* the client went away: close */
                        break;
                    }
                }
            }
            if (r <= 0 || !keep) {
                rep->syscalls++;
                if (close(fd) < 0)
                    die("close");
            }
        }
    }
}

enum { U_ACCEPT = 1, U_RECV, U_SEND, U_CLOSE, U_STOP };
#define UD(t, slot) (((unsigned long long)(t) << 32) | (unsigned)(slot))

static void u_recv(struct io_uring *r, char (*bufs)[BUF], unsigned slot)
{
    struct io_uring_sqe *sqe = ring_get_sqe(r);
    io_uring_prep_recv(sqe, (int)slot, bufs[slot], BUF, 0);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, UD(U_RECV, slot));
}

static void u_close(struct io_uring *r, unsigned slot)
{
    struct io_uring_sqe *sqe = ring_get_sqe(r);
    io_uring_prep_close_direct(sqe, slot);
    io_uring_sqe_set_data64(sqe, UD(U_CLOSE, slot));
}

static void serve_uring(struct io_uring *r, int lfd, int stopfd, int keep, struct report *rep)
{
    const char *resp = keep ? KEEP : CLOSE;
    unsigned rlen = (unsigned)strlen(resp);
    static char bufs[SLOTS][BUF];
    struct io_uring_sqe *sqe = ring_get_sqe(r);
    io_uring_prep_multishot_accept_direct(sqe, lfd, NULL, NULL, 0);
    io_uring_sqe_set_data64(sqe, UD(U_ACCEPT, 0));
    sqe = ring_get_sqe(r);
    io_uring_prep_poll_add(sqe, stopfd, POLLIN);
    io_uring_sqe_set_data64(sqe, UD(U_STOP, 0));
    for (;;) {
        int e = ring_enter(r, 1, &rep->syscalls);
        if (e < 0 && e != -EINTR && e != -ETIME) {
            errno = -e;
            die("io_uring_enter");
        }
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(r, head, cqe) {
            seen++;
            unsigned t = (unsigned)(cqe->user_data >> 32), slot = (unsigned)cqe->user_data;
            switch (t) {
            case U_STOP:
                return;
            case U_ACCEPT:
                if (cqe->res < 0) {
                    errno = -cqe->res;
                    die("multishot accept");
                }
                if (!(cqe->flags & IORING_CQE_F_MORE))
                    die_msg("the multishot accept ended");
                u_recv(r, bufs, (unsigned)cqe->res);
                break;
            case U_RECV: {
                long k = cqe->res > 0 ? count_requests(bufs[slot], cqe->res) : 0;
                if (k <= 0) {
                    if (cqe->res > 0) /* a request in pieces: not sent by this client */
                        die_msg("uring server: partial request");
                    u_close(r, slot);
                    break;
                }
                rep->requests += k;
                /* k > 1 never happens with one request in flight per connection */
                sqe = ring_get_sqe(r);
                io_uring_prep_send(sqe, (int)slot, resp, rlen, MSG_NOSIGNAL);
                sqe->flags |= IOSQE_FIXED_FILE;
                io_uring_sqe_set_data64(sqe, UD(U_SEND, slot));
                break;
            }
            case U_SEND:
                if (cqe->res == (int)rlen && keep)
                    u_recv(r, bufs, slot);
                else
                    u_close(r, slot);
                break;
            default:
                break;
            }
        }
        io_uring_cq_advance(r, seen);
    }
}

/* The server child: set up, report ready, serve, report the ledger, exit. */
static void server(const char *mode, int keep, int lfd, int stopfd, int out)
{
    pin(0);
    struct io_uring ring;
    if (mode[0] == 'u') {
        struct io_uring_params p = {.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN};
        int e = io_uring_queue_init_params(256, &ring, &p);
        if (e == -EINVAL) { /* older than 6.1 */
            memset(&p, 0, sizeof p);
            e = io_uring_queue_init_params(256, &ring, &p);
        }
        if (e < 0 || (e = io_uring_register_files_sparse(&ring, SLOTS)) < 0) {
            errno = -e;
            die("ledger ring");
        }
    }
    struct report rep = {0};
    struct rusage r0, r1;
    if (write(out, "r", 1) != 1 || getrusage(RUSAGE_SELF, &r0) < 0)
        die("ready");
    if (mode[0] == 'u')
        serve_uring(&ring, lfd, stopfd, keep, &rep);
    else
        serve_epoll(lfd, stopfd, keep, &rep);
    if (getrusage(RUSAGE_SELF, &r1) < 0)
        die("getrusage");
    long c0, c1;
    rep.cpu_us = rusage_us(&r1, &c1) - rusage_us(&r0, &c0);
    rep.ctxsw = c1 - c0;
    if (write(out, &rep, sizeof rep) != (ssize_t)sizeof rep)
        die("report");
    _exit(0);
}

int ledger_case(const char *mode, int keepalive, unsigned conns, unsigned requests,
                struct ledger *out)
{
    uint16_t port;
    int lfd = tcp_listen_loopback(1024, SOCK_CLOEXEC | (mode[0] == 'e' ? SOCK_NONBLOCK : 0), &port);
    int sp[2], rp[2];
    if (lfd < 0 || pipe2(sp, O_CLOEXEC) < 0 || pipe2(rp, O_CLOEXEC) < 0)
        die("ledger set-up");
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        if (close(sp[1]) < 0 || close(rp[0]) < 0)
            die("close");
        server(mode, keepalive, lfd, sp[0], rp[1]);
    }
    if (close(sp[0]) < 0 || close(rp[1]) < 0)
        die("close");
    char c;
    if (read_full(rp[0], &c, 1, 10000) != 1)
        die("ledger server not ready");
    cpu_set_t old;
    if (sched_getaffinity(0, sizeof old, &old) < 0)
        die("sched_getaffinity");
    pin(1);
    struct loadgen_opts o = {.port = port, .connections = (int)conns, .requests = requests,
                             .keepalive = keepalive, .no_samples = 1};
    struct loadgen_result res;
    if (loadgen_run(&o, &res) < 0)
        die("loadgen");
    if (sched_setaffinity(0, sizeof old, &old) < 0)
        die("sched_setaffinity");
    struct report rep;
    if (write(sp[1], "s", 1) != 1 || read_full(rp[0], &rep, sizeof rep, 10000) != (ssize_t)sizeof rep)
        die("ledger report");
    int rc = reap_bounded(pid, 10000);
    if (rc != 0)
        warn_msg("ledger server exited %d", rc);
    if (close(sp[1]) < 0 || close(rp[0]) < 0 || close(lfd) < 0)
        die("close");
    long served = rep.requests > 0 ? rep.requests : 1;
    out->ok = res.ok;
    out->cpu_us_per_req = rep.cpu_us / (double)served;
    out->syscalls_per_req = (double)rep.syscalls / (double)served;
    out->ctxsw_per_req = (double)rep.ctxsw / (double)served;
    out->rps = res.elapsed_s > 0 ? (double)res.ok / res.elapsed_s : 0;
    char k[64];
    const char *kind = keepalive ? "keep" : "close";
#define P(key, fmt, v)                                                                             \
    snprintf(k, sizeof k, "ledger.%s.%s." key, mode, kind);                                        \
    kv_print(k, fmt, v)
    P("requests", "%ld", res.ok);
    P("server_requests", "%ld", rep.requests);
    P("cpu_us_per_req", "%.2f", out->cpu_us_per_req);
    P("syscalls_per_req", "%.3f", out->syscalls_per_req);
    P("ctxsw_per_req", "%.3f", out->ctxsw_per_req);
    P("rps", "%.0f", out->rps);
#undef P
    int all = rc == 0 && res.ok == (long)requests && rep.requests == (long)requests;
    loadgen_result_free(&res);
    return all;
}

void ledger_part(struct claims *c)
{
    puts("\n# Part 3: the cost ledger — the same tiny response over epoll and over io_uring");
    puts("Server pinned to CPU 0, client to CPU 1; per request: server CPU µs (user+sys),");
    puts("system calls it made, context switches. 8 connections in flight.");
    fflush(stdout);
    struct ledger ek, uk, ec, uc;
    int ok = ledger_case("epoll", 1, 8, LEDGER_KEEP, &ek) & ledger_case("uring", 1, 8, LEDGER_KEEP, &uk) &
             ledger_case("epoll", 0, 8, LEDGER_CLOSE, &ec) &
             ledger_case("uring", 0, 8, LEDGER_CLOSE, &uc);
    printf("%-28s %12s %12s\n", "per request", "epoll", "io_uring");
    printf("%-28s %12.2f %12.2f\n", "kept-alive: CPU µs", ek.cpu_us_per_req, uk.cpu_us_per_req);
    printf("%-28s %12.2f %12.2f\n", "kept-alive: system calls", ek.syscalls_per_req, uk.syscalls_per_req);
    printf("%-28s %12.2f %12.2f\n", "kept-alive: context switches", ek.ctxsw_per_req, uk.ctxsw_per_req);
    printf("%-28s %12.2f %12.2f\n", "close: CPU µs", ec.cpu_us_per_req, uc.cpu_us_per_req);
    printf("%-28s %12.2f %12.2f\n", "close: system calls", ec.syscalls_per_req, uc.syscalls_per_req);
    printf("%-28s %12.2f %12.2f\n", "close: context switches", ec.ctxsw_per_req, uc.ctxsw_per_req);
    kv_print("ledger.keep.cpu_ratio_uring_over_epoll", "%.2f", uk.cpu_us_per_req / ek.cpu_us_per_req);
    kv_print("ledger.close.cpu_ratio_uring_over_epoll", "%.2f", uc.cpu_us_per_req / ec.cpu_us_per_req);
    puts("The claim is about system calls (structural); CPU and context switches are measured");
    puts("and printed, not claimed: see notes/13-io-uring.md and results/13-io-uring.csv.");
    claim(c, "ledger.shown", ok && uk.syscalls_per_req < ek.syscalls_per_req &&
                                 uc.syscalls_per_req < ec.syscalls_per_req);
}
