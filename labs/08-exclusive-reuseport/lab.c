/* lab 08 — EPOLLEXCLUSIVE versus SO_REUSEPORT: who gets the connections, and what a
 * slow worker costs. Reproduces the shape of Cloudflare's 2017 study "Why does one
 * NGINX worker take all the load?" on loopback.
 *
 * Part 1: 4 workers, 400 sequential connections (one in flight), three modes.
 * Part 2: worker 0 sleeps 50 ms before each reply; 200 requests, 8 in flight;
 *         exclusive (one shared accept queue) versus reuseport (a queue per worker).
 * Exit 0 when all four claims below held. Every run uses trial_run (lib/trial.h);
 * the program `trial` runs one scenario with any options.
 */
#include <stdio.h>

#include "kv.h"
#include "err.h"
#include "fdsnap.h"
#include "lib/trial.h"

#define WORKERS 4
#define SEQ_REQUESTS 400
#define SLOW_MS 50
#define SLOW_REQUESTS 200
#define SLOW_CONC 8

/* Runs one scenario and prints it under `prefix`; dies when it cannot run at all. */
static void run(const char *prefix, struct trial_opts *o, struct trial_result *r)
{
    if (trial_run(o, r) < 0)
        die("trial %s", prefix);
    trial_print(prefix, o, r);
}

static const char *yes_no(int b) { return b ? "yes" : "no"; }

int main(void)
{
    puts("# Lab 08: EPOLLEXCLUSIVE versus SO_REUSEPORT");
    puts("4 pre-forked workers, each with its own epoll instance, serve one port.");
    puts("exclusive: one shared listener, added to every epoll with EPOLLEXCLUSIVE (worker 0 first).");
    puts("reuseport: one SO_REUSEPORT listener per worker; the kernel hashes each connection to one.");
    puts("nginx:     exclusive, but a worker re-adds the listener (DEL+ADD) every 16 accepts.");
    puts("# Part 1: 400 sequential connections (one at a time): how are they spread?");

    struct trial_opts seq = {
        .pool = {.workers = WORKERS, .readd_every = 16, .slow_worker = -1},
        .requests = SEQ_REQUESTS,
        .concurrency = 1,
    };
    struct trial_result ex, rp, ng;
    struct fdsnap *snap = fdsnap_drawing() ? fdsnap_new("Lab 08: one shared listener (EPOLLEXCLUSIVE) "
                                                        "versus one SO_REUSEPORT listener per worker")
                                           : NULL;
    seq.snap = snap; /* the picture: the two pools of part 1, once started */
    seq.pool.mode = POOL_EXCLUSIVE;
    run("exclusive.", &seq, &ex);
    seq.pool.mode = POOL_REUSEPORT;
    run("reuseport.", &seq, &rp);
    seq.snap = NULL;
    if (fdsnap_draw(snap, "08-exclusive-reuseport-tables") < 0)
        warn_errno("picture 08-exclusive-reuseport-tables");
    fdsnap_free(snap);
    seq.pool.mode = POOL_NGINX;
    run("nginx.", &seq, &ng);

    puts("# Part 2: worker 0 sleeps 50 ms per request; 200 requests, 8 in flight.");
    struct trial_opts slow = {
        .pool = {.workers = WORKERS, .slow_worker = 0, .slow_ms = SLOW_MS},
        .requests = SLOW_REQUESTS,
        .concurrency = SLOW_CONC,
    };
    struct trial_result sx, sr;
    slow.pool.mode = POOL_EXCLUSIVE;
    run("slow.exclusive.", &slow, &sx);
    slow.pool.mode = POOL_REUSEPORT;
    run("slow.reuseport.", &slow, &sr);

    int all_ok = ex.ok == SEQ_REQUESTS && rp.ok == SEQ_REQUESTS && ng.ok == SEQ_REQUESTS &&
                 sx.ok == SLOW_REQUESTS && sr.ok == SLOW_REQUESTS;
    /* The thresholds and why they are safe are in notes/08-exclusive-reuseport.md. */
    int c1 = ex.busiest_share_pct > 50;
    int c2 = rp.min > 0 && rp.max_min_x100 < 300;
    int c3 = ng.busiest_share_pct < 50 && ng.readds > 0;
    int c4 = sr.served_by_slow >= SLOW_REQUESTS / 8 &&
             sr.slower_than_sleep >= 2 * sx.slower_than_sleep + 10;

    puts("# Summary");
    printf("exclusive: worker %d took %ld%% of the sequential connections\n", ex.busiest,
           ex.busiest_share_pct);
    printf("reuseport: every worker got some, max/min %ld.%02ld\n", rp.max_min_x100 / 100,
           rp.max_min_x100 % 100);
    printf("nginx:     busiest worker took %ld%% after %ld re-adds\n", ng.busiest_share_pct, ng.readds);
    printf("slow worker: %ld requests took at least %d ms with reuseport, %ld with exclusive\n",
           sr.slower_than_sleep, SLOW_MS, sx.slower_than_sleep);
    printf("             p99 %.1f ms versus %.1f ms, max %.1f ms versus %.1f ms\n", sr.p99_us / 1e3,
           sx.p99_us / 1e3, sr.max_us / 1e3, sx.max_us / 1e3);
    kv_print("claim.all_requests_ok", "%s", yes_no(all_ok));
    kv_print("claim.exclusive_concentrates", "%s", yes_no(c1));
    kv_print("claim.reuseport_spreads", "%s", yes_no(c2));
    kv_print("claim.nginx_readd_evens_out", "%s", yes_no(c3));
    kv_print("claim.shared_queue_absorbs_slow_worker", "%s", yes_no(c4));
    int pass = all_ok && c1 && c2 && c3 && c4;
    kv_print("result", "%s", pass ? "ok" : "failed");
    return pass ? 0 : 1;
}
