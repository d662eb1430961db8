/* Tests for evloop.h: readiness, LT vs ET delivery, timers, re-entrancy, fd hygiene.
 * Every wait is bounded (run_once with a timeout, or a loop that ends by itself);
 * nothing asserts how long anything took. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"
#include "fdcount.h"
#include "sock.h"

#define T_OUT 30

struct rec {
    int calls;
    unsigned last_events;
    int chunk;  /* bytes to read per callback (0: do not read) */
    long bytes; /* read so far */
};

static void on_rec(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)el;
    struct rec *r = ud;
    r->calls++;
    r->last_events = events;
    if (r->chunk > 0 && (events & EV_READ)) {
        char buf[65536];
        ssize_t n = read(fd, buf, (size_t)r->chunk);
        if (n > 0)
            r->bytes += n;
    }
}

static void nb_socketpair(int sv[2])
{
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

static void fill(int fd, size_t n)
{
    char buf[8192];
    memset(buf, 'x', sizeof buf);
    while (n > 0) {
        size_t k = n < sizeof buf ? n : sizeof buf;
        cr_assert_eq(write(fd, buf, k), (ssize_t)k);
        n -= k;
    }
}

Test(evloop, pipe_read_readiness, .timeout = 120)
{
    struct evloop *el = evloop_new();
    cr_assert_not_null(el);
    int p[2];
    cr_assert_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    struct rec r = {.chunk = 64};
    cr_assert_eq(evloop_io_add(el, p[0], EV_READ, on_rec, &r), 0);
    cr_assert_eq(evloop_io_mask(el, p[0]), EV_READ);
    cr_assert_eq(evloop_run_once(el, 0), 0, "nothing written: nothing ready");
    cr_assert_eq(r.calls, 0);
    cr_assert_eq(write(p[1], "hello", 5), 5);
    cr_assert_eq(evloop_run_once(el, 5000), 1);
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(r.last_events, EV_READ);
    cr_assert_eq(r.bytes, 5);
    cr_assert_eq(evloop_run_once(el, 0), 0, "drained: not ready any more");
    close(p[1]);
    cr_assert_eq(evloop_run_once(el, 5000), 1);
    cr_assert(r.last_events & EV_HUP, "writer closed: EV_HUP (events %#x)", r.last_events);
    cr_assert_eq(evloop_io_del(el, p[0]), 0);
    close(p[0]);
    evloop_free(el);
}

Test(evloop, socketpair_write_readiness_and_mod, .timeout = 120)
{
    struct evloop *el = evloop_new();
    int sv[2];
    nb_socketpair(sv);
    struct rec r = {0};
    cr_assert_eq(evloop_io_add(el, sv[0], EV_READ, on_rec, &r), 0);
    cr_assert_eq(evloop_run_once(el, 0), 0);
    cr_assert_eq(evloop_io_mod(el, sv[0], EV_READ | EV_WRITE), 0);
    cr_assert_eq(evloop_run_once(el, 5000), 1);
    cr_assert_eq(r.last_events, EV_WRITE, "an empty socket buffer is writable");
    cr_assert_eq(evloop_io_mod(el, sv[0], EV_READ), 0);
    cr_assert_eq(evloop_run_once(el, 0), 0, "write interest dropped");
    cr_assert_eq(evloop_io_del(el, sv[0]), 0);
    close(sv[0]);
    close(sv[1]);
    evloop_free(el);
}

/* The same input, a handler that reads 512 bytes per call: level-triggered calls it
 * until the data is gone; edge-triggered once per arrival. */
static void lt_et(unsigned edge, int *calls_first, long *bytes_first, int *calls_after_second)
{
    struct evloop *el = evloop_new();
    int sv[2];
    nb_socketpair(sv);
    struct rec r = {.chunk = 512};
    cr_assert_eq(evloop_io_add(el, sv[0], EV_READ | edge, on_rec, &r), 0);
    fill(sv[1], 4096);
    for (int i = 0; i < 20; i++)
        evloop_run_once(el, 0);
    *calls_first = r.calls;
    *bytes_first = r.bytes;
    fill(sv[1], 512); /* a second arrival */
    for (int i = 0; i < 20; i++)
        evloop_run_once(el, 0);
    *calls_after_second = r.calls;
    cr_assert_eq(evloop_io_del(el, sv[0]), 0);
    close(sv[0]);
    close(sv[1]);
    evloop_free(el);
}

Test(evloop, level_vs_edge_delivery_counts, .timeout = 120)
{
    int lt1, lt2, et1, et2;
    long ltb, etb;
    lt_et(0, &lt1, &ltb, &lt2);
    lt_et(EV_EDGE, &et1, &etb, &et2);
    cr_assert_eq(lt1, 8, "LT: 4096/512 = 8 calls (got %d)", lt1);
    cr_assert_eq(ltb, 4096);
    cr_assert_eq(lt2, 9, "LT: one more call for the 512 new bytes");
    cr_assert_eq(et1, 1, "ET: one call for one arrival (got %d)", et1);
    cr_assert_eq(etb, 512, "ET: 3584 bytes left unread, no further notification");
    cr_assert_eq(et2, 2, "ET: the second arrival is a new edge: one more call");
}

/* ------------------------------------------------------------------ timers */

struct order {
    int seen[64];
    int n;
};

struct tctx {
    struct ev_timer t;
    int id;
    struct order *o;
    int fires;
    int stop_after;           /* repeating: stop itself after this many */
    struct ev_timer *victim;  /* stop this one when firing */
};

static void on_timer(struct evloop *el, struct ev_timer *t, void *ud)
{
    struct tctx *c = ud;
    cr_assert_eq(t, &c->t);
    c->fires++;
    if (c->o != NULL && c->o->n < 64)
        c->o->seen[c->o->n++] = c->id;
    if (c->stop_after > 0 && c->fires >= c->stop_after)
        evloop_timer_stop(el, t);
    if (c->victim != NULL)
        evloop_timer_stop(el, c->victim);
}

static void tinit(struct tctx *c, int id, struct order *o)
{
    memset(c, 0, sizeof *c);
    c->id = id;
    c->o = o;
    ev_timer_init(&c->t, on_timer, c);
}

Test(evloop, timers_fire_in_deadline_then_start_order, .timeout = 120)
{
    struct evloop *el = evloop_new();
    struct order o = {0};
    struct tctx c[5];
    const long after[5] = {30, 10, 20, 0, 0};
    for (int i = 0; i < 5; i++) {
        tinit(&c[i], i, &o);
        cr_assert_eq(evloop_timer_start(el, &c[i].t, after[i], 0), 0);
        cr_assert(ev_timer_active(&c[i].t));
    }
    cr_assert_eq(evloop_run(el), 0, "returns once no timer is left");
    cr_assert_eq(o.n, 5);
    const int want[5] = {3, 4, 1, 2, 0};
    for (int i = 0; i < 5; i++)
        cr_assert_eq(o.seen[i], want[i], "position %d: timer %d, want %d", i, o.seen[i], want[i]);
    for (int i = 0; i < 5; i++)
        cr_assert(!ev_timer_active(&c[i].t));
    evloop_free(el);
}

/* Re-arming an active timer later keeps its old heap key until that key comes up
 * (evloop.h): it must fire at its new deadline, in deadline order, once. Timer 0 starts
 * first at 10 ms, then moves to 80 ms (later than 1's 40 ms) and 2 is started at 0 ms
 * after it; 0 moved back to 0 ms would tie with 2 and fire after it (start order). */
Test(evloop, timer_rearmed_later_fires_at_its_new_deadline_in_order, .timeout = 120)
{
    struct evloop *el = evloop_new();
    struct order o = {0};
    struct tctx c[4];
    for (int i = 0; i < 4; i++)
        tinit(&c[i], i, &o);
    cr_assert_eq(evloop_timer_start(el, &c[0].t, 10, 0), 0);
    cr_assert_eq(evloop_timer_start(el, &c[1].t, 40, 0), 0);
    cr_assert_eq(evloop_timer_start(el, &c[0].t, 80, 0), 0);
    cr_assert_eq(evloop_timer_start(el, &c[0].t, 90, 0), 0);
    cr_assert(ev_timer_active(&c[0].t));
    cr_assert_eq(evloop_run(el), 0);
    cr_assert_eq(o.n, 2);
    cr_assert_eq(o.seen[0], 1, "the 40 ms timer first, got %d", o.seen[0]);
    cr_assert_eq(o.seen[1], 0);
    cr_assert_eq(c[0].fires, 1, "fired once for the deadline it was moved to");

    /* Moved later, then back to 0 ms, started before 2 (also 0 ms): 2 fires after it. */
    o.n = 0;
    cr_assert_eq(evloop_timer_start(el, &c[3].t, 50, 0), 0);
    cr_assert_eq(evloop_timer_start(el, &c[3].t, 60, 0), 0);
    cr_assert_eq(evloop_timer_start(el, &c[3].t, 0, 0), 0);
    cr_assert_eq(evloop_timer_start(el, &c[2].t, 0, 0), 0);
    cr_assert_eq(evloop_run(el), 0);
    cr_assert_eq(o.n, 2);
    cr_assert_eq(o.seen[0], 3);
    cr_assert_eq(o.seen[1], 2);
    evloop_free(el);
}

Test(evloop, timer_cancellation_outside_and_inside_callbacks, .timeout = 120)
{
    struct evloop *el = evloop_new();
    struct order o = {0};
    struct tctx a, b, c, d;
    tinit(&a, 1, &o);
    tinit(&b, 2, &o);
    tinit(&c, 3, &o);
    tinit(&d, 4, &o);
    cr_assert_eq(evloop_timer_start(el, &a.t, 0, 0), 0);
    cr_assert_eq(evloop_timer_start(el, &b.t, 0, 0), 0); /* same deadline, after a */
    cr_assert_eq(evloop_timer_start(el, &c.t, 5, 0), 0);
    cr_assert_eq(evloop_timer_start(el, &d.t, 10, 0), 0);
    a.victim = &b.t;                          /* a stops b while both are due */
    cr_assert_eq(evloop_timer_stop(el, &c.t), 0); /* cancelled before it fired */
    cr_assert_eq(evloop_timer_stop(el, &c.t), 0); /* twice is a no-op */
    cr_assert_eq(evloop_run(el), 0);
    cr_assert_eq(o.n, 2, "only a and d fire");
    cr_assert_eq(o.seen[0], 1);
    cr_assert_eq(o.seen[1], 4);
    cr_assert_eq(b.fires, 0);
    cr_assert_eq(c.fires, 0);
    evloop_free(el);
}

Test(evloop, repeating_timer_stops_itself_and_restart_rearms, .timeout = 120)
{
    struct evloop *el = evloop_new();
    struct tctx r;
    tinit(&r, 1, NULL);
    r.stop_after = 5;
    cr_assert_eq(evloop_timer_start(el, &r.t, 1, 1), 0);
    cr_assert_eq(evloop_run(el), 0);
    cr_assert_eq(r.fires, 5);
    /* restart of an active timer replaces its deadline: it fires once */
    struct tctx s;
    tinit(&s, 2, NULL);
    cr_assert_eq(evloop_timer_start(el, &s.t, 100000, 0), 0);
    cr_assert_eq(evloop_timer_start(el, &s.t, 0, 0), 0);
    cr_assert_eq(evloop_run(el), 0, "the 100 s deadline is gone");
    cr_assert_eq(s.fires, 1);
    evloop_free(el);
}

static void free_self(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)el;
    (*(int *)ud)++;
    free(t); /* one-shot: inactive in its callback, the loop never touches it again */
}

