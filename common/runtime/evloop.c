/* evloop.c — see evloop.h for the contract.
 *
 * Layout:
 *   io[fd]   per-descriptor slot: callback, user pointer, interest mask (0 = free),
 *            generation. The epoll tag of a registration is (generation << 32 | fd),
 *            so an event fetched for an older registration of the same fd number is
 *            recognised and dropped.
 *   heap[]   active timers, a binary min-heap on (when_ms, seq) — a key at or before
 *            the deadline (due_ms, due_seq), see evloop_timer_start; t->idx is the slot.
 *   due[]    timers popped from the heap in this iteration, before their callbacks
 *            run (t->idx is the slot; a stop clears the slot, so a stopped or freed
 *            timer is never touched again).
 */
#include "evloop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "ev_epoll.h"

enum { T_UNINIT = 0, T_IDLE = 1, T_HEAP = 2, T_DUE = 3 };
enum { MAX_EVENTS = 256 };

struct io_slot {
    evloop_io_cb *cb;
    void *ud;
    unsigned mask; /* 0: not registered */
    uint32_t gen;
};

struct evloop {
    struct ev_backend *be;
    struct io_slot *io;
    int nio; /* slots allocated */
    int nreg; /* fds registered */

    struct ev_timer **heap;
    struct ev_timer **due;
    size_t nheap, ndue, cap; /* heap and due share cap */
    uint64_t seq;

    uint64_t now;
    int stop;
    int running;
    struct evloop_stats st;

    int sigfd;
    evloop_signal_cb *sig_cb;
    void *sig_ud;
    sigset_t sig_old;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail for this clock */
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct evloop *evloop_new(void)
{
    struct evloop *el = calloc(1, sizeof *el);
    if (el == NULL)
        return NULL;
    el->be = ev_backend_new(MAX_EVENTS);
    if (el->be == NULL) {
        int e = errno;
        free(el);
        errno = e;
        return NULL;
    }
    el->sigfd = -1;
    el->now = mono_ms();
    return el;
}

void evloop_free(struct evloop *el)
{
    if (el == NULL)
        return;
    if (el->sigfd >= 0) {
        close(el->sigfd);
        pthread_sigmask(SIG_SETMASK, &el->sig_old, NULL);
    }
    ev_backend_free(el->be);
    free(el->io);
    free(el->heap);
    free(el->due);
    free(el);
}

/* ------------------------------------------------------------------ descriptors */

static int mask_ok(unsigned mask)
{
    return (mask & (EV_READ | EV_WRITE)) != 0 &&
           (mask & ~(unsigned)(EV_READ | EV_WRITE | EV_EDGE | EV_EXCLUSIVE)) == 0;
}

static uint64_t tag_of(int fd, uint32_t gen)
{
    return (uint64_t)gen << 32 | (uint32_t)fd;
}

static int grow_io(struct evloop *el, int fd)
{
    if (fd < el->nio)
        return 0;
    int n = el->nio ? el->nio : 64;
    while (n <= fd)
        n *= 2;
    struct io_slot *p = realloc(el->io, (size_t)n * sizeof *p);
    if (p == NULL)
        return -1;
    memset(p + el->nio, 0, (size_t)(n - el->nio) * sizeof *p);
    el->io = p;
    el->nio = n;
    return 0;
}

int evloop_io_add(struct evloop *el, int fd, unsigned mask, evloop_io_cb *cb, void *ud)
{
    if (fd < 0 || cb == NULL || !mask_ok(mask)) {
        errno = EINVAL;
        return -1;
    }
    if (grow_io(el, fd) < 0)
        return -1;
    struct io_slot *s = &el->io[fd];
    if (s->mask != 0) {
        errno = EEXIST;
        return -1;
    }
    uint32_t gen = s->gen + 1; /* a new registration: stale events will not match */
    if (ev_backend_add(el->be, fd, mask, tag_of(fd, gen)) < 0)
        return -1;
    *s = (struct io_slot){.cb = cb, .ud = ud, .mask = mask, .gen = gen};
    el->nreg++;
    return 0;
}

int evloop_io_mod(struct evloop *el, int fd, unsigned mask)
{
    if (!mask_ok(mask) || (mask & EV_EXCLUSIVE)) {
        errno = EINVAL; /* EPOLLEXCLUSIVE is for EPOLL_CTL_ADD only (epoll_ctl(2)) */
        return -1;
    }
    if (fd < 0 || fd >= el->nio || el->io[fd].mask == 0) {
        errno = ENOENT;
        return -1;
    }
    if (el->io[fd].mask & EV_EXCLUSIVE) {
        errno = EINVAL; /* the kernel refuses MOD of an exclusive registration too */
        return -1;
    }
    if (ev_backend_mod(el->be, fd, mask, tag_of(fd, el->io[fd].gen)) < 0)
        return -1;
    el->io[fd].mask = mask;
    return 0;
}

int evloop_io_del(struct evloop *el, int fd)
{
    if (fd < 0 || fd >= el->nio || el->io[fd].mask == 0) {
        errno = ENOENT;
        return -1;
    }
    /* EBADF/ENOENT: the fd was closed first; the kernel has already forgotten it
     * (or a dup keeps it alive: its events then carry a stale generation). */
    int e = errno;
    if (ev_backend_del(el->be, fd) < 0)
        errno = e;
    el->io[fd].mask = 0;
    el->io[fd].cb = NULL;
    el->io[fd].ud = NULL;
    el->nreg--;
    return 0;
}

int evloop_io_forget(struct evloop *el, int fd)
{
    if (fd < 0 || fd >= el->nio || el->io[fd].mask == 0) {
        errno = ENOENT;
        return -1;
    }
    /* No EPOLL_CTL_DEL: the caller's close(2) of the last reference removes it (see
     * evloop.h). The slot's generation stays, so the next add gets a new one and any
     * event still fetched for the old registration is dropped. */
    el->io[fd].mask = 0;
    el->io[fd].cb = NULL;
    el->io[fd].ud = NULL;
    el->nreg--;
    return 0;
}

unsigned evloop_io_mask(const struct evloop *el, int fd)
{
    return fd >= 0 && fd < el->nio ? el->io[fd].mask : 0;
}

/* ------------------------------------------------------------------ timers */

static int t_less(const struct ev_timer *a, const struct ev_timer *b)
{
    return a->when_ms < b->when_ms || (a->when_ms == b->when_ms && a->seq < b->seq);
}

static void h_set(struct evloop *el, size_t i, struct ev_timer *t)
{
    el->heap[i] = t;
    t->idx = i;
}

static void h_up(struct evloop *el, size_t i)
{
    struct ev_timer *t = el->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!t_less(t, el->heap[p]))
            break;
        h_set(el, i, el->heap[p]);
        i = p;
    }
    h_set(el, i, t);
}

