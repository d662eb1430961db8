/* evloop.h — a small single-threaded event loop: fd readiness, timers, a stop flag.
 *
 * Modelled on redis' ae.c: the loop is one struct (no global state), the readiness
 * backend (epoll, ev_epoll.h) sits behind a narrow interface, and one iteration is
 *   1. timeout = time to the nearest timer (or the caller's bound, or -1 = none)
 *   2. one epoll_wait(2) with that timeout
 *   3. for each ready fd, its callback (once per fd per iteration, with all its events)
 *   4. every timer whose deadline has passed, earliest first
 * Everything runs on the calling thread; no function is thread-safe. A loop is used
 * by one thread at a time (each fdhttpd worker process owns one).
 *
 * ---- descriptors ----------------------------------------------------------------
 * Interest masks: EV_READ and/or EV_WRITE, optionally EV_EDGE (edge-triggered,
 * EPOLLET: one notification per readiness CHANGE; the callback must then read/
 * write/accept until EAGAIN, see epoll(7)). Without EV_EDGE the fd is
 * level-triggered: the callback runs on every iteration while the fd stays ready.
 * EV_EXCLUSIVE (evloop_io_add only) registers with EPOLLEXCLUSIVE: when several epoll
 * instances (typically one per worker process) wait on the same fd, a readiness event
 * wakes one or more of them instead of all (the thundering herd of a shared listener;
 * labs 06 and 08). The kernel's restrictions, see epoll_ctl(2), become evloop's:
 *   - only at ADD: evloop_io_mod() of an EV_EXCLUSIVE registration, or a mod that asks
 *     for EV_EXCLUSIVE, fails with EINVAL and leaves the registration as it was; to
 *     change the mask, evloop_io_del() and evloop_io_add() again;
 *   - the kernel accepts it only with EPOLLIN/EPOLLOUT/EPOLLET (no EPOLLONESHOT, which
 *     evloop never uses, and no EPOLLRDHUP: an exclusive EV_READ registration gets no
 *     EV_HUP for a half-close — meant for listeners, where that does not occur);
 *   - fd must not be an epoll instance (EINVAL from epoll_ctl).
 * A callback gets `events`: EV_READ, EV_WRITE (only those it asked for), and
 * EV_HUP (peer hung up / shut down writing; with EV_READ interest only, or a full
 * hang-up) and EV_ERR (pending socket error), which are always delivered.
 *
 * evloop_io_add(el, fd, mask, cb, ud)
 *   Registers fd (not yet registered) with interest mask (must contain EV_READ or
 *   EV_WRITE; EV_EDGE optional) and callback cb(el, fd, events, ud). The loop does NOT
 *   own fd: it never closes it; the caller must evloop_io_del() (or, holding the
 *   last reference, evloop_io_forget()) before close() (a close first is tolerated,
 *   but if a dup of fd lives on, epoll keeps reporting the old file and each such
 *   event is only dropped, not silenced).
 *   Returns 0; -1 with errno: EINVAL (fd < 0, cb NULL, bad mask), EEXIST (already
 *   registered), ENOMEM, or epoll_ctl(2) errors (EPERM for a regular file, EBADF).
 * evloop_io_mod(el, fd, mask)
 *   Replaces the interest mask of a registered fd (callback and ud kept). Switching
 *   EV_WRITE on after a short write is the usual use. Returns 0; -1 with errno:
 *   EINVAL (bad mask), ENOENT (not registered), epoll_ctl(2) errors.
 * evloop_io_del(el, fd)
 *   Forgets fd. Returns 0; -1 with ENOENT when fd is not registered. When the fd was
 *   already closed (the kernel then dropped it from the epoll set itself, if it held
 *   the last reference) the registration is still forgotten and 0 is returned.
 * evloop_io_forget(el, fd)
 *   Forgets fd WITHOUT telling the kernel (no epoll_ctl): for a caller that closes fd
 *   right away and knows its descriptor is the LAST reference to the open file (no
 *   dup(), no fork() since it was opened, not also held by another process). Then
 *   close(2) itself removes the registration: epoll drops an entry when its open file
 *   is released (epoll(7), Q6) — one system call saved per connection. If another
 *   reference does exist, the registration outlives the close and its events keep
 *   arriving with a stale generation: they are dropped (counted in `dropped`), never
 *   delivered, and the fd number can be registered again at once (the kernel keys
 *   registrations by open file AND number). Returns 0; -1 with ENOENT when fd is not
 *   registered.
 * evloop_io_mask(el, fd): the interest mask of fd, 0 when not registered.
 *
 * Re-entrancy: from inside ANY callback (io, timer, signal) it is safe to add, modify
 * and delete any fd, including the one being served, and to close it after the
 * delete. An event already fetched for an fd that a callback deleted in the same
 * iteration is dropped, even when the same fd number was closed and registered again
 * meanwhile (each registration carries a generation number in the epoll tag).
 * Events the new mask no longer asks for are dropped too.
 *
 * ---- timers ---------------------------------------------------------------------
 * struct ev_timer is OWNED BY THE CALLER (embed it in the connection struct): no
 * allocation per timer; the loop keeps pointers to active timers in a binary
 * min-heap ordered by (deadline, start order): start/stop O(log n), nearest O(1).
 * Re-arming an active timer to a LATER deadline (an idle timeout pushed back at every
 * request) is O(1): the heap keeps the earlier key, and when that key comes up the
 * timer is moved to its deadline instead of firing.
 * Time is CLOCK_MONOTONIC in whole milliseconds (setting the wall clock has no effect).
 *
 * ev_timer_init(t, cb, ud): prepares t (inactive) with callback cb(el, t, ud).
 * evloop_timer_start(el, t, after_ms, repeat_ms)
 *   Arms t to fire after_ms >= 0 ms from now, then, when repeat_ms > 0, every repeat_ms
 *   after its previous deadline (never in a burst: a late loop skips to now). An
 *   active t is re-armed (restart = the idle-timeout idiom). Returns 0; -1 with errno
 *   EINVAL (negative times, t never initialised) or ENOMEM.
 * evloop_timer_stop(el, t): disarms t; stopping an inactive timer is a no-op. Returns 0.
 * ev_timer_active(t): 1 while armed (a one-shot timer is inactive inside its callback).
 * Timers whose deadlines have passed fire in deadline order, equal deadlines in start
 * order. A timer armed (or re-armed) by a callback fires at the earliest in the NEXT
 * iteration, so a 0 ms timer that re-arms itself cannot starve I/O. A callback may stop,
 * restart or free any timer, its own included (stop it first if it repeats): the loop
 * does not touch a timer after it was stopped. Fired, late or stopped, no timer fires
 * twice for one deadline.
 *
 * ---- running --------------------------------------------------------------------
 * evloop_new(): an empty loop. NULL with errno (ENOMEM, EMFILE from epoll_create1).
 * evloop_free(el): closes the loop's own descriptors (epoll fd, signalfd) and frees it;
 *   registered fds and active timers are abandoned untouched (the caller owns them).
 *   NULL accepted. Never from inside a callback of el.
 * evloop_run_once(el, max_wait_ms)
 *   One iteration as above; it sleeps at most max_wait_ms (-1: until an event or the
 *   nearest timer; 0: poll). Returns the number of callbacks run (0 on timeout or
 *   EINTR); -1 with errno: EBUSY when called from a callback of el (no nesting), or
 *   what epoll_wait failed with.
 * evloop_run(el)
 *   Clears the stop flag, then iterates until a callback calls evloop_stop() (the
 *   iteration in progress is finished first: no fetched event is lost) or until nothing
 *   is left that could ever wake it (no fd registered, no timer active). Returns 0
 *   then; -1 with errno when epoll_wait failed (not EINTR).
 * evloop_stop(el): sets the stop flag (from a callback; the loop only polls this flag
 *   between iterations, so signals must reach it as events: evloop_signalfd()).
 *
 * evloop_signalfd(el, sigs, cb, ud)
 *   The signal hook: blocks sigs in the calling thread (pthread_sigmask), opens a
 *   non-blocking close-on-exec signalfd(2) for them and registers it; cb(el, signo, ud)
 *   then runs once per delivered signal (standard signals coalesce while pending).
 *   At most one per loop. evloop_free() closes it and restores the old signal mask.
 *   Returns 0; -1 with errno: EBUSY (already installed), EINVAL, signalfd errors.
 *
 * evloop_now_ms(el): the loop's clock (monotonic ms), refreshed after every wait.
 * evloop_get_stats(el, &st): counters since evloop_new (for labs and tests).
 * evloop_backend_fd(el): the epoll fd (read-only use: tests, notes).
 */