Test(evloop, one_shot_timer_may_free_itself, .timeout = 120)
{
    struct evloop *el = evloop_new();
    int fired = 0;
    for (int i = 0; i < 3; i++) {
        struct ev_timer *t = malloc(sizeof *t);
        ev_timer_init(t, free_self, &fired);
        cr_assert_eq(evloop_timer_start(el, t, i, 0), 0);
    }
    cr_assert_eq(evloop_run(el), 0);
    cr_assert_eq(fired, 3);
    evloop_free(el);
}

/* A heap check: many timers, random deadlines, half cancelled; the rest must fire
 * exactly once each, in non-decreasing deadline order. */
struct hctx {
    struct ev_timer t;
    long after;
    int fires;
    long *last;
    int *bad;
};

static void on_heap(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)el;
    (void)t;
    struct hctx *h = ud;
    h->fires++;
    if (h->after < *h->last)
        (*h->bad)++;
    *h->last = h->after;
}

Test(evloop, heap_keeps_order_under_random_cancellation, .timeout = 120)
{
    enum { N = 400 };
    struct evloop *el = evloop_new();
    static struct hctx h[N];
    long last = -1;
    int bad = 0;
    srand(42);
    for (int i = 0; i < N; i++) {
        h[i] = (struct hctx){.after = rand() % 40, .last = &last, .bad = &bad};
        ev_timer_init(&h[i].t, on_heap, &h[i]);
    }
    /* Starts spread over several milliseconds on a busy machine, so the order to
     * expect is that of the deadlines actually set, not of `after`: the test peeks
     * at the (otherwise private) when_ms right after each start. */
    for (int i = 0; i < N; i++) {
        cr_assert_eq(evloop_timer_start(el, &h[i].t, h[i].after, 0), 0);
        h[i].after = (long)h[i].t.when_ms;
    }
    for (int i = 0; i < N; i += 2)
        cr_assert_eq(evloop_timer_stop(el, &h[(i * 7) % N].t), 0);
    cr_assert_eq(evloop_run(el), 0);
    int fired = 0;
    for (int i = 0; i < N; i++) {
        cr_assert_leq(h[i].fires, 1);
        fired += h[i].fires;
    }
    cr_assert_eq(fired, N / 2, "every timer not cancelled fires once (got %d)", fired);
    cr_assert_eq(bad, 0, "fired out of deadline order %d times", bad);
    evloop_free(el);
}

