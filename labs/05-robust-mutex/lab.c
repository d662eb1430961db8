/* lab.c — lab 05: shared memory and robust mutexes.
 *
 * Question: what happens to a mutex in shared memory when the process holding it is
 * killed, and how does a robust mutex let the survivors recover?
 *
 * Scenarios (-s, default all; each prints key=value lines under its own prefix):
 *   count      N processes x M increments: exact under a process-shared mutex,
 *              lost updates (printed, not asserted) without one.
 *   plain      holder SIGKILLed holding a plain process-shared mutex: the survivor's
 *              bounded lock attempt gets ETIMEDOUT, and would wait forever.
 *   robust     same with a robust mutex: EOWNERDEAD, the survivor sees the half-done
 *              transfer, repairs it, calls pthread_mutex_consistent, all is well.
 *   norecover  robust, but the survivor unlocks without consistent: ENOTRECOVERABLE
 *              for every later locker, in any process.
 * Options: -n procs (4), -m increments per process (1000000), -t plain wait ms (300).
 * Exit 0 when every scenario run showed what it claims.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "kv.h"
#include "lib/l05.h"
#include "pmutex.h"
#include "pshm.h"

struct ctx {
    struct l05_shared *s;
    int procs;
    long iters;
    long wait_ms;
};

static const char *rcname(int rc)
{
    return rc == 0 ? "0" : errno_name(rc);
}

static double now_ms(void)
{
    struct timespec t;
    if (clock_gettime(CLOCK_MONOTONIC, &t) < 0)
        die("clock_gettime");
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* A fresh mutex and a consistent record for each scenario. */
static void reset(struct ctx *c, int flags)
{
    memset(c->s, 0, sizeof *c->s);
    if (pmutex_init(&c->s->m, flags) != 0)
        die("pmutex_init");
    c->s->rec = (struct l05_record){.a = L05_TOTAL, .b = 0};
}

static void print_record(const char *prefix, const char *when, const struct l05_record *r)
{
    char key[64];
    snprintf(key, sizeof key, "%s.record_%s", prefix, when);
    kv_print(key, "a:%ld b:%ld sum:%ld", r->a, r->b, r->a + r->b);
    snprintf(key, sizeof key, "%s.invariant_%s", prefix, when);
    kv_print(key, "%s", r->a + r->b == L05_TOTAL ? "holds" : "broken");
}

static int scenario_count(struct ctx *c)
{
    printf("# count: %d processes x %ld increments of one counter in shared memory\n",
           c->procs, c->iters);
    reset(c, 0);
    long want = (long)c->procs * c->iters;
    long locked = l05_count(c->s, c->procs, c->iters, 1);
    long bare = l05_count(c->s, c->procs, c->iters, 0);
    if (locked < 0 || bare < 0)
        die("l05_count");
    kv_print("count.expected", "%ld", want);
    kv_print("count.locked", "%ld", locked);
    kv_print("count.unlocked", "%ld", bare);
    kv_print("count.lost_updates", "%ld", want - bare);
    printf("Under the mutex no increment is lost; without it, two processes often load\n"
           "the same value and both store value+1 (how many are lost varies per run).\n");
    return locked == want;
}

static int scenario_plain(struct ctx *c)
{
    printf("# plain: SIGKILL the holder of a plain process-shared mutex\n");
    reset(c, 0);
    struct l05_holder h;
    if (l05_holder_start(c->s, &h) < 0)
        die("holder_start");
    int owner_is_holder = l05_owner_field(&c->s->m) == h.pid;
    kv_print("plain.word_while_held", "0x%x", l05_lock_word(&c->s->m));
    kv_print("plain.owner_is_holder", "%d", owner_is_holder);
    int sig = l05_holder_kill(&h);
    if (sig < 0)
        die("holder_kill");
    kv_print("plain.holder_signal", "%s", sig ? sigabbrev_np(sig) : "none");
    /* Nothing told anybody: the word still says "locked", __owner names a dead TID. */
    kv_print("plain.word_after_death", "0x%x", l05_lock_word(&c->s->m));
    double t0 = now_ms();
    int rc = pmutex_timedlock(&c->s->m, c->wait_ms);
    kv_print("plain.timedlock", "%s", rcname(rc));
    kv_print("plain.waited_ms", "%.0f", now_ms() - t0);
    printf("The survivor can only give up: a plain mutex of a dead owner stays locked.\n");
    return owner_is_holder && sig == SIGKILL && rc == ETIMEDOUT;
}

/* Kills a holder of a robust mutex and prints what the futex word says before and
 * after. Returns 1 when the word showed the owner's TID and then FUTEX_OWNER_DIED. */
