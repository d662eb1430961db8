/* stats.c — the shared statistics page and the /status text. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "fdhttpd.h"
#include "pmutex.h"
#include "pshm.h"

struct fdh_shared *fdh_shared_new(void)
{
    struct fdh_shared *sh = pshm_alloc(sizeof *sh); /* zero-filled, page-aligned */
    if (sh == NULL)
        return NULL;
    int rc = pmutex_init(&sh->accept_mutex, PMUTEX_ROBUST); /* sets errno too */
    if (rc != 0) {
        pshm_free(sh, sizeof *sh);
        errno = rc;
        return NULL;
    }
    return sh;
}

void fdh_shared_free(struct fdh_shared *sh)
{
    if (sh == NULL)
        return;
    pmutex_destroy(&sh->accept_mutex); /* EBUSY only if a dead holder left it: harmless */
    pshm_free(sh, sizeof *sh);
}

/* Appends to buf[*len..cap) and keeps *len < cap (the text is cut, never overrun). */
__attribute__((format(printf, 4, 5))) static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    if (*len + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len += (size_t)n < cap - *len ? (size_t)n : cap - *len - 1;
}

size_t fdh_status_text(const struct fdh_shared *sh, const struct fdh_config *cfg, char *buf, size_t cap)
{
    size_t len = 0;
    long tot_req = 0, tot_bytes = 0, tot_active = 0, tot_acc = 0;
    if (cap == 0)
        return 0;
    buf[0] = '\0';
    put(buf, cap, &len, "accept=%s\nworkers=%d\n", fdh_accept_name(cfg->accept), cfg->workers);
    for (int i = 0; i < cfg->workers; i++) {
        const struct fdh_slot *s = &sh->slot[i];
        long rq = atomic_load_explicit(&s->requests, memory_order_relaxed);
        long by = atomic_load_explicit(&s->bytes, memory_order_relaxed);
        long ac = atomic_load_explicit(&s->active, memory_order_relaxed);
        long ap = atomic_load_explicit(&s->accepted, memory_order_relaxed);
        put(buf, cap, &len,
            "worker.%d.pid=%d\nworker.%d.starts=%d\nworker.%d.requests=%ld\nworker.%d.bytes=%ld\n"
            "worker.%d.active=%ld\nworker.%d.accepted=%ld\n",
            i, atomic_load_explicit(&s->pid, memory_order_relaxed), i,
            atomic_load_explicit(&s->starts, memory_order_relaxed), i, rq, i, by, i, ac, i, ap);
        put(buf, cap, &len, "worker.%d.writes=%ld\n", i, atomic_load_explicit(&s->writes, memory_order_relaxed));
        tot_req += rq, tot_bytes += by, tot_active += ac, tot_acc += ap;
    }
    if (cfg->accept == FDH_MUTEX)
        put(buf, cap, &len, "mutex.holder=%d\n", atomic_load(&sh->holder));
    put(buf, cap, &len, "total.requests=%ld\ntotal.bytes=%ld\ntotal.active=%ld\ntotal.accepted=%ld\n",
        tot_req, tot_bytes, tot_active, tot_acc);
    return len;
}
