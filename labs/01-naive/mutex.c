/* mutex.c — the seed's mutex flaw, shown with the futex calls glibc really makes.
 *
 * The seed put a pthread_mutex_t, initialised with default attributes
 * (PTHREAD_PROCESS_PRIVATE), in MAP_SHARED memory and used it from several processes.
 * POSIX leaves that undefined. What glibc does: the lock WORD is in shared memory, so
 * the atomic compare-and-swap still excludes (trylock sees EBUSY), but a waiter sleeps
 * with FUTEX_PRIVATE_FLAG, and the kernel keys a private futex by (mm, address): the
 * owner's unlock wakes waiters of ITS OWN address space only. The waiter in another
 * process sleeps on: a lost wake-up.
 *
 * One experiment: A (this process) initialises the mutex and locks it; B (a child)
 * tries pthread_mutex_trylock (EBUSY expected) and then blocks in
 * pthread_mutex_timedlock (or pthread_mutex_lock); A waits — bounded — until
 * /proc/B/stat says 'S' and /proc/B/syscall says B is in SYS_futex on this mutex's
 * word, records the futex op from that file, then unlocks and looks at B again.
 *   private  default mutex, timedlock: B returns ETIMEDOUT though the word is 0.
 *   pshared  PTHREAD_PROCESS_SHARED, timedlock: the unlock wakes B, which acquires.
 *   lock     default mutex, the seed's pthread_mutex_lock (no timeout): B is still
 *            asleep in the futex after the unlock and would sleep for ever; A ends it
 *            with SIGKILL (its own child, by pid) and reaps it.
 * An attempt in which A did not see B asleep, or (timedlock) whose unlock had not
 * returned at least MARGIN_MS before B's deadline, proves nothing and is repeated
 * (at most 3 attempts, reported as <name>.attempts): a wake-up that comes too close
 * to the deadline could lose the race against B's own timeout, and a lost wake-up
 * would be reported where there was none.
 *
 * Usage: mutex [-m private|pshared|lock|all] [-t timeout_ms]   (default all, 1000;
 *        timeout_ms must exceed MARGIN_MS, 100)
 * Prints <name>.<key>=value lines, see notes/01-naive.md. Exit 0 when every
 * experiment ran (whatever it showed), 1 on a setup error.
 */
#include <gnu/libc-version.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "kv.h"
#include "lib/naive.h"

#ifndef FUTEX_PRIVATE_FLAG
#define FUTEX_PRIVATE_FLAG 128 /* linux/futex.h */
#endif

#define MAX_ATTEMPTS 3
#define MARGIN_MS 100 /* the unlock must be over this long before B's deadline */

struct area {
    pthread_mutex_t m;
    struct timespec deadline; /* CLOCK_REALTIME, B's pthread_mutex_timedlock bound */
    int use_lock;             /* 1: B uses plain pthread_mutex_lock, as the seed did */
    atomic_int trylock_rc;
    atomic_int rc;         /* B's lock call result, valid once returned == 1 */
    atomic_int word_after; /* the lock word as B saw it when its call returned */
    atomic_int returned;
};

struct outcome {
    int seen;            /* A saw B asleep in SYS_futex on the lock word */
    struct proc_sleep s; /* ... with these syscall arguments */
    int word_before;     /* the lock word just before A's unlock */
    int before_deadline; /* A's unlock had RETURNED >= MARGIN_MS before B's deadline */
    int asleep_after;    /* B still asleep in the futex right after A's unlock */
    int word_after_a;    /* the lock word right after A's unlock */
    int killed;          /* A had to SIGKILL B (lock experiment) */
};

struct ctx {
    int timeout_ms;
};

__attribute__((noreturn)) static void waiter_main(struct area *a)
{
    int t = pthread_mutex_trylock(&a->m);
    atomic_store(&a->trylock_rc, t);
    if (t == 0 && (t = pthread_mutex_unlock(&a->m)) != 0) {
        errno = t;
        die("pthread_mutex_unlock after trylock (B)");
    }
    int rc = a->use_lock ? pthread_mutex_lock(&a->m) : pthread_mutex_timedlock(&a->m, &a->deadline);
    atomic_store(&a->word_after, lock_word(&a->m));
    atomic_store(&a->rc, rc);
    atomic_store(&a->returned, 1);
    if (rc == 0 && (rc = pthread_mutex_unlock(&a->m)) != 0) {
        errno = rc;
        die("pthread_mutex_unlock (B)"); /* exit status 1: A checks it */
    }
    _exit(0);
}

