/* gate.c — see gate.h. */
#include "gate.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"

/* The futex word is the atomic_uint itself: same size and representation as the
 * uint32_t the kernel reads. Not FUTEX_PRIVATE_FLAG: the waiters are processes. */
static uint32_t *word(atomic_uint *a)
{
    return (uint32_t *)(void *)a;
}

static void open_gate(struct herd_gate *g)
{
    if (syscall(SYS_futex, word(&g->gen), FUTEX_WAKE, INT_MAX, NULL, NULL, 0) < 0)
        die("futex(FUTEX_WAKE)");
}

int gate_wait(struct herd_gate *g, unsigned parties, int timeout_ms)
{
    unsigned gen = atomic_load(&g->gen);
    if (atomic_fetch_add(&g->count, 1) + 1 >= parties) {
        /* The last one: reset the count for the next round, then open. */
        atomic_store(&g->count, 0);
        atomic_fetch_add(&g->gen, 1);
        open_gate(g);
        return 0;
    }
    double deadline = mono_s() + timeout_ms / 1000.0;
    while (atomic_load(&g->gen) == gen) {
        double left = deadline - mono_s();
        if (left <= 0) {
            /* Someone did not come: open the round ourselves, unless another waiter
             * (or the last arrival) just did. */
            unsigned expect = gen;
            if (atomic_compare_exchange_strong(&g->gen, &expect, gen + 1)) {
                atomic_store(&g->count, 0);
                open_gate(g);
            }
            return 1;
        }
        struct timespec ts = {.tv_sec = (time_t)left,
                              .tv_nsec = (long)((left - (double)(time_t)left) * 1e9)};
        /* Sleeps only while gen still equals the round we arrived in (EAGAIN if not). */
        if (syscall(SYS_futex, word(&g->gen), FUTEX_WAIT, gen, &ts, NULL, 0) < 0 &&
            errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT)
            die("futex(FUTEX_WAIT)");
    }
    return 0;
}
