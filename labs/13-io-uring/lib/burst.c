/* burst.c — part 1 of lab 13: what accepting a burst of connections costs.
 *
 * The same burst is offered to three acceptors, one after the other: a child process
 * connects n TCP connections to a fresh loopback listener (the kernel completes each
 * handshake into the listen queue), tells us, and holds them open. Then we accept all
 * n and count our own system calls:
 *   epoll   epoll_wait, then accept4 until EAGAIN (the classic non-blocking loop)
 *   uring   one IORING_OP_ACCEPT SQE with IORING_ACCEPT_MULTISHOT: one CQE per
 *           connection, each with IORING_CQE_F_MORE while the request stays armed
 *   direct  the same into the ring's fixed-file table (IORING_FILE_INDEX_ALLOC): the
 *           CQE carries a slot number, the process's descriptor table does not grow
 * Closing what was accepted is not counted (it is the same for both, or one call).
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "fdcount.h"
#include "io.h"
#include "kv.h"
#include "parts.h"
#include "ring.h"
#include "sock.h"

struct burst {
    int lfd;
    uint16_t port;
    pid_t client;
    int hold; /* write end: the client holds its connections until this closes */
};

/* The client: connect n times (blocking; loopback completes at once), report "r",
 * then hold the connections until the parent closes the hold pipe (at most 30 s). */
static void client(uint16_t port, unsigned n, int ready, int hold)
{
    for (unsigned i = 0; i < n; i++)
        if (tcp_connect("127.0.0.1", port, SOCK_CLOEXEC) < 0)
            die("client: connect %u", i);
    if (write(ready, "r", 1) != 1)
        die("client: write ready");
    char b;
    if (wait_readable(hold, 30000) < 0 || read(hold, &b, 1) < 0)
        die("client: hold");
    _exit(0);
}

static void burst_start(struct burst *b, unsigned n, int nonblock)
{
    if ((b->lfd = tcp_listen_loopback((int)n + 16, SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0),
                                      &b->port)) < 0)
        die("tcp_listen_loopback");
    int rp[2], hp[2];
    if (pipe2(rp, O_CLOEXEC) < 0 || pipe2(hp, O_CLOEXEC) < 0)
        die("pipe2");
    fflush(stdout);
    if ((b->client = fork()) < 0)
        die("fork");
    if (b->client == 0) {
        if (close(rp[0]) < 0 || close(hp[1]) < 0 || close(b->lfd) < 0)
            die("client: close");
        client(b->port, n, rp[1], hp[0]);
    }
    if (close(rp[1]) < 0 || close(hp[0]) < 0)
        die("close");
    b->hold = hp[1];
    char c;
    if (read_full(rp[0], &c, 1, 30000) != 1)
        die("burst client never got connected");
    if (close(rp[0]) < 0)
        die("close");
}

static void burst_end(struct burst *b)
{
    if (close(b->hold) < 0 || close(b->lfd) < 0)
        die("close");
    int rc = reap_bounded(b->client, 10000);
    if (rc != 0)
        die_msg("burst client exited %d", rc);
}

/* epoll: one epoll_wait, accept4 until EAGAIN. Returns the accepted count. */
static unsigned accept_epoll(unsigned n, long *calls)
{
    struct burst b;
    burst_start(&b, n, 1);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, b.lfd, &ev) < 0)
        die("epoll");
    int *fds = calloc(n, sizeof *fds);
    unsigned got = 0;
    if (!fds)
        die("calloc");
    *calls = 0;
    while (got < n) {
        ++*calls;
        int r = epoll_wait(ep, &ev, 1, 5000);
        if (r < 0 && errno != EINTR)
            die("epoll_wait");
        if (r == 0)
            die_msg("epoll burst: no connection within 5 s");
        for (;;) {
            ++*calls;
            int fd = accept4(b.lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EAGAIN)
                    break;
                die("accept4");
            }
            if (got < n)
                fds[got++] = fd;
            else if (close(fd) < 0)
                die("close");
        }
    }
    for (unsigned i = 0; i < got; i++)
        if (close(fds[i]) < 0)
            die("close");
    free(fds);
    if (close(ep) < 0)
        die("close");
    burst_end(&b);
    return got;
}

struct uring_burst {
    unsigned accepted, more, distinct;
    long submitted, enters;
    int fd_growth; /* our descriptor table's growth while the burst was accepted */
};