/* 1 when CLOCK_REALTIME is still at least margin_ms before t. */
static int realtime_before(const struct timespec *t, int margin_ms)
{
    struct timespec now;
    if (clock_gettime(CLOCK_REALTIME, &now) < 0)
        die("clock_gettime(CLOCK_REALTIME)");
    long long now_ns = (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
    long long t_ns = (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
    return now_ns + (long long)margin_ms * 1000000LL <= t_ns;
}

/* One attempt; returns 1 when it is conclusive (B seen asleep, and for timedlock the
 * unlock had returned at least MARGIN_MS before B's deadline). */
static int attempt(const struct ctx *c, int pshared, int use_lock, struct area *a, struct outcome *o)
{
    memset(a, 0, sizeof *a);
    memset(o, 0, sizeof *o);
    naive_mutex_init(&a->m, pshared);
    a->use_lock = use_lock;
    atomic_store(&a->trylock_rc, -1);
    atomic_store(&a->rc, -1);
    int rc = pthread_mutex_lock(&a->m); /* uncontended: A holds the lock */
    if (rc != 0) {
        errno = rc;
        die("pthread_mutex_lock (A)");
    }
    if (clock_gettime(CLOCK_REALTIME, &a->deadline) < 0)
        die("clock_gettime(CLOCK_REALTIME)");
    a->deadline.tv_sec += c->timeout_ms / 1000;
    a->deadline.tv_nsec += (long)(c->timeout_ms % 1000) * 1000000L;
    if (a->deadline.tv_nsec >= 1000000000L) {
        a->deadline.tv_sec++;
        a->deadline.tv_nsec -= 1000000000L;
    }
    pid_t b = fork();
    if (b < 0)
        die("fork");
    if (b == 0)
        waiter_main(a);

    const int *word = &a->m.__data.__lock;
    /* Bounded: for timedlock, until MARGIN_MS before B's own deadline (later would
     * be inconclusive anyway); 5 s for the plain lock. */
    double end = mono_s() + (use_lock ? 5.0 : (c->timeout_ms - MARGIN_MS) / 1000.0);
    while (!atomic_load(&a->returned) && mono_s() < end) {
        if ((o->seen = proc_asleep_in_futex(b, word, &o->s)))
            break;
        sleep_ms(1);
    }
    o->word_before = lock_word(&a->m);
    if ((rc = pthread_mutex_unlock(&a->m)) != 0) {
        errno = rc;
        die("pthread_mutex_unlock (A)");
    }
    /* Sampled AFTER the unlock has returned: had B's deadline passed during the
     * unlock, B's ETIMEDOUT would be its own timeout, not a lost wake-up. */
    o->before_deadline = realtime_before(&a->deadline, MARGIN_MS);
    struct proc_sleep after;
    o->asleep_after = proc_asleep_in_futex(b, word, &after);
    o->word_after_a = lock_word(&a->m);
    if (use_lock && !atomic_load(&a->returned)) {
        /* The seed's waiter: nothing will ever wake it. End our own child. */
        if (kill(b, SIGKILL) < 0)
            die("kill %d", (int)b);
        o->killed = 1;
    }
    int status;
    if (waitpid(b, &status, 0) != b)
        die("waitpid %d", (int)b);
    if (!o->killed && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        die_msg("waiter B failed (status 0x%x)", status);
    return o->seen && (use_lock || o->before_deadline);
}

static void experiment(const struct ctx *c, const char *name, int pshared, int use_lock)
{
    struct area *a = shared_anon(sizeof *a);
    struct outcome o;
    int n = 0;
    while (n < MAX_ATTEMPTS && !attempt(c, pshared, use_lock, a, &o))
        n++;
    char k[64];
#define KV(key, ...) (snprintf(k, sizeof k, "%s.%s", name, key), kv_print(k, __VA_ARGS__))
    KV("attempts", "%d", n < MAX_ATTEMPTS ? n + 1 : MAX_ATTEMPTS);
    KV("pshared", "%d", pshared);
    KV("call", "%s", use_lock ? "pthread_mutex_lock" : "pthread_mutex_timedlock");
    int t = atomic_load(&a->trylock_rc);
    KV("trylock_while_held", "%s", t == 0 ? "acquired" : errno_name(t));
    KV("waiter_seen_asleep", "%d", o.seen);
    KV("waiter_state", "%c", o.s.state ? o.s.state : '?');
    KV("waiter_syscall", "%s", !o.s.in_syscall ? "none" : o.s.nr == SYS_futex ? "futex" : "other");
    KV("futex_op", "0x%lx", o.s.arg[1]);
    KV("futex_private_flag", "%d", o.seen && (o.s.arg[1] & FUTEX_PRIVATE_FLAG) != 0);
    KV("futex_val", "%lu", o.s.arg[2]);
    KV("lock_word_before_unlock", "%d", o.word_before);
    if (!use_lock)
        KV("unlocked_before_deadline", "%d", o.before_deadline);
    KV("asleep_after_unlock", "%d", o.asleep_after);
    if (o.killed) {
        KV("waiter", "stuck");
        KV("lock_word_after_unlock", "%d", o.word_after_a);
        KV("ended_by", "SIGKILL");
    } else {
        int rc = atomic_load(&a->rc);
        KV("waiter", "%s", rc == 0 ? "acquired" : rc < 0 ? "none" : errno_name(rc));
        /* As B saw it when its call returned: 0 = nobody holds it; 2 = B took it. */
        KV("lock_word_after_unlock", "%d", atomic_load(&a->word_after));
    }
#undef KV
    if (munmap(a, sizeof *a) < 0)
        die("munmap");
}

int main(int argc, char **argv)
{
    struct ctx c = {.timeout_ms = 1000};
    const char *which = "all";
    int opt;
    while ((opt = getopt(argc, argv, "m:t:")) != -1) {
        if (opt == 'm')
            which = optarg;
        else if (opt == 't' && atoi(optarg) > MARGIN_MS)
            c.timeout_ms = atoi(optarg);
        else
            die_msg("usage: mutex [-m private|pshared|lock|all] [-t timeout_ms]");
    }
    int all = strcmp(which, "all") == 0;
    if (!all && strcmp(which, "private") && strcmp(which, "pshared") && strcmp(which, "lock"))
        die_msg("usage: mutex [-m private|pshared|lock|all] [-t timeout_ms]");
    kv_print("glibc", "%s", gnu_get_libc_version());
    kv_print("sys_futex", "%d", SYS_futex);
    if (all || !strcmp(which, "private"))
        experiment(&c, "private", 0, 0);
    if (all || !strcmp(which, "pshared"))
        experiment(&c, "pshared", 1, 0);
    if (all || !strcmp(which, "lock"))
        experiment(&c, "lock", 0, 1);
    return 0;
}