#ifndef FDLAB_EVLOOP_H
#define FDLAB_EVLOOP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

enum {
    EV_READ = 1u << 0,
    EV_WRITE = 1u << 1,
    EV_EDGE = 1u << 2, /* interest flag only */
    EV_HUP = 1u << 3,  /* delivered only */
    EV_ERR = 1u << 4,  /* delivered only */
    EV_EXCLUSIVE = 1u << 5, /* interest flag, evloop_io_add only: EPOLLEXCLUSIVE */
};

struct evloop;
struct ev_timer;

typedef void evloop_io_cb(struct evloop *el, int fd, unsigned events, void *ud);
typedef void evloop_timer_cb(struct evloop *el, struct ev_timer *t, void *ud);
typedef void evloop_signal_cb(struct evloop *el, int signo, void *ud);

/* Caller-owned; every field is private to evloop.c. */
struct ev_timer {
    uint64_t when_ms;  /* heap key: the deadline, or an earlier one it was moved from */
    uint64_t seq;      /* start order, breaks ties (heap key) */
    uint64_t due_ms;   /* the deadline */
    uint64_t due_seq;  /* the start order of due_ms */
    long repeat_ms;    /* 0: one-shot */
    size_t idx;        /* position in the heap while active */
    int state;         /* 0 uninitialised, 1 inactive, 2 in heap, 3 due now */
    evloop_timer_cb *cb;
    void *ud;
};

