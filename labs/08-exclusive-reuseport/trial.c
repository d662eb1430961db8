/* trial — run ONE scenario of lab 08 and print its key=value results.
 *
 *   trial [-m exclusive|reuseport|nginx|cpu|steered] [-n workers] [-r requests] [-c concurrency]
 *         [-d seconds] [-k readd_every] [-s slow_ms] [-w slow_worker] [-o samples.csv]
 *
 * Defaults: -m exclusive -n 4 -r 400 -c 1 -k 16, no slow worker. -d runs for that
 * many seconds instead of a number of requests (the last of -r/-d given wins). With -s, worker -w
 * (default 0, the first to register on the shared listener) sleeps slow_ms before
 * each reply. Exit 0 when the run worked (whatever the distribution), 1 when it
 * failed, 2 for bad options. The tests and the bench drive this program.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "err.h"
#include "lib/trial.h"

static long num(const char *s, long lo, long hi, const char *what)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
        warn_msg("%s must be a number in %ld..%ld, not '%s'", what, lo, hi, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    struct trial_opts o = {
        .pool = {.mode = POOL_EXCLUSIVE, .workers = 4, .readd_every = 16, .slow_worker = -1},
        .requests = 400,
        .concurrency = 1,
    };
    int slow_worker = 0, c;
    while ((c = getopt(argc, argv, "m:n:r:c:d:k:s:w:o:")) != -1) {
        switch (c) {
        case 'm':
            if (pool_mode_parse(optarg, &o.pool.mode) < 0) {
                warn_msg("unknown mode '%s' (exclusive, reuseport, nginx, cpu or steered)", optarg);
                return 2;
            }
            break;
        case 'n': o.pool.workers = (int)num(optarg, 1, POOL_MAX, "-n"); break;
        case 'r': o.requests = num(optarg, 1, 1000000, "-r"); break;
        case 'd':
            o.duration_s = (double)num(optarg, 1, 60, "-d");
            o.requests = 0;
            break;
        case 'c': o.concurrency = (int)num(optarg, 1, 1024, "-c"); break;
        case 'k': o.pool.readd_every = (int)num(optarg, 1, 1000000, "-k"); break;
        case 's': o.pool.slow_ms = (int)num(optarg, 1, 10000, "-s"); break;
        case 'w': slow_worker = (int)num(optarg, 0, POOL_MAX - 1, "-w"); break;
        case 'o': o.csv_path = optarg; break;
        default:
            warn_msg("usage: trial [-m mode] [-n workers] [-r requests | -d seconds] [-c conc] [-k readd] "
                     "[-s slow_ms] [-w slow_worker] [-o csv]");
            return 2;
        }
    }
    if (optind != argc) {
        warn_msg("unexpected argument '%s'", argv[optind]);
        return 2;
    }
    if (o.pool.slow_ms > 0)
        o.pool.slow_worker = slow_worker;
    if (o.pool.slow_worker >= o.pool.workers) {
        warn_msg("-w %d: there are only %d workers", o.pool.slow_worker, o.pool.workers);
        return 2;
    }
    struct trial_result r;
    if (trial_run(&o, &r) < 0) {
        warn_errno("trial %s", pool_mode_name(o.pool.mode));
        return 1;
    }
    trial_print("", &o, &r);
    return r.ok > 0 ? 0 : 1;
}
