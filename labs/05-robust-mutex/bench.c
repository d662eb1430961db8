/* bench.c — lab 05 benchmark: what one "lock + increment" costs across processes.
 *
 * Usage: bench -k MECH -p PROCS [-d ms (300)] [-r repeats (3)]
 * MECH is one of:
 *   mutex    process-shared pthread mutex          robust  the same, PTHREAD_MUTEX_ROBUST
 *   fcntl    fcntl F_SETLKW byte lock (per process) ofd     fcntl F_OFD_SETLKW (per open file)
 *   flock    flock(LOCK_EX)                        sem     POSIX semaphore, sem_init pshared=1
 *   atomic   C11 atomic_fetch_add on one counter   padded  one alignas(64) slot per process
 *   packed   one slot per process, all slots in one cache line (false sharing)
 * PROCS processes (1..16) start together, each repeats the operation for -d ms, and
 * the run's cost is (last end - first start) / (operations by all): nanoseconds of
 * wall time per operation, so lower is better. Each run also checks the result (the
 * shared counter, or the sum of the slots, equals the operations counted) and the
 * program exits 1 when any check fails. Prints the median run of -r as key=value:
 *   bench.mech, bench.procs, bench.ns_per_op, bench.ops, bench.check (ok|FAIL).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <semaphore.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "kv.h"
#include "pmutex.h"
#include "pshm.h"

enum { MAXP = 16, BATCH = 64, MAXR = 15 };

enum mech { M_MUTEX, M_ROBUST, M_FCNTL, M_OFD, M_FLOCK, M_SEM, M_ATOMIC, M_PADDED, M_PACKED };
static const char *const mech_names[] = {"mutex", "robust", "fcntl", "ofd",   "flock",
                                         "sem",   "atomic", "padded", "packed"};

/* Everything the processes share. Each hot item has its own 64-byte cache line. */
struct shm {
    alignas(64) pthread_mutex_t m;
    alignas(64) sem_t sem;
    alignas(64) long counter;            /* under a lock (plain) */
    alignas(64) atomic_long acounter;    /* M_ATOMIC */
    alignas(64) atomic_int started;      /* start line */
    atomic_int stop;                     /* set by the parent after -d ms */
    struct {
        alignas(64) atomic_long v;       /* M_PADDED: one line per process */
    } slot[MAXP];
    alignas(64) atomic_long packed[8];   /* M_PACKED: 8 slots share one line */
    struct {
        alignas(64) long ops;
        long t0, t1;                     /* CLOCK_MONOTONIC ns */
    } res[MAXP];
};

struct ctx {
    struct shm *s;
    enum mech mech;
    int procs;
    long dur_ms;
    int lockfd; /* a memfd, for the three file locks */
};

static long now_ns(void)
{
    struct timespec t;
    if (clock_gettime(CLOCK_MONOTONIC, &t) < 0)
        die("clock_gettime");
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

/* A new open file description of the lock file: flock and OFD locks belong to the
 * open file description, which fork() shares, so each process needs its own. */
static int own_description(int fd)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int r = open(path, O_RDWR | O_CLOEXEC);
    if (r < 0)
        die("open %s", path);
    return r;
}

static void setlk(int fd, int cmd, short type)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    while (fcntl(fd, cmd, &fl) < 0)
        if (errno != EINTR)
            die("fcntl lock");
}

static int stopped(struct shm *s)
{
    return atomic_load_explicit(&s->stop, memory_order_relaxed);
}

/* Repeats LOCK; counter++; UNLOCK in batches until the parent says stop. */
#define LOOP(LOCK, BODY, UNLOCK)                                                           \
    do {                                                                                   \
        while (!stopped(s)) {                                                              \
            for (int k = 0; k < BATCH; k++) {                                              \
                LOCK;                                                                      \
                BODY;                                                                      \
                UNLOCK;                                                                    \
            }                                                                              \
            ops += BATCH;                                                                  \
        }                                                                                  \
    } while (0)

static void child(struct ctx *c, int id)
{
    struct shm *s = c->s;
    int fd = c->mech == M_FCNTL || c->mech == M_OFD || c->mech == M_FLOCK
                 ? own_description(c->lockfd)
                 : -1;
    long ops = 0;
    atomic_fetch_add(&s->started, 1);
    while (atomic_load(&s->started) < c->procs) /* the parent bounds this: see run() */
        sched_yield();
    long t0 = now_ns();
    switch (c->mech) {
    case M_MUTEX:
    case M_ROBUST:
        LOOP(if (pmutex_lock(&s->m) != 0) _exit(3), s->counter++,
             if (pmutex_unlock(&s->m) != 0) _exit(4));
        break;
    case M_FCNTL:
        LOOP(setlk(fd, F_SETLKW, F_WRLCK), s->counter++, setlk(fd, F_SETLK, F_UNLCK));
        break;
    case M_OFD:
        LOOP(setlk(fd, F_OFD_SETLKW, F_WRLCK), s->counter++, setlk(fd, F_OFD_SETLK, F_UNLCK));
        break;
    case M_FLOCK:
        LOOP(if (flock(fd, LOCK_EX) < 0) die("flock"), s->counter++,
             if (flock(fd, LOCK_UN) < 0) die("flock"));
        break;
    case M_SEM:
        LOOP(while (sem_wait(&s->sem) < 0) if (errno != EINTR) die("sem_wait"), s->counter++,
             if (sem_post(&s->sem) < 0) die("sem_post"));
        break;
    case M_ATOMIC:
        LOOP((void)0, atomic_fetch_add_explicit(&s->acounter, 1, memory_order_relaxed), (void)0);
        break;
    case M_PADDED:
    case M_PACKED: {
        /* Only this process writes its slot; a relaxed load+store is a plain mov, and
         * being atomic lets a reader sum the slots at any time without a data race. */
        atomic_long *v = c->mech == M_PADDED ? &s->slot[id].v : &s->packed[id % 8];
        LOOP((void)0,
             atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + 1,
                                   memory_order_relaxed),
             (void)0);
        break;
    }
    }
    s->res[id].t1 = now_ns();
    s->res[id].t0 = t0;
    s->res[id].ops = ops;
    _exit(0);
}