struct evloop_stats {
    long waits;       /* epoll_wait calls that returned (events or timeout) */
    long io_events;   /* fd callbacks run */
    long timer_fires; /* timer callbacks run */
    long dropped;     /* fetched events dropped (fd deleted/re-registered meanwhile) */
};

struct evloop *evloop_new(void);
void evloop_free(struct evloop *el);

int evloop_io_add(struct evloop *el, int fd, unsigned mask, evloop_io_cb *cb, void *ud);
int evloop_io_mod(struct evloop *el, int fd, unsigned mask);
int evloop_io_del(struct evloop *el, int fd);
int evloop_io_forget(struct evloop *el, int fd);
unsigned evloop_io_mask(const struct evloop *el, int fd);

void ev_timer_init(struct ev_timer *t, evloop_timer_cb *cb, void *ud);
int evloop_timer_start(struct evloop *el, struct ev_timer *t, long after_ms, long repeat_ms);
int evloop_timer_stop(struct evloop *el, struct ev_timer *t);
int ev_timer_active(const struct ev_timer *t);

int evloop_run_once(struct evloop *el, int max_wait_ms);
int evloop_run(struct evloop *el);
void evloop_stop(struct evloop *el);

int evloop_signalfd(struct evloop *el, const sigset_t *sigs, evloop_signal_cb *cb, void *ud);

uint64_t evloop_now_ms(const struct evloop *el);
void evloop_get_stats(const struct evloop *el, struct evloop_stats *st);
int evloop_backend_fd(const struct evloop *el);

#endif
