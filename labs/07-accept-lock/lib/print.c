/* print.c — see print.h. */
#include "print.h"

#include <stdio.h>

#include "kv.h"

static double per(double x, long n)
{
    return n > 0 ? x / (double)n : 0.0;
}

void alock_print(const char *prefix, const struct alock_opts *o, const struct alock_result *r)
{
#define KV(name, fmt, val) kv_print_in(prefix, name, fmt, val)
    KV("method", "%s", alock_method_name(o->method));
    KV("workers", "%d", o->workers);
    KV("requests", "%ld", o->requests);
    KV("ok", "%ld", r->ok);
    KV("errors", "%ld", r->errors);
    KV("accepted", "%ld", r->accepted);
    KV("rps", "%.0f", r->rps);
    KV("wakeups_per_conn", "%.3f", per((double)(r->accept_csw + r->lock_csw), r->accepted));
    KV("accept_wakeups_per_conn", "%.3f", per((double)r->accept_csw, r->accepted));
    KV("lock_wakeups_per_conn", "%.3f", per((double)r->lock_csw, r->accepted));
    KV("empty_wakeups", "%ld", r->empty_wakes);
    KV("eagain", "%ld", r->eagain);
    KV("cpu_us_per_conn", "%.1f", per(r->worker_cpu_s * 1e6, r->accepted));
    KV("max_waiters", "%d", r->max_waiters);
    KV("busy_workers", "%d", r->busy_workers);
    KV("started", "%d", r->started);
    KV("reported", "%d", r->reported);
    KV("forced_kills", "%d", r->forced_kills);
    KV("serve_errors", "%ld", r->serve_errors);
    KV("closed_unasked", "%ld", r->closed_unasked);
    KV("lock_taken", "%ld", r->lock_taken);
    KV("disabled_skips", "%ld", r->disabled_skips);
    KV("limit_skips", "%ld", r->limit_skips);
    KV("max_active", "%ld", r->max_active);
    KV("ownerdead", "%ld", r->ownerdead);
    KV("killed", "%d", r->killed);
    KV("victim_held_lock", "%d", r->victim_held_lock);
    KV("victim_in_accept", "%d", r->victim_in_accept);
    KV("successor_saw_dead_holder", "%d", r->successor_saw_dead_holder);
    KV("accepted_after_kill", "%ld", r->accepted_after_kill);
    KV("respawned", "%d", r->respawned);
#undef KV
}
