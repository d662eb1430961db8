/* lab 10 — the epoll worker: a single-process non-blocking server, four experiments.
 *
 *   lab [-s ltet|stall|bigwrite|idle] [-n IDLE_CONNS]
 *
 * Without -s all four run, then a verdict: exit 0 when every claim below held.
 *   ltet      same input, level- vs edge-triggered: how often epoll notifies
 *             (claim.lt_repeats, claim.et_once_per_arrival)
 *   stall     edge-triggered without draining until EAGAIN: one accept per edge
 *             leaves a queued client unserved; one read per edge leaves a request
 *             half read; draining serves both (claim.accept_one_stalls,
 *             claim.accept_drain_serves, claim.read_one_stalls, claim.read_drain_serves)
 *   bigwrite  8 MiB to a slow client through a 4 KiB SO_SNDBUF: short writes, EAGAIN,
 *             EPOLLOUT wake-ups, every byte delivered (claim.bigwrite_partial,
 *             claim.bigwrite_exact)
 *   idle      IDLE_CONNS (10000) idle connections from a client process, memory per
 *             connection, all served, fds back to baseline (claim.idle_all_served,
 *             claim.idle_fds_back; idle.limited=1 when RLIMIT_NOFILE forced fewer)
 * With -s: only that scenario; exit 0 when its claims held. Bad usage: exit 2.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "lib/ew.h"
#include "claim.h"
#include "kv.h"

static void print_ltet(const char *p, const struct ltet_result *r)
{
    char pfx[64];
    snprintf(pfx, sizeof pfx, "%s.", p);
#define KV(name, val) kv_print_in(pfx, name, "%ld", val)
    KV("waits", r->waits);
    KV("notifications", r->notifications);
    KV("bytes_read", r->bytes_read);
    KV("bytes_left", r->bytes_left);
#undef KV
}

static void run_ltet(struct claims *cs)
{
    struct ltet_result lt, et;
    ew_ltet(0, &lt);
    ew_ltet(1, &et);
    printf("# ltet: %ld arrivals of %ld bytes on a socketpair; each notification reads %ld\n",
           lt.arrivals, lt.per_arrival, lt.chunk);
    kv_print("ltet.arrivals", "%ld", lt.arrivals);
    kv_print("ltet.per_arrival", "%ld", lt.per_arrival);
    kv_print("ltet.chunk", "%ld", lt.chunk);
    print_ltet("lt", &lt);
    print_ltet("et", &et);
    claim(cs, "lt_repeats", lt.notifications == lt.arrivals * lt.per_arrival / lt.chunk &&
                            lt.bytes_left == 0);
    claim(cs, "et_once_per_arrival", et.notifications == et.arrivals && et.bytes_left > 0);
}

static void print_stall(const char *p, const struct stall_result *r, int accept)
{
    char pfx[64];
    snprintf(pfx, sizeof pfx, "%s.", p);
#define KV(name, val) kv_print_in(pfx, name, "%ld", val)
    KV("notifications", r->notifications);
    if (accept) {
        KV("clients", r->clients);
        KV("accepted", r->accepted);
        KV("queued_after", r->queued_after);
    } else {
        KV("req_bytes", r->req_bytes);
        KV("bytes_read", r->bytes_read);
        KV("bytes_left", r->bytes_left);
    }
    KV("served", r->served);
#undef KV
}

static void run_stall(struct claims *cs)
{
    struct stall_result a1, ad, r1, rd;
    printf("# stall: edge-triggered; 'one' handles one accept/read per notification,\n"
           "# 'drain' loops until EAGAIN; the server gives up after 1000 ms without events\n");
    ew_stall_accept(0, &a1);
    ew_stall_accept(1, &ad);
    ew_stall_read(0, &r1);
    ew_stall_read(1, &rd);
    kv_print("stall.quiet_ms", "%ld", a1.quiet_ms);
    print_stall("stall.accept.one", &a1, 1);
    print_stall("stall.accept.drain", &ad, 1);
    kv_print("stall.read.buf_bytes", "%ld", r1.buf_bytes);
    print_stall("stall.read.one", &r1, 0);
    print_stall("stall.read.drain", &rd, 0);
    claim(cs, "accept_one_stalls", a1.notifications == 1 && a1.accepted == 1 &&
                                   a1.served == 1 && a1.queued_after == 1);
    claim(cs, "accept_drain_serves", ad.accepted == 2 && ad.served == 2 && ad.queued_after == 0);
    claim(cs, "read_one_stalls", r1.notifications == 1 && r1.bytes_read == r1.buf_bytes &&
                                 r1.bytes_left == r1.req_bytes - r1.buf_bytes &&
                                 r1.served == 0);
    claim(cs, "read_drain_serves",
              rd.bytes_read == rd.req_bytes && rd.bytes_left == 0 && rd.served == 1);
}

static void run_bigwrite(struct claims *cs)
{
    struct bigwrite_result r;
    ew_bigwrite(&r);
    printf("# bigwrite: %ld bytes to a client that starts reading after %ld ms, 4 KiB at a time\n",
           r.big_bytes, r.late_ms);
    kv_print("bigwrite.bytes", "%ld", r.big_bytes);
    kv_print("bigwrite.sndbuf_set", "%ld", r.sndbuf_set);
    kv_print("bigwrite.sndbuf_got", "%ld", r.sndbuf_got);
    kv_print("bigwrite.write_calls", "%ld", r.write_calls);
    kv_print("bigwrite.short_writes", "%ld", r.short_writes);
    kv_print("bigwrite.eagain", "%ld", r.eagain);
    kv_print("bigwrite.epollout_wakeups", "%ld", r.epollout_wakeups);
    kv_print("bigwrite.client_reads", "%ld", r.client_reads);
    kv_print("bigwrite.bytes_sent", "%ld", r.bytes_sent);
    kv_print("bigwrite.bytes_received", "%ld", r.bytes_received);
    kv_print("bigwrite.sum_sent", "%016" PRIx64, r.sum_sent);
    kv_print("bigwrite.sum_received", "%016" PRIx64, r.sum_received);
    kv_print("bigwrite.completed", "%d", r.completed);
    claim(cs, "bigwrite_partial", r.short_writes + r.eagain >= 1 && r.epollout_wakeups >= 1);
    claim(cs, "bigwrite_exact", r.completed && r.bytes_sent == r.big_bytes &&
                                r.bytes_received == r.big_bytes &&
                                r.sum_sent == r.sum_received);
}

static long per(long delta_kb, long n)
{
    return n > 0 ? delta_kb * 1024 / n : 0;
}

static void run_idle(struct claims *cs, long want)
{
    struct idle_result r;
    ew_idle(want, &r);
    printf("# idle: a client process opens the connections and leaves them idle; the\n"
           "# server (this process) measures itself, then each connection sends one ping\n");
    if (r.limited)
        printf("# RLIMIT_NOFILE hard limit %ld is too low for %ld: using %ld\n", r.nofile_hard,
               r.want, r.n);
    kv_print("idle.want", "%ld", r.want);
    kv_print("idle.n", "%ld", r.n);
    kv_print("idle.limited", "%d", r.limited);
    kv_print("idle.nofile_soft", "%ld", r.nofile_soft);
    kv_print("idle.nofile_hard", "%ld", r.nofile_hard);
    kv_print("idle.connected", "%ld", r.connected);
    kv_print("idle.accepted", "%ld", r.accepted);
    kv_print("idle.served", "%ld", r.served);
    kv_print("idle.fd_baseline", "%ld", r.fd_baseline);
    kv_print("idle.fd_peak", "%ld", r.fd_peak);
    kv_print("idle.fd_after", "%ld", r.fd_after);
    kv_print("idle.rss_delta_kb", "%ld", r.rss_after_kb - r.rss_before_kb);
    kv_print("idle.rss_per_conn_bytes", "%ld", per(r.rss_after_kb - r.rss_before_kb, r.accepted));
    kv_print("idle.sockstat_inuse_delta", "%ld", r.tcp_inuse_after - r.tcp_inuse_before);
    kv_print("idle.sockstat_mem_pages_delta", "%ld", r.tcp_mem_after - r.tcp_mem_before);
    kv_print("idle.slab_tcp_objsize", "%ld", r.tcp_objsize);
    kv_print("idle.slab_tcp_objs_delta", "%ld", r.tcp_objs_after - r.tcp_objs_before);
    kv_print("idle.slab_delta_kb", "%ld", r.slab_after_kb - r.slab_before_kb);
    /* both ends live on this machine: the system-wide slab delta covers 2 sockets */
    kv_print("idle.slab_per_conn_pair_bytes", "%ld",
             per(r.slab_after_kb - r.slab_before_kb, r.accepted));
    /* an estimate for the server alone: its user memory plus half the pair's slab */
    long kernel_sock = per(r.slab_after_kb - r.slab_before_kb, 2 * r.accepted);
    kv_print("idle.kernel_per_socket_bytes", "%ld", kernel_sock);
    kv_print("idle.server_per_conn_bytes", "%ld",
             per(r.rss_after_kb - r.rss_before_kb, r.accepted) + kernel_sock);
    kv_print("idle.client_status", "%d", r.client_status);
    claim(cs, "idle_all_served", r.connected == r.n && r.accepted == r.n && r.served == r.n &&
                                 r.client_status == 0);
    claim(cs, "idle_fds_back", r.fd_after == r.fd_baseline && r.fd_peak >= r.fd_baseline + r.n);
}