/* A 0 ms timer that re-arms itself fires once per iteration and cannot starve I/O. */
static void rearm0(struct evloop *el, struct ev_timer *t, void *ud)
{
    (*(int *)ud)++;
    evloop_timer_start(el, t, 0, 0);
}

Test(evloop, self_rearming_zero_timer_does_not_starve_io, .timeout = 120)
{
    struct evloop *el = evloop_new();
    int p[2];
    cr_assert_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    cr_assert_eq(write(p[1], "x", 1), 1);
    struct rec r = {0}; /* does not read: level-triggered, ready every iteration */
    cr_assert_eq(evloop_io_add(el, p[0], EV_READ, on_rec, &r), 0);
    int fires = 0;
    struct ev_timer t;
    ev_timer_init(&t, rearm0, &fires);
    cr_assert_eq(evloop_timer_start(el, &t, 0, 0), 0);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(evloop_run_once(el, 1000), 2, "one io + one timer per iteration");
    cr_assert_eq(fires, 5);
    cr_assert_eq(r.calls, 5);
    evloop_timer_stop(el, &t);
    evloop_io_del(el, p[0]);
    close(p[0]);
    close(p[1]);
    evloop_free(el);
}

Test(evloop, wait_is_bounded_by_the_nearest_timer, .timeout = 120)
{
    struct evloop *el = evloop_new();
    int p[2];
    cr_assert_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    struct rec r = {0};
    cr_assert_eq(evloop_io_add(el, p[0], EV_READ, on_rec, &r), 0); /* never ready */
    struct tctx c;
    tinit(&c, 1, NULL);
    cr_assert_eq(evloop_timer_start(el, &c.t, 20, 0), 0);
    /* max_wait -1 would block forever on the pipe alone: the timer bounds it. */
    int ran = 0;
    for (int i = 0; i < 1000 && ran == 0; i++)
        ran = evloop_run_once(el, -1);
    cr_assert_eq(ran, 1);
    cr_assert_eq(c.fires, 1);
    cr_assert_eq(r.calls, 0);
    evloop_io_del(el, p[0]);
    close(p[0]);
    close(p[1]);
    evloop_free(el);
}

