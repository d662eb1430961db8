/* accept_steered.c — one SO_REUSEPORT listener per worker, as reuseport, and an eBPF
 * SK_REUSEPORT program that puts each new connection on the listener of the least
 * loaded worker (lab 08; the program and its maps: common/runtime/reuseport_steer.h).
 *
 * Load = the connections given to a worker that it has not finished. The program adds
 * one to load[i] when it picks listener i (for each SYN, in the kernel); the worker
 * takes away the ones it finished after each wait of its loop (worker_release). Plain
 * reuseport hashes: a slow worker gets its share of new connections and they queue
 * behind it. Steered sees its load grow and picks another.
 *
 * The master loads the program, fills the socket array and attaches it once the
 * listeners are open, before the first fork (master_listening), so every worker of
 * every generation inherits the shared counters (the mapping; the map descriptors are
 * closed in the worker). A reload keeps the listeners, the group and the program:
 * nothing to redo. A slot that loses its worker gets a load no live slot can reach,
 * so the program skips it, and the master serves what is already queued there
 * (accept_takeover.c); when the slot has a ready worker again its load is set to its
 * queue's length (rsteer_resync). Connections the master passes to a worker were
 * counted on the dead slot, and the worker counts them finished too: load[i] stops at
 * 0, so this errs on the side of "less loaded" for a moment.
 *
 * Needs CAP_BPF (or root) to load the program: without it the server does not start
 * (the error says so). A socket can be in one socket array only (EBUSY): an upgrade's
 * new master cannot take the old master's steered listeners, and says so; the old
 * one serves on (upgrade=failed).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accept.h"
#include "kv.h"
#include "master.h"
#include "reuseport_steer.h"
#include "worker.h"

/* A dead slot's load: the program compares load << 8, so this stays below its
 * starting "best" of ~0, and above any real load. */
#define STEER_DOWN (1ULL << 48)

struct steered {
    struct rsteer rs;
    struct fdh_takeover *t;
    int down[FDH_MAX_WORKERS];
};

static int own_listener(int slot)
{
    return slot;
}

static void state_free(struct steered *st)
{
    if (st == NULL)
        return;
    rsteer_close(&st->rs);
    fdh_takeover_free(st->t);
    free(st);
}

static int master_listening(struct master *m, char *why, size_t len)
{
    const struct fdh_config *cfg = m->cur->cfg;
    if (cfg->workers > RSTEER_MAX)
        return snprintf(why, len, "--accept=steered: at most %d workers (the program's socket array)",
                        RSTEER_MAX), -1;
    /* Each address is a reuseport group of its own, and the program steers one. */
    if (m->ls.naddr > 1)
        return snprintf(why, len, "--accept=steered serves one --listen address (its program steers "
                        "one reuseport group); %d were given", m->ls.naddr), -1;
    struct steered *st = calloc(1, sizeof *st);
    if (st == NULL || (st->t = fdh_takeover_new(m)) == NULL) {
        free(st);
        return snprintf(why, len, "--accept=steered: %s", strerror(errno)), -1;
    }
    st->rs.socks = st->rs.loadmap = st->rs.prog = -1;
    char log[512];
    if (rsteer_open(&st->rs, cfg->workers, log, sizeof log) < 0) {
        int e = errno;
        state_free(st);
        if (e == EPERM)
            return snprintf(why, len, "--accept=steered loads an eBPF program (bpf(2): %s): it needs "
                            "CAP_BPF or root; without them use --accept=reuseport or exclusive",
                            strerror(e)), -1;
        return snprintf(why, len, "--accept=steered: loading the program: %s%s%.300s", strerror(e),
                        log[0] ? "; verifier: " : "", log), -1;
    }
    for (int i = 0; i < cfg->workers; i++) {
        if (rsteer_add(&st->rs, i, m->ls.fd[own_listener(i)]) < 0) {
            int e = errno;
            state_free(st);
            if (e == EBUSY)
                return snprintf(why, len, "--accept=steered: listener %d is in another master's socket "
                                "array (EBUSY): a steered server cannot be upgraded in place; restart it", i), -1;
            return snprintf(why, len, "--accept=steered: socket array slot %d: %s", i, strerror(e)), -1;
        }
    }
    if (rsteer_attach(&st->rs, m->ls.fd[0]) < 0) {
        int e = errno;
        state_free(st);
        return snprintf(why, len, "--accept=steered: SO_ATTACH_REUSEPORT_EBPF: %s", strerror(e)), -1;
    }
    m->accept_state = st;
    return 0;
}

static void master_slot(struct master *m, int slot, int served)
{
    struct steered *st = m->accept_state;
    if (slot < 0 || slot >= st->rs.n)
        return;
    if (!served && !st->down[slot]) {
        st->down[slot] = 1;
        __atomic_store_n(&st->rs.load[slot], STEER_DOWN, __ATOMIC_RELAXED);
    }
    fdh_takeover_slot(st->t, slot, served); /* first: resync counts what is left queued */
    if (served && st->down[slot]) {
        st->down[slot] = 0;
        if (rsteer_resync(&st->rs, slot, m->ls.fd[own_listener(slot)]) < 0)
            __atomic_store_n(&st->rs.load[slot], 0, __ATOMIC_RELAXED);
    }
}

static void master_end(struct master *m)
{
    struct steered *st = m->accept_state;
    if (st != NULL)
        for (int i = 0; i < st->rs.n; i++) {
            char k[32];
            snprintf(k, sizeof k, "steer_load.%d", i);
            kv_print(k, "%llu", (unsigned long long)rsteer_load(&st->rs, i));
        }
    state_free(st);
    m->accept_state = NULL;
}

/* Connections this worker finished since it last told the program: opened ones
 * (the slot's accepted counter) minus those still open. */
static uint64_t finished(const struct fdh_w *w)
{
    return atomic_load_explicit(&w->me->accepted, memory_order_relaxed) - (uint64_t)w->nconns;
}

static void worker_start(struct fdh_w *w)
{
    struct steered *st = w->accept_state;
    /* The mapping is all a worker needs: the map and program descriptors are the
     * master's (they stay alive through its copies and the attached program). */
    close(st->rs.socks), close(st->rs.loadmap), close(st->rs.prog);
    st->rs.socks = st->rs.loadmap = st->rs.prog = -1;
    w->steer_reported = finished(w);
    fdh_listen_on(w);
}

static void worker_release(struct fdh_w *w)
{
    struct steered *st = w->accept_state;
    for (uint64_t now = finished(w); w->steer_reported < now; w->steer_reported++)
        rsteer_done(&st->rs, w->slot);
}

const struct fdh_accept_ops fdh_accept_steered = {
    .name = "steered",
    .nlisteners = fdh_accept_per_slot,
    .reuseport = 1,
    .slot_listener = own_listener,
    .listen_mask = EV_READ,
    .worker_start = worker_start,
    .worker_release = worker_release,
    .worker_resume = fdh_listen_on,
    .master_listening = master_listening,
    .master_slot = master_slot,
    .master_end = master_end,
};