/* One multishot accept, plain or direct; collects n CQEs. */
static void accept_uring(unsigned n, int direct, struct uring_burst *u)
{
    struct burst b;
    burst_start(&b, n, 0);
    struct io_uring ring;
    struct io_uring_params p = {.flags = IORING_SETUP_CQSIZE, .cq_entries = 2 * n};
    int e = io_uring_queue_init_params(8, &ring, &p);
    if (e < 0 || (direct && (e = io_uring_register_files_sparse(&ring, n)) < 0)) {
        errno = -e;
        die("io_uring set-up");
    }
    int *got = calloc(n, sizeof *got);
    unsigned char *seen = calloc(n, 1);
    if (!got || !seen)
        die("calloc");
    memset(u, 0, sizeof *u);
    int before = fd_count();
    struct io_uring_sqe *sqe = ring_get_sqe(&ring);
    if (direct)
        io_uring_prep_multishot_accept_direct(sqe, b.lfd, NULL, NULL, 0); /* no CLOEXEC: no fd */
    else
        io_uring_prep_multishot_accept(sqe, b.lfd, NULL, NULL, SOCK_CLOEXEC);
    while (u->accepted < n) {
        e = ring_enter(&ring, n - u->accepted, &u->enters);
        if (e == -ETIME)
            die_msg("multishot accept: %u of %u connections within 5 s", u->accepted, n);
        if (e < 0 && e != -EINTR) {
            errno = -e;
            die("io_uring_enter");
        }
        if (e > 0)
            u->submitted += e;
        struct io_uring_cqe *cqe;
        unsigned head, seen_now = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            seen_now++;
            if (cqe->res < 0) {
                errno = -cqe->res;
                die("multishot accept CQE");
            }
            u->more += (cqe->flags & IORING_CQE_F_MORE) != 0;
            got[u->accepted++] = cqe->res;
            if (direct && (unsigned)cqe->res < n && !seen[cqe->res]++)
                u->distinct++;
        }
        io_uring_cq_advance(&ring, seen_now);
    }
    u->fd_growth = fd_count() - before;
    if (!direct)
        for (unsigned i = 0; i < u->accepted; i++)
            if (close(got[i]) < 0)
                die("close");
    io_uring_queue_exit(&ring); /* cancels the armed accept, drops the fixed files */
    free(got);
    free(seen);
    burst_end(&b);
}

/* burst.<who>.* for one multishot run (distinct_slots only means something for direct). */
static void print_uring(const char *who, const struct uring_burst *u)
{
    const struct {
        const char *key;
        long v;
    } k[] = {{"accepted", u->accepted},       {"sqes_submitted", u->submitted},
             {"syscalls", u->enters},         {"cqes_with_more", u->more},
             {"distinct_slots", u->distinct}, {"fd_table_growth", u->fd_growth}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        char key[64];
        snprintf(key, sizeof key, "burst.%s.%s", who, k[i].key);
        if (strcmp(k[i].key, "distinct_slots") != 0 || strcmp(who, "direct") == 0)
            kv_print(key, "%ld", k[i].v);
    }
}

void burst_part(struct claims *c, unsigned n)
{
    puts("\n# Part 1: accepting a burst of connections — epoll loop vs one multishot accept");
    printf("A child process connects %u TCP connections and holds them; then we accept them\n"
           "all, three ways, counting our own system calls (closing them is not counted).\n", n);
    fflush(stdout);
    kv_print("burst.n", "%u", n);
    long ecalls;
    unsigned eacc = accept_epoll(n, &ecalls);
    kv_print("burst.epoll.accepted", "%u", eacc);
    kv_print("burst.epoll.syscalls", "%ld", ecalls);
    struct uring_burst u, d;
    accept_uring(n, 0, &u);
    print_uring("uring", &u);
    accept_uring(n, 1, &d);
    print_uring("direct", &d);
    puts("epoll pays one accept4 per connection plus the wait and the final EAGAIN; one");
    puts("multishot SQE delivers every connection as its own CQE, still armed (F_MORE).");
    claim(c, "burst.epoll.shown", eacc == n && ecalls >= (long)n + 2);
    claim(c, "burst.multishot.shown", u.accepted == n && u.submitted == 1 && u.more == n &&
                                         u.fd_growth == (int)n && u.enters < (long)n);
    claim(c, "burst.direct.shown", d.accepted == n && d.submitted == 1 && d.more == n &&
                                      d.distinct == n && d.fd_growth == 0);
}