/* ------------------------------------------------------------------ re-entrancy */

struct killer {
    int self_fd, other_fd;
    int *other_closed; /* set when we deleted and closed the other */
    int calls;
    int reuse_fd;      /* the number a new pipe got after the close */
    int reuse_peer;
    struct rec *reuse_rec;
    int forget;        /* evloop_io_forget (the last reference) instead of evloop_io_del */
};

static void on_killer(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)events;
    struct killer *k = ud;
    k->calls++;
    if (*k->other_closed)
        return;
    *k->other_closed = 1;
    if (k->forget) /* fdhttpd's close path: no EPOLL_CTL_DEL, close drops it */
        cr_assert_eq(evloop_io_forget(el, k->other_fd), 0);
    else
        cr_assert_eq(evloop_io_del(el, k->other_fd), 0);
    cr_assert_eq(close(k->other_fd), 0);
    /* The lowest free number is other_fd again: register it anew. The event already
     * fetched for the old registration must not reach the new one. */
    int p[2];
    cr_assert_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    k->reuse_fd = p[0];
    k->reuse_peer = p[1];
    cr_assert_eq(evloop_io_add(el, p[0], EV_READ, on_rec, k->reuse_rec), 0);
    /* and remove ourselves too */
    cr_assert_eq(evloop_io_del(el, fd), 0);
}