/* One timed run. Returns ns per operation; *ops_out the operations; *check_ok. */
static double run(struct ctx *c, long *ops_out, int *check_ok)
{
    struct shm *s = c->s;
    memset(s, 0, sizeof *s);
    if (pmutex_init(&s->m, c->mech == M_ROBUST ? PMUTEX_ROBUST : 0) != 0)
        die("pmutex_init");
    if (sem_init(&s->sem, 1, 1) < 0)
        die("sem_init");
    pid_t pids[MAXP];
    for (int i = 0; i < c->procs; i++) {
        pids[i] = fork();
        if (pids[i] < 0)
            die("fork");
        if (pids[i] == 0)
            child(c, i);
    }
    /* Bounded wait for the start line (5 s), then let them run for dur_ms. */
    for (int i = 0; i < 5000 && atomic_load(&s->started) < c->procs; i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL); /* EINTR: just polls sooner */
    if (atomic_load(&s->started) < c->procs)
        die_msg("children did not start");
    struct timespec left = {c->dur_ms / 1000, (c->dur_ms % 1000) * 1000000};
    while (nanosleep(&left, &left) < 0) /* resume after a signal, keep the duration */
        if (errno != EINTR)
            die("nanosleep");
    atomic_store(&s->stop, 1);
    int ok = 1;
    for (int i = 0; i < c->procs; i++) {
        int st;
        if (waitpid(pids[i], &st, 0) < 0)
            die("waitpid");
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            ok = 0;
    }
    long ops = 0, t0 = s->res[0].t0, t1 = s->res[0].t1, sum = 0;
    for (int i = 0; i < c->procs; i++) {
        ops += s->res[i].ops;
        t0 = s->res[i].t0 < t0 ? s->res[i].t0 : t0;
        t1 = s->res[i].t1 > t1 ? s->res[i].t1 : t1;
    }
    switch (c->mech) {
    case M_ATOMIC: sum = atomic_load(&s->acounter); break;
    case M_PADDED:
        for (int i = 0; i < c->procs; i++)
            sum += atomic_load(&s->slot[i].v);
        break;
    case M_PACKED:
        for (int i = 0; i < 8; i++)
            sum += atomic_load(&s->packed[i]);
        break;
    default: sum = s->counter; break;
    }
    if (sem_destroy(&s->sem) < 0 || pmutex_destroy(&s->m) != 0)
        die("destroying the run's semaphore or mutex");
    *check_ok = ok && ops > 0 && sum == ops;
    *ops_out = ops;
    return (double)(t1 - t0) / (double)ops;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    struct ctx c = {.mech = M_MUTEX, .procs = 1, .dur_ms = 300, .lockfd = -1};
    int reps = 3, opt, found = 0;
    while ((opt = getopt(argc, argv, "k:p:d:r:")) != -1) {
        switch (opt) {
        case 'k':
            for (size_t i = 0; i < sizeof mech_names / sizeof *mech_names; i++)
                if (strcmp(optarg, mech_names[i]) == 0)
                    c.mech = (enum mech)i, found = 1;
            if (!found)
                die_msg("unknown mechanism '%s'", optarg);
            break;
        case 'p': c.procs = atoi(optarg); break;
        case 'd': c.dur_ms = atol(optarg); break;
        case 'r': reps = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: %s -k mechanism -p procs [-d ms] [-r repeats]\n", argv[0]);
            return 2;
        }
    }
    if (c.procs < 1 || c.procs > MAXP || c.dur_ms < 1 || reps < 1 || reps > MAXR)
        die_msg("bad -p, -d or -r");
    c.s = pshm_alloc(sizeof *c.s);
    if (!c.s)
        die("pshm_alloc");
    c.lockfd = memfd_create("lab05-lock", MFD_CLOEXEC);
    if (c.lockfd < 0)
        die("memfd_create");
    double ns[MAXR], sorted[MAXR];
    long ops[MAXR];
    int all_ok = 1;
    for (int r = 0; r < reps; r++) {
        int ok;
        ns[r] = sorted[r] = run(&c, &ops[r], &ok);
        all_ok &= ok;
    }
    qsort(sorted, (size_t)reps, sizeof *sorted, cmp_double);
    int med = 0;
    for (int r = 0; r < reps; r++)
        if (ns[r] == sorted[reps / 2])
            med = r;
    kv_print("bench.mech", "%s", mech_names[c.mech]);
    kv_print("bench.procs", "%d", c.procs);
    kv_print("bench.ns_per_op", "%.2f", ns[med]);
    kv_print("bench.ops", "%ld", ops[med]);
    kv_print("bench.check", "%s", all_ok ? "ok" : "FAIL");
    close(c.lockfd);
    if (pshm_free(c.s, sizeof *c.s) < 0)
        die("pshm_free");
    return all_ok ? 0 : 1;
}