static void h_down(struct evloop *el, size_t i)
{
    struct ev_timer *t = el->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= el->nheap)
            break;
        if (c + 1 < el->nheap && t_less(el->heap[c + 1], el->heap[c]))
            c++;
        if (!t_less(el->heap[c], t))
            break;
        h_set(el, i, el->heap[c]);
        i = c;
    }
    h_set(el, i, t);
}

static void h_remove(struct evloop *el, struct ev_timer *t)
{
    size_t i = t->idx;
    struct ev_timer *last = el->heap[--el->nheap];
    if (i < el->nheap) {
        h_set(el, i, last);
        if (i > 0 && t_less(last, el->heap[(i - 1) / 2]))
            h_up(el, i);
        else
            h_down(el, i);
    }
    t->state = T_IDLE;
}

static int h_push(struct evloop *el, struct ev_timer *t)
{
    if (el->nheap == el->cap) {
        size_t n = el->cap ? el->cap * 2 : 16;
        struct ev_timer **h = realloc(el->heap, n * sizeof *h);
        if (h == NULL)
            return -1;
        el->heap = h;
        /* due[] must hold every timer the heap can hold: filling it never fails. */
        struct ev_timer **d = realloc(el->due, n * sizeof *d);
        if (d == NULL)
            return -1;
        el->due = d;
        el->cap = n;
    }
    t->state = T_HEAP;
    h_set(el, el->nheap++, t);
    h_up(el, t->idx);
    return 0;
}

void ev_timer_init(struct ev_timer *t, evloop_timer_cb *cb, void *ud)
{
    memset(t, 0, sizeof *t);
    t->state = T_IDLE;
    t->cb = cb;
    t->ud = ud;
}

int evloop_timer_stop(struct evloop *el, struct ev_timer *t)
{
    if (t->state == T_HEAP)
        h_remove(el, t);
    else if (t->state == T_DUE) {
        el->due[t->idx] = NULL;
        t->state = T_IDLE;
    }
    return 0;
}

int evloop_timer_start(struct evloop *el, struct ev_timer *t, long after_ms, long repeat_ms)
{
    if (after_ms < 0 || repeat_ms < 0 || t->state == T_UNINIT || t->cb == NULL) {
        errno = EINVAL;
        return -1;
    }
    /* Fresh time, not the cached el->now: a callback may have run long. */
    uint64_t when = mono_ms() + (uint64_t)after_ms;
    t->repeat_ms = repeat_ms;
    if (t->state == T_HEAP && when >= t->when_ms) {
        /* Later than its heap key: no heap work now; run_timers moves it when the key
         * comes up (the deadline and start order it would have had are kept). */
        t->due_ms = when;
        t->due_seq = el->seq++;
        return 0;
    }
    evloop_timer_stop(el, t);
    t->when_ms = t->due_ms = when;
    t->seq = t->due_seq = el->seq++;
    return h_push(el, t);
}

int ev_timer_active(const struct ev_timer *t)
{
    return t->state == T_HEAP || t->state == T_DUE;
}

/* Pop every expired timer into due[], then run them in order. Timers armed by
 * the callbacks go into the heap and wait for the next iteration. */