static void usage(void)
{
    fprintf(stderr, "usage: lab [-s ltet|stall|bigwrite|idle] [-n IDLE_CONNS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *only = NULL;
    long idle_n = 10000;
    int opt;
    while ((opt = getopt(argc, argv, "s:n:")) != -1) {
        switch (opt) {
        case 's': only = optarg; break;
        case 'n': idle_n = atol(optarg); break;
        default: usage();
        }
    }
    if (optind != argc || idle_n < 1 || idle_n > 1000000)
        usage();
    static const char *const names[] = {"ltet", "stall", "bigwrite", "idle"};
    int which = -1;
    if (only != NULL) {
        for (int i = 0; i < 4; i++)
            if (strcmp(only, names[i]) == 0)
                which = i;
        if (which < 0)
            usage();
    } else {
        printf("Lab 10: one process, one epoll instance, non-blocking sockets.\n"
               "1. level- vs edge-triggered notification for the same input\n"
               "2. edge-triggered without draining until EAGAIN stalls; draining does not\n"
               "3. a large response through a small send buffer: short writes and EPOLLOUT\n"
               "4. %ld idle connections: memory per connection\n",
               idle_n);
    }
    struct claims cs = {.prefix = "claim."};
    if (which < 0 || which == 0)
        run_ltet(&cs);
    if (which < 0 || which == 1)
        run_stall(&cs);
    if (which < 0 || which == 2)
        run_bigwrite(&cs);
    if (which < 0 || which == 3)
        run_idle(&cs, idle_n);
    kv_print("result", "%s", claims_held(&cs) ? "shown" : "not_shown");
    return claims_held(&cs) ? 0 : 1;
}