/* Both ready in one epoll_wait batch; the first callback deletes (or forgets) and closes
 * the other, and a new descriptor gets the same number and is registered before the
 * batch's stale event for the old one is looked at: the generation drops it. */
static void kill_in_batch(int forget)
{
    struct evloop *el = evloop_new();
    int a[2], b[2];
    nb_socketpair(a);
    nb_socketpair(b);
    int closed = 0;
    struct rec reuse = {0};
    struct killer ka = {.self_fd = a[0], .other_fd = b[0], .other_closed = &closed,
                        .reuse_rec = &reuse, .forget = forget};
    struct killer kb = {.self_fd = b[0], .other_fd = a[0], .other_closed = &closed,
                        .reuse_rec = &reuse, .forget = forget};
    cr_assert_eq(evloop_io_add(el, a[0], EV_READ, on_killer, &ka), 0);
    cr_assert_eq(evloop_io_add(el, b[0], EV_READ, on_killer, &kb), 0);
    fill(a[1], 1);
    fill(b[1], 1);
    cr_assert_eq(evloop_run_once(el, 5000), 1, "both were ready, one callback killed the other");
    cr_assert_eq(ka.calls + kb.calls, 1);
    struct killer *k = ka.calls ? &ka : &kb;
    cr_assert_eq(k->reuse_fd, k->other_fd, "the fd number was reused");
    cr_assert_eq(reuse.calls, 0, "the stale event did not reach the new registration");
    struct evloop_stats st;
    evloop_get_stats(el, &st);
    cr_assert_eq(st.dropped, 1);
    cr_assert_eq(evloop_io_mask(el, k->self_fd), 0);
    cr_assert_eq(evloop_run_once(el, 0), 0);
    /* the new registration works */
    fill(k->reuse_peer, 1);
    cr_assert_eq(evloop_run_once(el, 5000), 1);
    cr_assert_eq(reuse.calls, 1);
    evloop_io_del(el, k->reuse_fd);
    close(k->reuse_fd);
    close(k->reuse_peer);
    close(k->self_fd);
    close(a[1]);
    close(b[1]);
    evloop_free(el);
}

Test(evloop, delete_inside_callback_drops_fetched_events, .timeout = 120) { kill_in_batch(0); }
Test(evloop, forget_inside_callback_drops_fetched_events, .timeout = 120) { kill_in_batch(1); }

static void del_self_close(struct evloop *el, int fd, unsigned events, void *ud)
{
    (void)events;
    (*(int *)ud)++;
    cr_assert_eq(evloop_io_del(el, fd), 0);
    close(fd);
}

Test(evloop, callback_deletes_and_closes_its_own_fd, .timeout = 120)
{
    struct evloop *el = evloop_new();
    int before = fd_count();
    int sv[2];
    nb_socketpair(sv);
    int calls = 0;
    cr_assert_eq(evloop_io_add(el, sv[0], EV_READ | EV_WRITE, del_self_close, &calls), 0);
    cr_assert_eq(evloop_run(el), 0, "run ends: nothing left registered");
    cr_assert_eq(calls, 1);
    close(sv[1]);
    cr_assert_eq(fd_count(), before);
    evloop_free(el);
}