static int run_timers(struct evloop *el)
{
    el->ndue = 0;
    while (el->nheap > 0 && el->heap[0]->when_ms <= el->now) {
        struct ev_timer *t = el->heap[0];
        if (t->due_ms != t->when_ms || t->due_seq != t->seq) {
            /* Re-armed later meanwhile: take its true key and sink (it may still be
             * due now, then in its true order). */
            t->when_ms = t->due_ms;
            t->seq = t->due_seq;
            h_down(el, 0);
            continue;
        }
        h_remove(el, t);
        t->state = T_DUE;
        t->idx = el->ndue;
        el->due[el->ndue++] = t;
    }
    int ran = 0;
    for (size_t i = 0; i < el->ndue; i++) {
        struct ev_timer *t = el->due[i];
        if (t == NULL) /* stopped by an earlier callback */
            continue;
        el->due[i] = NULL;
        t->state = T_IDLE;
        if (t->repeat_ms > 0) {
            uint64_t next = t->when_ms + (uint64_t)t->repeat_ms;
            if (next <= el->now) /* the loop was late: no burst of catch-up fires */
                next = el->now + (uint64_t)t->repeat_ms;
            t->when_ms = t->due_ms = next;
            t->seq = t->due_seq = el->seq++;
            /* Cannot fail: the timer just left the heap, so there is room. */
            h_push(el, t);
        }
        el->st.timer_fires++;
        ran++;
        t->cb(el, t, t->ud); /* may free t: not touched after this */
    }
    el->ndue = 0;
    return ran;
}

/* ------------------------------------------------------------------ running */

int evloop_run_once(struct evloop *el, int max_wait_ms)
{
    if (el->running) {
        errno = EBUSY;
        return -1;
    }
    int timeout = max_wait_ms < 0 ? -1 : max_wait_ms;
    if (el->nheap > 0) {
        uint64_t now = mono_ms(), when = el->heap[0]->when_ms;
        uint64_t d = when > now ? when - now : 0;
        if (d > (uint64_t)INT32_MAX)
            d = INT32_MAX;
        if (timeout < 0 || (uint64_t)timeout > d)
            timeout = (int)d;
    }
    const struct ev_fired *fired;
    int n = ev_backend_wait(el->be, timeout, &fired);
    el->now = mono_ms();
    if (n < 0) {
        if (errno != EINTR)
            return -1;
        n = 0;
    }
    el->st.waits++;
    el->running = 1;
    int ran = 0;
    for (int i = 0; i < n; i++) {
        int fd = (int)(uint32_t)fired[i].tag;
        uint32_t gen = (uint32_t)(fired[i].tag >> 32);
        /* Re-read the slot every time: an earlier callback may have deleted fd,
         * re-registered its number, changed the mask or grown el->io. */
        if (fd >= el->nio || el->io[fd].mask == 0 || el->io[fd].gen != gen) {
            el->st.dropped++;
            continue;
        }
        struct io_slot *s = &el->io[fd];
        unsigned ev = fired[i].events & (s->mask | EV_HUP | EV_ERR);
        if (ev == 0) {
            el->st.dropped++;
            continue;
        }
        el->st.io_events++;
        ran++;
        s->cb(el, fd, ev, s->ud);
    }
    ran += run_timers(el);
    el->running = 0;
    return ran;
}

int evloop_run(struct evloop *el)
{
    el->stop = 0;
    while (!el->stop) {
        if (el->nreg == 0 && el->nheap == 0)
            return 0; /* nothing could ever wake us */
        if (evloop_run_once(el, -1) < 0)
            return -1;
    }
    return 0;
}

void evloop_stop(struct evloop *el)
{
    el->stop = 1;
}

/* ------------------------------------------------------------------ signals */

static void on_signalfd(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)events;
    (void)ud;
    struct signalfd_siginfo si;
    /* Drain: several signals may be pending. Level-triggered, so a short count
     * here would only mean another callback next iteration. */
    for (int i = 0; i < 64; i++) {
        ssize_t r = read(fd, &si, sizeof si);
        if (r != (ssize_t)sizeof si)
            break; /* EAGAIN: drained */
        el->sig_cb(el, (int)si.ssi_signo, el->sig_ud);
        if (el->sigfd != fd)
            break;
    }
}

int evloop_signalfd(struct evloop *el, const sigset_t *sigs, evloop_signal_cb *cb, void *ud)
{
    if (sigs == NULL || cb == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (el->sigfd >= 0) {
        errno = EBUSY;
        return -1;
    }
    sigset_t old;
    int e = pthread_sigmask(SIG_BLOCK, sigs, &old);
    if (e != 0) {
        errno = e;
        return -1;
    }
    int fd = signalfd(-1, sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0 || evloop_io_add(el, fd, EV_READ, on_signalfd, NULL) < 0) {
        e = errno;
        if (fd >= 0)
            close(fd);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        errno = e;
        return -1;
    }
    el->sigfd = fd;
    el->sig_cb = cb;
    el->sig_ud = ud;
    el->sig_old = old;
    return 0;
}

/* ------------------------------------------------------------------ introspection */

uint64_t evloop_now_ms(const struct evloop *el)
{
    return el->now;
}

void evloop_get_stats(const struct evloop *el, struct evloop_stats *st)
{
    *st = el->st;
}

int evloop_backend_fd(const struct evloop *el)
{
    return ev_backend_fd(el->be);
}
