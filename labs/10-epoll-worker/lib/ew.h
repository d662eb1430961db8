/* ew.h — lab 10's four experiments on a single-process non-blocking epoll server.
 *
 * Every function runs one self-contained scenario on 127.0.0.1 (port 0), bounds each
 * of its waits, closes everything it opened, and fills a result struct; die() on a
 * failed syscall that the scenario cannot go on without. None prints anything.
 *
 * ew_ltet(edge, r)            raw epoll, AF_UNIX socketpair. `arrivals` writes of
 *   `per_arrival` bytes; after each, epoll_wait(timeout 0) is called until it returns
 *   0, and every notification reads only `chunk` bytes. Level-triggered (edge = 0)
 *   notifies while data remains; edge-triggered (EPOLLET) once per arrival.
 *
 * ew_stall_accept(drain, r)   raw epoll, TCP, listener registered EPOLLET. Two
 *   clients connect and send "ping\n" BEFORE the first epoll_wait (the program waits
 *   until the kernel's accept queue holds both: TCP_INFO on a listener reports its
 *   length in tcpi_unacked). drain = 0 accepts ONE connection per notification (the
 *   bug), drain = 1 accepts until EAGAIN. The server loop ends after quiet_ms without
 *   any event; then it counts clients that got "pong\n" and connections still queued.
 *
 * ew_stall_read(drain, r)     raw epoll, TCP, connection registered EPOLLET after
 *   the whole request (req_bytes) is in its receive queue. drain = 0 reads one
 *   buffer (buf_bytes) per notification, drain = 1 reads until EAGAIN. Reports
 *   bytes read, bytes left in the queue (FIONREAD) after quiet_ms, and whether the
 *   client got its reply.
 *
 * ew_bigwrite(r)              evloop, TCP. The server answers one request with
 *   big_bytes of pseudo-random data on a socket with SO_SNDBUF = sndbuf; the client
 *   (same loop, SO_RCVBUF small) starts reading only after late_ms and then reads
 *   4 KiB per notification. The server writes until EAGAIN, then turns on EV_WRITE
 *   and resumes from the callback. Reports write calls, short writes, EAGAINs,
 *   EPOLLOUT wake-ups, and bytes + FNV-1a checksum on both sides.
 *
 * ew_idle(want, r)            evloop server in this process, a forked client
 *   process. RLIMIT_NOFILE soft is raised to hard in both (if hard is too low for
 *   `want`, n is lowered and limited = 1). The client opens n connections and
 *   idles; the server, once it has accepted them all, measures memory; then the
 *   client sends "ping\n" on each and reads "pong\n", and closes them all. Reports
 *   accepted, served, memory per connection, and fd counts before/after.
 */
#ifndef LAB10_EW_H
#define LAB10_EW_H

#include <stdint.h>

struct ltet_result {
    long arrivals, per_arrival, chunk;
    long waits;         /* epoll_wait returns, empty ones included */
    long notifications; /* events reported for the fd */
    long bytes_read, bytes_left;
};

struct stall_result {
    int drain;
    long quiet_ms;
    long notifications; /* listener or connection events */
    long accepted;      /* accept: connections accepted */
    long served;        /* clients that got their reply */
    long clients;
    long queued_after;  /* accept: still in the accept queue at the end */
    long req_bytes, buf_bytes, bytes_read, bytes_left; /* read */
};

struct bigwrite_result {
    long big_bytes, sndbuf_set, sndbuf_got, late_ms;
    long write_calls, short_writes, eagain, epollout_wakeups, client_reads;
    long bytes_sent, bytes_received;
    uint64_t sum_sent, sum_received;
    int completed;
};

struct idle_result {
    long want, n;            /* requested, attempted after the limit check */
    int limited;
    long nofile_soft, nofile_hard;
    long connected;          /* client: connections made */
    long accepted, served;
    long fd_baseline, fd_peak, fd_after;
    long rss_before_kb, rss_after_kb;  /* smaps_rollup Rss of the server */
    long slab_before_kb, slab_after_kb; /* /proc/meminfo Slab (system-wide) */
    long tcp_inuse_before, tcp_inuse_after, tcp_mem_before, tcp_mem_after; /* sockstat */
    long tcp_objs_before, tcp_objs_after, tcp_objsize; /* /proc/slabinfo "TCP" cache */
    int client_status;       /* exit code of the client process */
};

void ew_ltet(int edge, struct ltet_result *r);
void ew_stall_accept(int drain, struct stall_result *r);
void ew_stall_read(int drain, struct stall_result *r);
void ew_bigwrite(struct bigwrite_result *r);
void ew_idle(long want, struct idle_result *r);

/* util.c */
uint64_t ew_fnv1a(uint64_t h, const void *p, size_t n);
#define EW_FNV_INIT 0xcbf29ce484222325ULL
long ew_ms_now(void);
void ew_set_nonblock(int fd);
long ew_inq(int fd); /* bytes in a socket's receive queue (FIONREAD) */

#endif
