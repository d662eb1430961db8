/* trial.h — one experiment of lab 08: start a pool (pool.h), drive it with the load
 * client (loadgen.h), stop it, and summarise who served what and how fast.
 *
 * trial_run(opts, result): returns 0 with *result filled, -1 with errno when the pool
 *   or the load client could not run (nothing is left running or open either way).
 *   When opts->csv_path is set, every request is also written there as
 *   "start_s,latency_s,worker,error" lines (loadgen_write_csv).
 * trial_print(prefix, opts, result): prints the result as key=value lines (kv.h), each
 *   key prefixed with `prefix` ("" for none, else e.g. "exclusive.").
 *
 * Definitions (all over the successful requests):
 *   busiest            the worker id with the most requests (lowest id on a tie)
 *   busiest_share_pct  100 * its count / ok, rounded down
 *   max_min_x100       100 * max count / min count over the workers; -1 in the struct
 *                      when min is 0, printed as max_min_x100=undefined
 *   slower_than_sleep  requests whose latency >= slow_ms (0 when no slow worker)
 *   throughput_rps     ok / elapsed seconds of the load run
 */
#ifndef LAB08_TRIAL_H
#define LAB08_TRIAL_H

#include "pool.h"

struct fdsnap;

struct trial_opts {
    struct pool_opts pool;
    long requests;      /* total requests; 0: run for duration_s instead */
    double duration_s;  /* used when requests == 0 */
    int concurrency;
    const char *csv_path; /* NULL: no per-request file */
    struct fdsnap *snap;  /* non-NULL: draw the started pool into it (lib/picture.h) */
};

struct trial_result {
    long ok, errors;
    long per_worker[POOL_MAX];
    struct worker_stats ws[POOL_MAX];
    int busiest;
    long max, min;
    long busiest_share_pct, max_min_x100;
    long p50_us, p99_us, max_us;
    long served_by_slow, slower_than_sleep;
    long empty_wakeups, readds;
    double elapsed_s;
    long throughput_rps;
};

int trial_run(const struct trial_opts *opts, struct trial_result *res);
void trial_print(const char *prefix, const struct trial_opts *opts, const struct trial_result *res);

#endif