static void stopper(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)t;
    (*(int *)ud)++;
    evloop_stop(el);
}

Test(evloop, stop_flag_ends_run, .timeout = 120)
{
    struct evloop *el = evloop_new();
    int p[2];
    cr_assert_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    struct rec r = {0};
    cr_assert_eq(evloop_io_add(el, p[0], EV_READ, on_rec, &r), 0); /* keeps run alive */
    int n = 0;
    struct ev_timer t;
    ev_timer_init(&t, stopper, &n);
    cr_assert_eq(evloop_timer_start(el, &t, 5, 0), 0);
    cr_assert_eq(evloop_run(el), 0);
    cr_assert_eq(n, 1);
    evloop_io_del(el, p[0]);
    close(p[0]);
    close(p[1]);
    evloop_free(el);
}

static void nested(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)t;
    int *res = ud;
    res[0] = evloop_run_once(el, 0);
    res[1] = errno;
}

Test(evloop, nested_run_is_refused, .timeout = 120)
{
    struct evloop *el = evloop_new();
    int res[2] = {0, 0};
    struct ev_timer t;
    ev_timer_init(&t, nested, res);
    cr_assert_eq(evloop_timer_start(el, &t, 0, 0), 0);
    cr_assert_eq(evloop_run(el), 0);
    cr_assert_eq(res[0], -1);
    cr_assert_eq(res[1], EBUSY);
    evloop_free(el);
}

/* ------------------------------------------------------------------ signals, errors, leaks */

static void on_sig(struct evloop *el, int signo, void *ud)
{
    *(int *)ud = signo;
    evloop_stop(el);
}

Test(evloop, signalfd_hook_turns_a_signal_into_an_event, .timeout = 120)
{
    int before = fd_count();
    struct evloop *el = evloop_new();
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    int got = 0;
    cr_assert_eq(evloop_signalfd(el, &s, on_sig, &got), 0);
    cr_assert_eq(evloop_signalfd(el, &s, on_sig, &got), -1);
    cr_assert_eq(errno, EBUSY);
    cr_assert_eq(raise(SIGUSR1), 0); /* blocked: stays pending, signalfd readable */
    cr_assert_eq(evloop_run(el), 0);
    cr_assert_eq(got, SIGUSR1);
    evloop_free(el);
    sigset_t now;
    cr_assert_eq(sigprocmask(SIG_SETMASK, NULL, &now), 0);
    cr_assert_eq(sigismember(&now, SIGUSR1), 0, "old mask restored");
    cr_assert_eq(fd_count(), before, "signalfd and epoll fd closed");
}

