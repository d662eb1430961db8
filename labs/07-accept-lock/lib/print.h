/* print.h — one scenario's results as key=value lines (kv.h), each key prefixed.
 *
 * alock_print(prefix, opts, result) prints "<prefix><key>=<value>" for:
 *   method workers requests ok errors accepted rps
 *   wakeups_per_conn         (accept_csw + lock_csw) / accepted
 *   accept_wakeups_per_conn  accept_csw / accepted
 *   lock_wakeups_per_conn    lock_csw / accepted
 *   empty_wakeups            wake-ups for the listener that found nothing (count)
 *   eagain                   every accept() that returned EAGAIN
 *   cpu_us_per_conn          workers' user+system CPU time per accepted connection
 *   max_waiters busy_workers started reported forced_kills
 *   serve_errors             accepted connections whose request or reply failed
 *   closed_unasked           accepted connections closed by the client before any
 *                            request (the idle ones of -i): neither served nor errors
 *   lock_taken disabled_skips limit_skips max_active ownerdead
 *   killed victim_held_lock victim_in_accept successor_saw_dead_holder accepted_after_kill respawned
 * prefix may be "" (keys then stand alone). Ratios are 0 when nothing was accepted.
 */
#ifndef LAB07_PRINT_H
#define LAB07_PRINT_H

#include "alock.h"

void alock_print(const char *prefix, const struct alock_opts *o, const struct alock_result *r);

#endif
