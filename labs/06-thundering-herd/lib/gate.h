/* gate.h — a reusable meeting point for the workers of lab 06 (test scaffolding).
 *
 * With -B, every epoll worker that epoll_wait() woke for a connection stops at one
 * gate until all `parties` workers have arrived, and only then calls accept(); then
 * at a second one until all have called accept(), and only then serves (herd.h).
 * The connection is still queued when every woken worker re-checks it, so all of
 * them return from epoll_wait(), one accept() wins and the other parties - 1 fail
 * with EAGAIN: the herd made visible without winning a scheduling race.
 *
 * The gate lives in a MAP_SHARED page made before fork (zeroed: a fresh gate) and
 * works across processes with a shared futex(2) on `gen`.
 *
 * gate_wait(g, parties, timeout_ms): arrive and wait until `parties` arrivals of the
 *   current round (the last one opens the gate for everyone and starts a new round)
 *   or until timeout_ms has passed. Returns 0 when the gate opened, 1 on timeout;
 *   then the caller opens it itself (starting a new round), so a missing party costs
 *   one bounded wait, never a hang. Dies on an unexpected futex error.
 */
#ifndef LAB06_GATE_H
#define LAB06_GATE_H

#include <stdatomic.h>

struct herd_gate {
    atomic_uint count; /* arrivals in the current round */
    atomic_uint gen;   /* round number; the futex word */
};

int gate_wait(struct herd_gate *g, unsigned parties, int timeout_ms);

#endif
