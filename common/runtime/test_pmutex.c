/* Tests for pshm.h and pmutex.h. Children are forked to hold, kill or probe a mutex;
 * they report through their exit code only (no cr_* in a child), and every child is
 * reaped before the test ends. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pmutex.h"
#include "pshm.h"

struct shared {
    pthread_mutex_t m;
    long counter;
    long a, b; /* invariant: a + b == 100 */
};

static struct shared *new_shared(int flags)
{
    struct shared *s = pshm_alloc(sizeof *s);
    cr_assert_not_null(s);
    cr_assert_eq(pmutex_init(&s->m, flags), 0);
    s->a = 100;
    return s;
}

/* Waits for pid and returns its raw status; the test fails if waitpid does. */
static int reap(pid_t pid)
{
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    return st;
}

enum how { EXIT_HOLDING, KILLED_HOLDING, HALF_UPDATE_THEN_EXIT };

/* A child that locks s->m, then dies holding it in the way asked. Exit code 3 means
 * the child could not lock. */
static pid_t die_holding(struct shared *s, enum how how)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        if (pmutex_lock(&s->m) != 0)
            _exit(3);
        if (how == HALF_UPDATE_THEN_EXIT)
            s->a -= 30; /* the matching s->b += 30 never happens */
        if (how == KILLED_HOLDING)
            raise(SIGKILL);
        _exit(0);
    }
    return pid;
}

/* A child that runs pmutex_lock once and exits with its return value (capped). */
static int child_lock_result(struct shared *s)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0)
        _exit(pmutex_lock(&s->m) & 0xff);
    int st = reap(pid);
    cr_assert(WIFEXITED(st));
    return WEXITSTATUS(st);
}

