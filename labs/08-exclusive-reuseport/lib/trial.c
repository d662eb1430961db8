/* trial.c — see trial.h. */
#include "trial.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "kv.h"
#include "loadgen.h"
#include "picture.h"

static void summarise(const struct trial_opts *o, const struct loadgen_result *lr, struct trial_result *r)
{
    int n = o->pool.workers;
    r->ok = lr->ok;
    r->errors = 0;
    for (int e = LG_ERR_CONNECT; e <= LG_ERR_PROTOCOL; e++)
        r->errors += lr->errors[e];
    r->busiest = 0;
    r->max = r->min = lr->per_worker[0];
    for (int i = 0; i < n; i++) {
        r->per_worker[i] = lr->per_worker[i];
        if (r->per_worker[i] > r->max) {
            r->max = r->per_worker[i];
            r->busiest = i;
        }
        if (r->per_worker[i] < r->min)
            r->min = r->per_worker[i];
    }
    r->busiest_share_pct = r->ok > 0 ? 100 * r->max / r->ok : 0;
    r->max_min_x100 = r->min > 0 ? 100 * r->max / r->min : -1;
    r->p50_us = (long)(loadgen_percentile(lr, 0.50) * 1e6);
    r->p99_us = (long)(loadgen_percentile(lr, 0.99) * 1e6);
    r->max_us = (long)(loadgen_percentile(lr, 1.0) * 1e6);
    r->served_by_slow = o->pool.slow_worker >= 0 ? r->per_worker[o->pool.slow_worker] : 0;
    r->slower_than_sleep = 0;
    if (o->pool.slow_worker >= 0)
        for (size_t i = 0; i < lr->nsamples; i++)
            if (lr->samples[i].error == LG_OK && lr->samples[i].latency_s * 1000.0 >= o->pool.slow_ms)
                r->slower_than_sleep++;
    r->elapsed_s = lr->elapsed_s;
    r->throughput_rps = lr->elapsed_s > 0 ? (long)((double)r->ok / lr->elapsed_s) : 0;
}

static int write_csv(const char *path, const struct loadgen_result *lr)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int rc = loadgen_write_csv(lr, f);
    int e = errno;
    if (fclose(f) != 0 && rc == 0) {
        e = errno;
        rc = -1;
    }
    errno = e;
    return rc;
}

int trial_run(const struct trial_opts *o, struct trial_result *r)
{
    memset(r, 0, sizeof *r);
    struct pool pool;
    if (pool_start(&o->pool, &pool) < 0)
        return -1;
    pool_draw(o->snap, &pool, o->pool.mode); /* the workers wait in epoll_wait */
    struct loadgen_opts lo = {
        .port = pool.port,
        .connections = o->concurrency,
        .requests = o->requests,
        .duration_s = o->duration_s,
        .timeout_s = 10.0, /* the slow worker's queue may hold a few seconds of work */
    };
    struct loadgen_result lr;
    int lrc = loadgen_run(&lo, &lr);
    int e = errno;
    int prc = pool_stop(&pool, r->ws);
    if (lrc < 0) {
        errno = e;
        return -1;
    }
    if (prc < 0)
        warn_errno("pool_stop: a worker did not exit cleanly");
    summarise(o, &lr, r);
    for (int i = 0; i < o->pool.workers; i++) {
        r->empty_wakeups += r->ws[i].empty_wakeups;
        r->readds += r->ws[i].readds;
    }
    int rc = 0;
    if (o->csv_path && write_csv(o->csv_path, &lr) < 0) {
        warn_errno("write %s", o->csv_path);
        rc = -1;
    }
    loadgen_result_free(&lr);
    return prc < 0 ? -1 : rc;
}

void trial_print(const char *pre, const struct trial_opts *o, const struct trial_result *r)
{
    char k[96];
#define KV(name, ...) (snprintf(k, sizeof k, "%s%s", pre, name), kv_print(k, __VA_ARGS__))
    KV("mode", "%s", pool_mode_name(o->pool.mode));
    KV("workers", "%d", o->pool.workers);
    KV("requests", "%ld", o->requests);
    if (o->requests == 0)
        KV("duration_s", "%.1f", o->duration_s);
    KV("concurrency", "%d", o->concurrency);
    KV("ok", "%ld", r->ok);
    KV("errors", "%ld", r->errors);
    for (int i = 0; i < o->pool.workers; i++) {
        char name[32];
        snprintf(name, sizeof name, "worker.%d", i);
        KV(name, "%ld", r->per_worker[i]);
    }
    KV("busiest", "%d", r->busiest);
    KV("busiest_share_pct", "%ld", r->busiest_share_pct);
    KV("max", "%ld", r->max);
    KV("min", "%ld", r->min);
    if (r->max_min_x100 >= 0)
        KV("max_min_x100", "%ld", r->max_min_x100);
    else /* a worker got nothing: max/min has no value, and -1 would read as one */
        KV("max_min_x100", "%s", "undefined");
    KV("empty_wakeups", "%ld", r->empty_wakeups);
    if (o->pool.mode == POOL_NGINX) {
        KV("readd_every", "%d", o->pool.readd_every);
        KV("readds", "%ld", r->readds);
    }
    if (o->pool.slow_worker >= 0) {
        KV("slow_worker", "%d", o->pool.slow_worker);
        KV("slow_ms", "%d", o->pool.slow_ms);
        KV("served_by_slow", "%ld", r->served_by_slow);
        KV("slower_than_sleep", "%ld", r->slower_than_sleep);
    }
    KV("latency_p50_us", "%ld", r->p50_us);
    KV("latency_p99_us", "%ld", r->p99_us);
    KV("latency_max_us", "%ld", r->max_us);
    KV("elapsed_ms", "%ld", (long)(r->elapsed_s * 1000));
    KV("throughput_rps", "%ld", r->throughput_rps);
#undef KV
}
