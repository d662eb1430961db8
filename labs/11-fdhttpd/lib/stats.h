/* stats.h — the statistics page every process of the server shares (a memfd mapped
 * MAP_SHARED before the first fork; handed to a new master on an upgrade) and the
 * /status text made from it. Code: stats.c.
 */
#ifndef LAB11_STATS_H
#define LAB11_STATS_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* One worker's counters, one cache line each so that workers never write to the
 * same line (no false sharing). Counters are read by anyone, hence relaxed atomics,
 * and changed with atomic adds (never load+store): during a reload a slot briefly has
 * two workers (the old generation draining while the new one serves).
 * The page is made before the first fork, so the counts survive a worker's death
 * (its replacement continues them), a reload, and — the page is a memfd handed to
 * the new master with the listeners — an upgrade. */
struct fdh_slot {
    alignas(64) atomic_long requests; /* responses completed */
    atomic_long bytes;                /* response bytes written */
    atomic_long active;               /* connections open right now */
    atomic_long accepted;             /* connections taken (accept or passed) */
    atomic_int pid;                   /* this bank's worker in the slot, 0 while none */
    atomic_int starts;                /* workers started in this slot and bank */
    atomic_long writes;               /* response write calls (sendmsg, sendfile): with
                                         requests, shows the batching of pipelined replies */
    atomic_long accepted_on[FDH_MAX_ADDRS]; /* connections taken per listening address
                                         (the index of listeners.h); passfd: counted by the
                                         master in the slot it passes to */
    atomic_long held;                 /* bytes of per-request buffers (request bodies, the
                                         /status text) the connections hold right now */
};

/* Banks: a worker of generation G writes bank G % 2. At most two generations are
 * ever alive at once and they are consecutive (reload.c), so each (bank, slot) has ONE
 * live worker, and when the master reaps a SIGKILLed worker it can zero exactly that
 * worker's `active` without touching the other generation's. /status sums the banks. */
#define FDH_BANKS 2
#define FDH_SHARED_MAGIC 0x46444853u /* "FDHS": checked by a new master (upgrade) */

struct fdh_shared {
    uint32_t magic, size;             /* FDH_SHARED_MAGIC, sizeof(struct fdh_shared) */
    pthread_mutex_t accept_mutex;     /* accept=mutex (accept_mutex.c): robust, process-shared */
    alignas(64) atomic_int holder;    /* pid holding accept_mutex, 0 when free */
    /* written by the master (one master at a time acts on each: the new master only
     * after the old one handed over) */
    alignas(64) atomic_long generation;   /* the serving generation, 1 at the first start */
    atomic_long reloads;              /* completed reloads */
    atomic_long reloads_failed;       /* refused (invalid options) or rolled back */
    atomic_long upgrades;             /* completed binary upgrades */
    atomic_long upgrades_failed;      /* rolled back */
    atomic_long respawns;             /* workers respawned after an unasked-for exit */
    atomic_long backoff_ms[FDH_MAX_WORKERS]; /* crash loop: the slot's current respawn
                                                delay, 0 when it is not looping */
    struct fdh_slot slot[FDH_BANKS][FDH_MAX_WORKERS];
    /* The listening addresses (listeners.h), written by the master before the first
     * fork (a new master after an upgrade writes the same): /status names them. */
    int naddr;
    char addr[FDH_MAX_ADDRS][SA_TEXT_MAX];
};

/* A new zeroed page in a memfd (memfd_create + ftruncate + mmap MAP_SHARED), the
 * accept mutex initialised; *fd gets the memfd (close-on-exec; pass it to hand the
 * page over). NULL with errno. */
struct fdh_shared *fdh_shared_new(int *fd);
/* Maps a page made by fdh_shared_new in another process (the old master's memfd):
 * accepts only a sealed memfd (F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_SEAL) of the right size
 * with the magic; the mutex is NOT initialised again (old workers may hold it).
 * NULL with errno (EPROTO: not such a page). */
struct fdh_shared *fdh_shared_attach(int fd);
void fdh_shared_free(struct fdh_shared *sh);
/* Writes the /status body (key=value lines) into buf; returns its length (< cap). */
size_t fdh_status_text(const struct fdh_shared *sh, const struct fdh_config *cfg, char *buf, size_t cap);

#endif