static int kill_robust_holder(struct ctx *c, const char *p)
{
    char key[64];
    struct l05_holder h;
    if (l05_holder_start(c->s, &h) < 0)
        die("holder_start");
    unsigned held = l05_lock_word(&c->s->m);
    long list_len = l05_robust_list_len(h.pid);
    int probe = pmutex_timedlock(&c->s->m, 0);
    int tid_ok = (int)(held & FUTEX_TID_MASK) == h.pid;
    snprintf(key, sizeof key, "%s.word_tid_is_holder", p);
    kv_print(key, "%d", tid_ok);
    snprintf(key, sizeof key, "%s.holder_robust_list_len", p);
    kv_print(key, "%ld", list_len);
    snprintf(key, sizeof key, "%s.probe_while_held", p);
    kv_print(key, "%s", rcname(probe));
    int sig = l05_holder_kill(&h);
    if (sig < 0)
        die("holder_kill");
    unsigned dead = l05_lock_word(&c->s->m);
    snprintf(key, sizeof key, "%s.holder_signal", p);
    kv_print(key, "%s", sig ? sigabbrev_np(sig) : "none");
    snprintf(key, sizeof key, "%s.word_after_death", p);
    kv_print(key, "0x%x", dead);
    snprintf(key, sizeof key, "%s.owner_died_bit", p);
    kv_print(key, "%d", (dead & FUTEX_OWNER_DIED) != 0);
    return tid_ok && probe == ETIMEDOUT && sig == SIGKILL && (dead & FUTEX_OWNER_DIED) &&
           (dead & FUTEX_TID_MASK) == 0;
}

static int scenario_robust(struct ctx *c)
{
    printf("# robust: SIGKILL the holder of a robust process-shared mutex, mid-transfer\n");
    reset(c, PMUTEX_ROBUST);
    int ok = kill_robust_holder(c, "robust");
    int rc = pmutex_timedlock(&c->s->m, 5000);
    kv_print("robust.lock", "%s", rcname(rc));
    if (rc != EOWNERDEAD)
        return 0;
    /* We hold the lock and know its owner died: the data may be half-updated. */
    struct l05_record before = c->s->rec;
    print_record("robust", "before", &before);
    c->s->rec.b = L05_TOTAL - c->s->rec.a; /* repair: complete the transfer */
    print_record("robust", "after", &c->s->rec);
    int cons = pmutex_consistent(&c->s->m);
    kv_print("robust.consistent", "%s", rcname(cons));
    int un = pmutex_unlock(&c->s->m);
    kv_print("robust.unlock", "%s", rcname(un));
    int next = l05_lock_elsewhere(c->s, 5000);
    kv_print("robust.next_locker", "%s", next < 0 ? "error" : rcname(next));
    printf("The kernel marked the word OWNER_DIED, the survivor got the lock with\n"
           "EOWNERDEAD, repaired the record, and the mutex works normally again.\n");
    return ok && before.a + before.b != L05_TOTAL && c->s->rec.a + c->s->rec.b == L05_TOTAL &&
           cons == 0 && un == 0 && next == 0;
}

static int scenario_norecover(struct ctx *c)
{
    printf("# norecover: EOWNERDEAD, then unlock WITHOUT pthread_mutex_consistent\n");
    reset(c, PMUTEX_ROBUST);
    int ok = kill_robust_holder(c, "norecover");
    int first = pmutex_timedlock(&c->s->m, 5000);
    kv_print("norecover.lock", "%s", rcname(first));
    if (first != EOWNERDEAD)
        return 0;
    int un = pmutex_unlock(&c->s->m);
    kv_print("norecover.unlock", "%s", rcname(un));
    int again = pmutex_lock(&c->s->m);
    kv_print("norecover.relock", "%s", rcname(again));
    int other = l05_lock_elsewhere(c->s, 5000);
    kv_print("norecover.other_process", "%s", other < 0 ? "error" : rcname(other));
    printf("Unlocking an inconsistent robust mutex poisons it for every process.\n");
    return ok && un == 0 && again == ENOTRECOVERABLE && other == ENOTRECOVERABLE;
}

int main(int argc, char **argv)
{
    struct ctx c = {.procs = 4, .iters = 1000000, .wait_ms = 300};
    const char *which = "all";
    int opt;
    while ((opt = getopt(argc, argv, "s:n:m:t:")) != -1) {
        switch (opt) {
        case 's': which = optarg; break;
        case 'n': c.procs = atoi(optarg); break;
        case 'm': c.iters = atol(optarg); break;
        case 't': c.wait_ms = atol(optarg); break;
        default:
            fprintf(stderr, "usage: %s [-s count|plain|robust|norecover|all] [-n procs] "
                            "[-m iters] [-t ms]\n", argv[0]);
            return 2;
        }
    }
    if (c.procs < 1 || c.procs > 64 || c.iters < 1 || c.wait_ms < 0)
        die_msg("bad -n, -m or -t");
    c.s = pshm_alloc(sizeof *c.s);
    if (!c.s)
        die("pshm_alloc");
    static const struct {
        const char *name;
        int (*run)(struct ctx *);
    } sc[] = {{"count", scenario_count},
              {"plain", scenario_plain},
              {"robust", scenario_robust},
              {"norecover", scenario_norecover}};
    int ran = 0, ok = 1;
    for (size_t i = 0; i < sizeof sc / sizeof sc[0]; i++) {
        if (strcmp(which, "all") != 0 && strcmp(which, sc[i].name) != 0)
            continue;
        int good = sc[i].run(&c);
        char key[32];
        snprintf(key, sizeof key, "%s.ok", sc[i].name);
        kv_print(key, "%d", good);
        ok &= good;
        ran++;
    }
    if (pshm_free(c.s, sizeof *c.s) < 0)
        die("pshm_free");
    if (!ran)
        die_msg("unknown scenario '%s'", which);
    kv_print("lab.ok", "%d", ok);
    return ok ? 0 : 1;
}
