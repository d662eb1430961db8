/* stats.c — the shared statistics page and the /status text. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accept.h"
#include "pmutex.h"
#include "pshm.h"
#include "stats.h"

struct fdh_shared *fdh_shared_new(int *fd)
{
    size_t size = (sizeof(struct fdh_shared) + 4095) & ~(size_t)4095;
    int mfd = memfd_create("fdhttpd-stats", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mfd < 0)
        return NULL;
    /* Sealed at its size: no holder of the descriptor (a new master it is handed to)
     * can shrink it under a mapping, which would turn every access into SIGBUS. */
    if (ftruncate(mfd, (off_t)size) < 0 || /* zero-filled */
        fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
        int e = errno;
        close(mfd);
        errno = e;
        return NULL;
    }
    struct fdh_shared *sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    if (sh == MAP_FAILED) {
        int e = errno;
        close(mfd);
        errno = e;
        return NULL;
    }
    int rc = pmutex_init(&sh->accept_mutex, PMUTEX_ROBUST);
    if (rc != 0) {
        munmap(sh, size);
        close(mfd);
        errno = rc;
        return NULL;
    }
    sh->magic = FDH_SHARED_MAGIC;
    sh->size = sizeof *sh;
    *fd = mfd;
    return sh;
}

struct fdh_shared *fdh_shared_attach(int fd)
{
    size_t size = (sizeof(struct fdh_shared) + 4095) & ~(size_t)4095;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return NULL;
    /* Only a memfd sealed against resizing (fdh_shared_new): F_GET_SEALS fails with
     * EINVAL on anything else, and an unsealed page could shrink under our mapping. */
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW) ||
        !S_ISREG(st.st_mode) || (size_t)st.st_size != size) {
        errno = EPROTO;
        return NULL;
    }
    struct fdh_shared *sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (sh == MAP_FAILED)
        return NULL;
    if (sh->magic != FDH_SHARED_MAGIC || sh->size != sizeof *sh) {
        munmap(sh, size);
        errno = EPROTO;
        return NULL;
    }
    return sh;
}

void fdh_shared_free(struct fdh_shared *sh)
{
    if (sh == NULL)
        return;
    /* The mutex is not destroyed: after an upgrade the page lives on in the new
     * master (and destroying a robust mutex is a no-op on Linux anyway). */
    munmap(sh, (sizeof(struct fdh_shared) + 4095) & ~(size_t)4095);
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
    long tot_req = 0, tot_bytes = 0, tot_active = 0, tot_acc = 0, tot_held = 0, looping = 0;
    if (cap == 0)
        return 0;
    buf[0] = '\0';
    long gen = atomic_load_explicit(&sh->generation, memory_order_relaxed);
    put(buf, cap, &len, "accept=%s\nworkers=%d\n", cfg->accept->name, cfg->workers);
    for (int i = 0; i < cfg->workers; i++) {
        long rq = 0, by = 0, ac = 0, ap = 0, st = 0, wr = 0;
        for (int b = 0; b < FDH_BANKS; b++) {
            const struct fdh_slot *s = &sh->slot[b][i];
            rq += atomic_load_explicit(&s->requests, memory_order_relaxed);
            by += atomic_load_explicit(&s->bytes, memory_order_relaxed);
            ac += atomic_load_explicit(&s->active, memory_order_relaxed);
            ap += atomic_load_explicit(&s->accepted, memory_order_relaxed);
            st += atomic_load_explicit(&s->starts, memory_order_relaxed);
            wr += atomic_load_explicit(&s->writes, memory_order_relaxed);
            tot_held += atomic_load_explicit(&s->held, memory_order_relaxed);
        }
        long bo = atomic_load_explicit(&sh->backoff_ms[i], memory_order_relaxed);
        looping += bo > 0;
        put(buf, cap, &len,
            "worker.%d.pid=%d\nworker.%d.starts=%ld\nworker.%d.requests=%ld\nworker.%d.bytes=%ld\n"
            "worker.%d.active=%ld\nworker.%d.accepted=%ld\nworker.%d.backoff_ms=%ld\nworker.%d.writes=%ld\n",
            i, atomic_load_explicit(&sh->slot[gen % FDH_BANKS][i].pid, memory_order_relaxed), i, st, i, rq, i,
            by, i, ac, i, ap, i, bo, i, wr);
        tot_req += rq, tot_bytes += by, tot_active += ac, tot_acc += ap;
    }
    /* Which address the connections came in on (listeners.h's index). */
    for (int a = 0; a < sh->naddr && a < FDH_MAX_ADDRS; a++) {
        long n = 0;
        for (int b = 0; b < FDH_BANKS; b++)
            for (int i = 0; i < FDH_MAX_WORKERS; i++)
                n += atomic_load_explicit(&sh->slot[b][i].accepted_on[a], memory_order_relaxed);
        put(buf, cap, &len, "listen.%d=%s\nlisten.%d.accepted=%ld\n", a, sh->addr[a], a, n);
    }
    if (cfg->accept->status && len + 1 < cap)
        len += cfg->accept->status(sh, buf + len, cap - len);
    put(buf, cap, &len, "total.requests=%ld\ntotal.bytes=%ld\ntotal.active=%ld\ntotal.accepted=%ld\n",
        tot_req, tot_bytes, tot_active, tot_acc);
    put(buf, cap, &len, "total.held_bytes=%ld\n", tot_held);
    put(buf, cap, &len, "generation=%ld\nreloads=%ld\nreloads_failed=%ld\nupgrades=%ld\nupgrades_failed=%ld\n"
        "respawns=%ld\ncrashloop=%ld\n", gen, atomic_load(&sh->reloads), atomic_load(&sh->reloads_failed),
        atomic_load(&sh->upgrades), atomic_load(&sh->upgrades_failed), atomic_load(&sh->respawns), looping);
    return len;
}