Test(evloop, rejects_bad_arguments, .timeout = 120)
{
    struct evloop *el = evloop_new();
    int sv[2];
    nb_socketpair(sv);
    struct rec r = {0};
    cr_assert_eq(evloop_io_add(el, -1, EV_READ, on_rec, &r), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(evloop_io_add(el, sv[0], EV_EDGE, on_rec, &r), -1, "no direction");
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(evloop_io_add(el, sv[0], EV_READ | EV_HUP, on_rec, &r), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(evloop_io_add(el, sv[0], EV_READ, NULL, &r), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(evloop_io_mod(el, sv[0], EV_READ), -1);
    cr_assert_eq(errno, ENOENT);
    cr_assert_eq(evloop_io_del(el, sv[0]), -1);
    cr_assert_eq(errno, ENOENT);
    cr_assert_eq(evloop_io_add(el, sv[0], EV_READ, on_rec, &r), 0);
    cr_assert_eq(evloop_io_add(el, sv[0], EV_READ, on_rec, &r), -1);
    cr_assert_eq(errno, EEXIST);
    cr_assert_eq(evloop_io_mod(el, sv[0], 0), -1);
    cr_assert_eq(errno, EINVAL);
    int f = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    cr_assert_geq(f, 0);
    cr_assert_eq(evloop_io_add(el, f, EV_READ, on_rec, &r), -1, "epoll refuses regular files");
    cr_assert_eq(errno, EPERM);
    cr_assert_eq(evloop_io_mask(el, f), 0);
    close(f);
    struct ev_timer t;
    memset(&t, 0, sizeof t);
    cr_assert_eq(evloop_timer_start(el, &t, 1, 0), -1, "not initialised");
    cr_assert_eq(errno, EINVAL);
    ev_timer_init(&t, stopper, NULL);
    cr_assert_eq(evloop_timer_start(el, &t, -1, 0), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(evloop_timer_start(el, &t, 1, -5), -1);
    cr_assert_eq(errno, EINVAL);
    /* close before del: del still forgets it */
    close(sv[0]);
    cr_assert_eq(evloop_io_del(el, sv[0]), 0);
    cr_assert_eq(evloop_io_mask(el, sv[0]), 0);
    close(sv[1]);
    evloop_free(el);
}

Test(evloop, no_fd_leak_after_free, .timeout = 120)
{
    int before = fd_count();
    cr_assert_geq(before, 0);
    for (int round = 0; round < 3; round++) {
        struct evloop *el = evloop_new();
        cr_assert_not_null(el);
        int sv[2];
        nb_socketpair(sv);
        struct rec r = {0};
        cr_assert_eq(evloop_io_add(el, sv[0], EV_READ | EV_EDGE, on_rec, &r), 0);
        struct tctx c;
        tinit(&c, 1, NULL);
        cr_assert_eq(evloop_timer_start(el, &c.t, 100000, 0), 0); /* left active */
        cr_assert_eq(fd_count(), before + 3, "epoll fd + the pair");
        evloop_free(el); /* the pair is ours: the loop does not close it */
        cr_assert(fd_is_open(sv[0]));
        close(sv[0]);
        close(sv[1]);
        cr_assert_eq(fd_count(), before, "round %d", round);
    }
    evloop_free(NULL);
}

/* The events word the kernel keeps for target fd in epoll instance epfd, from
 * /proc/self/fdinfo/<epfd> ("tfd: <fd> events: <hex> ..."); -1 when absent. */
static long epoll_events_of(int epfd, int fd)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", epfd);
    FILE *f = fopen(path, "re");
    cr_assert_not_null(f);
    long ev = -1;
    while (fgets(line, sizeof line, f)) {
        int tfd;
        unsigned e;
        if (sscanf(line, "tfd: %d events: %x", &tfd, &e) == 2 && tfd == fd)
            ev = (long)e;
    }
    fclose(f);
    return ev;
}

Test(evloop, exclusive_flag_at_add_only, .timeout = 120)
{
    struct evloop *el = evloop_new();
    cr_assert_not_null(el);
    uint16_t port;
    int lfd = tcp_listen_loopback(16, SOCK_NONBLOCK | SOCK_CLOEXEC, &port);
    cr_assert_geq(lfd, 0);
    struct rec r = {0};
    cr_assert_eq(evloop_io_add(el, lfd, EV_READ | EV_EXCLUSIVE, on_rec, &r), 0);
    cr_assert_eq(evloop_io_mask(el, lfd), EV_READ | EV_EXCLUSIVE);
    long ev = epoll_events_of(evloop_backend_fd(el), lfd);
    cr_assert_geq(ev, 0);
    cr_assert(ev & EPOLLEXCLUSIVE, "the kernel holds EPOLLEXCLUSIVE: %lx", ev);
    cr_assert(ev & EPOLLIN);
    cr_assert_eq(ev & EPOLLRDHUP, 0, "EPOLLRDHUP is not allowed with it");
    /* It delivers like any registration: a connection makes the listener readable. */
    cr_assert_eq(evloop_run_once(el, 0), 0);
    int c = tcp_connect("127.0.0.1", port, SOCK_CLOEXEC);
    cr_assert_geq(c, 0);
    for (int i = 0; i < 100 && r.calls == 0; i++)
        cr_assert_geq(evloop_run_once(el, 100), 0);
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(r.last_events, EV_READ);
    /* MOD is refused both ways, and the registration is unchanged. */
    cr_assert_eq(evloop_io_mod(el, lfd, EV_READ), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(evloop_io_mod(el, lfd, EV_READ | EV_EXCLUSIVE), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(evloop_io_mask(el, lfd), EV_READ | EV_EXCLUSIVE);
    int sv[2];
    nb_socketpair(sv);
    cr_assert_eq(evloop_io_add(el, sv[0], EV_READ, on_rec, &r), 0);
    cr_assert_eq(evloop_io_mod(el, sv[0], EV_READ | EV_EXCLUSIVE), -1, "not added by MOD");
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(evloop_io_mask(el, sv[0]), EV_READ);
    /* del + add is the way to change it. */
    cr_assert_eq(evloop_io_del(el, lfd), 0);
    cr_assert_eq(epoll_events_of(evloop_backend_fd(el), lfd), -1);
    cr_assert_eq(evloop_io_add(el, lfd, EV_READ, on_rec, &r), 0);
    cr_assert_eq(epoll_events_of(evloop_backend_fd(el), lfd) & EPOLLEXCLUSIVE, 0);
    /* An epoll instance cannot be an exclusive target (epoll_ctl(2): EINVAL). */
    struct evloop *inner = evloop_new();
    cr_assert_not_null(inner);
    cr_assert_eq(evloop_io_add(el, evloop_backend_fd(inner), EV_READ | EV_EXCLUSIVE, on_rec, &r), -1);
    cr_assert_eq(errno, EINVAL);
    evloop_free(inner);
    evloop_io_del(el, lfd);
    evloop_io_del(el, sv[0]);
    close(c);
    close(lfd);
    close(sv[0]);
    close(sv[1]);
    evloop_free(el);
}

/* evloop_io_forget + close of the last reference: the kernel drops the registration by
 * itself (no EPOLL_CTL_DEL), the number can be registered again at once, and with a
 * second reference alive (a dup) the old registration's events are dropped, never
 * delivered. */
Test(evloop, forget_then_close_without_epoll_ctl_del, .timeout = 120)
{
    struct evloop *el = evloop_new();
    cr_assert_not_null(el);
    int sv[2];
    nb_socketpair(sv);
    struct rec r = {0};
    cr_assert_eq(evloop_io_add(el, sv[0], EV_READ, on_rec, &r), 0);
    cr_assert_eq(evloop_io_forget(el, sv[0]), 0);
    cr_assert_eq(evloop_io_mask(el, sv[0]), 0);
    cr_assert_eq(evloop_io_forget(el, sv[0]), -1, "not registered any more");
    cr_assert_eq(errno, ENOENT);
    int num = sv[0];
    close(sv[0]); /* the last reference: the kernel forgets the registration */
    /* The same number, a new socket: EPOLL_CTL_ADD succeeds (no EEXIST). */
    int sv2[2];
    nb_socketpair(sv2);
    if (sv2[0] != num) { /* make the number match, whatever the allocator did */
        cr_assert_eq(dup3(sv2[0], num, O_CLOEXEC), num);
        close(sv2[0]);
        sv2[0] = num;
    }
    struct rec r2 = {.chunk = 64};
    cr_assert_eq(evloop_io_add(el, num, EV_READ, on_rec, &r2), 0);
    cr_assert_eq(write(sv2[1], "x", 1), 1);
    cr_assert_eq(evloop_run_once(el, 5000), 1);
    cr_assert_eq(r2.calls, 1);
    cr_assert_eq(r2.bytes, 1);
    cr_assert_eq(r.calls, 0);

    /* With a second reference: the registration outlives close; events are dropped. */
    struct evloop_stats st0, st1;
    cr_assert_eq(evloop_io_forget(el, num), 0);
    int keep = dup(num);
    cr_assert_geq(keep, 0);
    close(num);
    evloop_get_stats(el, &st0);
    cr_assert_eq(write(sv2[1], "z", 1), 1);
    cr_assert_eq(evloop_run_once(el, 200), 0, "nothing delivered for a forgotten fd");
    evloop_get_stats(el, &st1);
    cr_assert_geq(st1.dropped, st0.dropped + 1, "the stale registration's event was dropped");
    cr_assert_eq(r2.calls, 1);
    close(keep);
    close(sv[1]);
    close(sv2[1]);
    evloop_free(el);
}