Test(pshm, zeroed_and_shared_with_children, .timeout = 120)
{
    size_t n = 10000;
    unsigned char *p = pshm_alloc(n);
    cr_assert_not_null(p);
    cr_assert_eq((uintptr_t)p % (uintptr_t)sysconf(_SC_PAGESIZE), 0);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(p[i], 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        memset(p, 0xab, n);
        _exit(0);
    }
    int st = reap(pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    cr_assert_eq(p[0], 0xab, "the child's store is visible to the parent");
    cr_assert_eq(p[n - 1], 0xab);
    cr_assert_eq(pshm_free(p, n), 0);
}

Test(pshm, rejects_bad_arguments, .timeout = 120)
{
    errno = 0;
    cr_assert_null(pshm_alloc(0));
    cr_assert_eq(errno, EINVAL);
    cr_assert_null(pshm_alloc(SIZE_MAX));
    cr_assert_eq(errno, ENOMEM);
    cr_assert_eq(pshm_free(NULL, 4096), -1);
    cr_assert_eq(errno, EINVAL);
    char *p = pshm_alloc(100);
    cr_assert_not_null(p);
    cr_assert_eq(pshm_free(p + 1, 100), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(pshm_free(p, 0), -1);
    cr_assert_eq(pshm_free(p, 100), 0);
}

Test(pmutex, rejects_unknown_flags_and_negative_timeout, .timeout = 120)
{
    pthread_mutex_t *m = pshm_alloc(sizeof *m);
    cr_assert_not_null(m);
    errno = 0;
    cr_assert_eq(pmutex_init(m, 1 << 5), EINVAL);
    cr_assert_eq(errno, EINVAL, "errno mirrors the returned error number");
    cr_assert_eq(pmutex_init(m, 0), 0);
    cr_assert_eq(pmutex_timedlock(m, -1), EINVAL);
    cr_assert_eq(pmutex_destroy(m), 0);
    pshm_free(m, sizeof *m);
}

Test(pmutex, counts_exactly_across_processes, .timeout = 120)
{
    struct shared *s = new_shared(PMUTEX_ROBUST);
    enum { PROCS = 4, ITERS = 20000 };
    pid_t pids[PROCS];
    for (int i = 0; i < PROCS; i++) {
        pids[i] = fork();
        cr_assert_geq(pids[i], 0);
        if (pids[i] == 0) {
            for (int k = 0; k < ITERS; k++) {
                if (pmutex_lock(&s->m) != 0)
                    _exit(3);
                s->counter++;
                if (pmutex_unlock(&s->m) != 0)
                    _exit(4);
            }
            _exit(0);
        }
    }
    for (int i = 0; i < PROCS; i++) {
        int st = reap(pids[i]);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    cr_assert_eq(s->counter, (long)PROCS * ITERS);
    pshm_free(s, sizeof *s);
}

Test(pmutex, timedlock_times_out_while_another_process_holds, .timeout = 120)
{
    struct shared *s = new_shared(0);
    int ready[2], hold[2];
    cr_assert_eq(pipe(ready), 0);
    cr_assert_eq(pipe(hold), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(ready[0]);
        close(hold[1]);
        if (pmutex_lock(&s->m) != 0)
            _exit(3);
        char c = 'x';
        if (write(ready[1], &c, 1) != 1)
            _exit(4);
        /* Hold until the parent closes its end (EOF), then release. */
        while (read(hold[0], &c, 1) > 0)
            ;
        _exit(pmutex_unlock(&s->m) == 0 ? 0 : 5);
    }
    close(ready[1]);
    close(hold[0]);
    char c;
    cr_assert_eq(read(ready[0], &c, 1), 1);
    cr_assert_eq(pmutex_timedlock(&s->m, 0), ETIMEDOUT, "the non-blocking probe");
    cr_assert_eq(pmutex_timedlock(&s->m, 50), ETIMEDOUT);
    close(hold[1]);
    int st = reap(pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    cr_assert_eq(pmutex_timedlock(&s->m, 10000), 0, "released by its owner: ours now");
    cr_assert_eq(pmutex_unlock(&s->m), 0);
    close(ready[0]);
    pshm_free(s, sizeof *s);
}

Test(pmutex, plain_mutex_of_a_dead_owner_stalls, .timeout = 120)
{
    struct shared *s = new_shared(0);
    int st = reap(die_holding(s, KILLED_HOLDING));
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    cr_assert_eq(pmutex_timedlock(&s->m, 0), ETIMEDOUT, "the non-blocking probe");
    cr_assert_eq(pmutex_timedlock(&s->m, 100), ETIMEDOUT);
    cr_assert_eq(pmutex_timedlock(&s->m, 100), ETIMEDOUT, "and stays stalled");
    pshm_free(s, sizeof *s);
}

Test(pmutex, robust_reports_owner_dead_then_recovers, .timeout = 120)
{
    struct shared *s = new_shared(PMUTEX_ROBUST);
    int st = reap(die_holding(s, KILLED_HOLDING));
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    cr_assert_eq(pmutex_timedlock(&s->m, 10000), EOWNERDEAD);
    cr_assert_eq(errno, EOWNERDEAD);
    cr_assert_eq(pmutex_consistent(&s->m), 0);
    cr_assert_eq(pmutex_unlock(&s->m), 0);
    cr_assert_eq(pmutex_lock(&s->m), 0, "consistent again: a plain 0 from now on");
    cr_assert_eq(pmutex_unlock(&s->m), 0);
    cr_assert_eq(child_lock_result(s), 0, "another process locks it normally too");
    pshm_free(s, sizeof *s);
}

Test(pmutex, robust_owner_exiting_normally_is_dead_too, .timeout = 120)
{
    struct shared *s = new_shared(PMUTEX_ROBUST);
    int st = reap(die_holding(s, EXIT_HOLDING));
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    cr_assert_eq(pmutex_timedlock(&s->m, 0), EOWNERDEAD);
    cr_assert_eq(pmutex_consistent(&s->m), 0);
    cr_assert_eq(pmutex_unlock(&s->m), 0);
    pshm_free(s, sizeof *s);
}

Test(pmutex, unlock_without_consistent_is_not_recoverable, .timeout = 120)
{
    struct shared *s = new_shared(PMUTEX_ROBUST);
    reap(die_holding(s, KILLED_HOLDING));
    cr_assert_eq(pmutex_lock(&s->m), EOWNERDEAD);
    cr_assert_eq(pmutex_unlock(&s->m), 0, "unlock succeeds, but poisons the mutex");
    cr_assert_eq(pmutex_lock(&s->m), ENOTRECOVERABLE);
    cr_assert_eq(pmutex_timedlock(&s->m, 0), ENOTRECOVERABLE);
    cr_assert_eq(pmutex_timedlock(&s->m, 100), ENOTRECOVERABLE);
    cr_assert_eq(child_lock_result(s), ENOTRECOVERABLE, "for every process");
    cr_assert_eq(pmutex_consistent(&s->m), EINVAL);
    /* destroy + init is the only way back. */
    cr_assert_eq(pmutex_destroy(&s->m), 0);
    cr_assert_eq(pmutex_init(&s->m, PMUTEX_ROBUST), 0);
    cr_assert_eq(pmutex_lock(&s->m), 0);
    cr_assert_eq(pmutex_unlock(&s->m), 0);
    pshm_free(s, sizeof *s);
}

Test(pmutex, consistent_needs_the_owner_dead_state, .timeout = 120)
{
    struct shared *s = new_shared(PMUTEX_ROBUST);
    cr_assert_eq(pmutex_lock(&s->m), 0);
    cr_assert_eq(pmutex_consistent(&s->m), EINVAL);
    cr_assert_eq(pmutex_unlock(&s->m), 0);
    struct shared *p = new_shared(0);
    cr_assert_eq(pmutex_lock(&p->m), 0);
    cr_assert_eq(pmutex_consistent(&p->m), EINVAL, "a non-robust mutex never is");
    cr_assert_eq(pmutex_unlock(&p->m), 0);
    pshm_free(s, sizeof *s);
    pshm_free(p, sizeof *p);
}

Test(pmutex, errorcheck_reports_relock_and_foreign_unlock, .timeout = 120)
{
    struct shared *s = new_shared(PMUTEX_ERRORCHECK);
    cr_assert_eq(pmutex_lock(&s->m), 0);
    cr_assert_eq(pmutex_lock(&s->m), EDEADLK);
    cr_assert_eq(pmutex_timedlock(&s->m, 10), EDEADLK);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0)
        _exit(pmutex_unlock(&s->m) & 0xff);
    int st = reap(pid);
    cr_assert(WIFEXITED(st));
    cr_assert_eq(WEXITSTATUS(st), EPERM, "another process cannot unlock our lock");
    cr_assert_eq(pmutex_unlock(&s->m), 0);
    cr_assert_eq(pmutex_unlock(&s->m), EPERM, "nor can we unlock twice");
    pshm_free(s, sizeof *s);
}

static void repair_record(void *arg)
{
    struct shared *s = arg;
    s->b = 100 - s->a; /* finish the half-done transfer */
}

Test(pmutex, lock_repair_repairs_once, .timeout = 120)
{
    struct shared *s = new_shared(PMUTEX_ROBUST);
    reap(die_holding(s, HALF_UPDATE_THEN_EXIT));
    cr_assert_neq(s->a + s->b, 100, "the dead owner left the record half-updated");
    int repaired = -1;
    cr_assert_eq(pmutex_lock_repair(&s->m, repair_record, s, &repaired), 0);
    cr_assert_eq(repaired, 1);
    cr_assert_eq(s->a + s->b, 100);
    cr_assert_eq(pmutex_unlock(&s->m), 0);
    cr_assert_eq(pmutex_lock_repair(&s->m, repair_record, s, &repaired), 0);
    cr_assert_eq(repaired, 0, "nobody died this time");
    cr_assert_eq(pmutex_unlock(&s->m), 0);
    pshm_free(s, sizeof *s);
}
