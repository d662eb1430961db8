/* Tests of lab 01 (the naive attempt): they run the lab and its programs and assert
 * on the key=value lines they print — behaviour only, never timing. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdcount.h"
#include "kv.h"
#include "spawn.h"

#define LAB "01-naive"

/* One timeout for every test of this binary (why: spawn.h, "Test timeouts"). */
#define TEST_TIMEOUT_S 120

static long num(const char *text, const char *key)
{
    return KV_LONG(text, key);
}

static void expect(const char *text, const char *key, const char *want)
{
    ASSERT_KV(text, key, want);
}

/* Runs `lab`'s program with args, asserts a clean, bounded finish, returns output. */
static void run_ok(struct run_result *r, int want_exit, const char *prog, const char *a1,
                   const char *a2, const char *a3, const char *a4)
{
    int before = fd_count();
    cr_assert_eq(run_lab(r, TEST_TIMEOUT_S - 20, LAB, prog, a1, a2, a3, a4, NULL), 0, "could not run %s", prog);
    ASSERT_RUN(r, want_exit);
    cr_assert_eq(fd_count(), before, "running %s leaked a descriptor in the test", prog);
}

/* The scenario's mkdtemp directory is gone and the server's fds balance. */
static void expect_clean(const char *out, const char *prefix)
{
    char key[64];
    snprintf(key, sizeof key, "%stmpdir", prefix);
    char *dir = kv_get(out, key);
    cr_assert_not_null(dir, "no %s", key);
    cr_assert_eq(access(dir, F_OK), -1, "%s still exists", dir);
    cr_assert_eq(errno, ENOENT);
    free(dir);
    snprintf(key, sizeof key, "%sfds_leaked", prefix);
    cr_assert_eq(num(out, key), 0);
}

Test(naive, lab_shows_every_claim, .timeout = TEST_TIMEOUT_S)
{
    struct run_result r;
    run_ok(&r, 0, "lab", NULL, NULL, NULL, NULL);
    cr_assert_eq(num(r.out, "claims_total"), 5);
    cr_assert_eq(num(r.out, "claims_shown"), 5);
    expect(r.out, "a.shown", "1");
    expect(r.out, "b.shown", "1");
    expect(r.out, "c.private.shown", "1");
    expect(r.out, "c.pshared.shown", "1");
    expect(r.out, "c.lock.shown", "1");
    expect(r.out, "a.leftover_procs", "0");
    expect(r.out, "b.leftover_procs", "0");
    run_result_free(&r);
}

/* (a) The number is not open in the worker: EBADF, and the client gets nothing. */
Test(naive, a_write_to_foreign_number_is_ebadf, .timeout = TEST_TIMEOUT_S)
{
    struct run_result r;
    run_ok(&r, 0, "lab", "-s", "a", NULL, NULL);
    cr_assert_eq(num(r.out, "a.worker_seen_fd"), num(r.out, "a.client_fd"));
    expect(r.out, "a.worker_write_ret", "-1");
    expect(r.out, "a.worker_write_errno", "EBADF");
    expect(r.out, "a.worker_fd_kind", "not_open");
    expect(r.out, "a.parent_fd_kind", "socket");
    expect(r.out, "a.kcmp", "-1");
    expect(r.out, "a.kcmp_errno", "EBADF");
    expect(r.out, "a.kcmp_listener", "0"); /* an inherited fd IS the same file */
    expect(r.out, "a.client_bytes", "0");
    expect(r.out, "a.client_eof", "1");
    expect(r.out, "a.worker_exit", "0");
    expect(r.out, "a.leftover_procs", "0"); /* the server's own group is empty */
    expect_clean(r.out, "a.");
    expect(r.out, "a.shown", "1");
    cr_assert_eq(num(r.out, "claims_total"), 1);
    run_result_free(&r);
}

/* (b) The worker owns that number (its log): the write succeeds, into the log. */
Test(naive, b_coinciding_number_writes_into_the_log, .timeout = TEST_TIMEOUT_S)
{
    struct run_result r;
    run_ok(&r, 0, "lab", "-s", "b", NULL, NULL);
    cr_assert_eq(num(r.out, "b.worker_log_fd"), num(r.out, "b.client_fd"));
    expect(r.out, "b.fd_number_coincides", "1");
    cr_assert_eq(num(r.out, "b.worker_write_bytes"), num(r.out, "b.payload_len"));
    cr_assert_gt(num(r.out, "b.worker_write_bytes"), 0);
    expect(r.out, "b.worker_write_errno", "0");
    expect(r.out, "b.worker_fd_kind", "regular");
    expect(r.out, "b.worker_fd_is_log", "1"); /* st_dev/st_ino of stat(log path) */
    expect(r.out, "b.parent_fd_kind", "socket");
    expect(r.out, "b.same_inode_as_socket", "0");
    expect(r.out, "b.kcmp_errno", "0");
    long k = num(r.out, "b.kcmp");
    cr_assert(k >= 1 && k <= 3, "kcmp says %ld: want 1..3 (different files)", k);
    expect(r.out, "b.kcmp_same_file", "0");
    expect(r.out, "b.kcmp_listener", "0");
    expect(r.out, "b.payload_in_log", "1");
    cr_assert_eq(num(r.out, "b.log_bytes"), num(r.out, "b.payload_len"));
    expect(r.out, "b.client_bytes", "0");
    expect(r.out, "b.client_eof", "1");
    expect(r.out, "b.leftover_procs", "0");
    expect_clean(r.out, "b.");
    expect(r.out, "b.shown", "1");
    run_result_free(&r);
}

/* (c) Default mutex: the word excludes, but the private futex wake-up is lost. */
Test(naive, c_private_mutex_loses_the_wakeup, .timeout = TEST_TIMEOUT_S)
{
    struct run_result r;
    run_ok(&r, 0, "mutex", "-m", "private", NULL, NULL);
    expect(r.out, "private.trylock_while_held", "EBUSY");
    expect(r.out, "private.waiter_seen_asleep", "1");
    expect(r.out, "private.waiter_state", "S");
    expect(r.out, "private.waiter_syscall", "futex");
    expect(r.out, "private.futex_private_flag", "1");
    expect(r.out, "private.lock_word_before_unlock", "2");
    expect(r.out, "private.unlocked_before_deadline", "1");
    expect(r.out, "private.waiter", "ETIMEDOUT");
    expect(r.out, "private.lock_word_after_unlock", "0");
    run_result_free(&r);
}

Test(naive, c_pshared_mutex_wakes_the_waiter, .timeout = TEST_TIMEOUT_S)
{
    struct run_result r;
    run_ok(&r, 0, "mutex", "-m", "pshared", NULL, NULL);
    expect(r.out, "pshared.trylock_while_held", "EBUSY");
    expect(r.out, "pshared.waiter_seen_asleep", "1");
    expect(r.out, "pshared.futex_private_flag", "0");
    expect(r.out, "pshared.unlocked_before_deadline", "1");
    expect(r.out, "pshared.asleep_after_unlock", "0");
    expect(r.out, "pshared.waiter", "acquired");
    expect(r.out, "pshared.lock_word_after_unlock", "2"); /* the waiter holds it */
    run_result_free(&r);
}

/* The seed's own call, pthread_mutex_lock: the waiter is still asleep after the unlock. */
Test(naive, c_seed_lock_call_stays_asleep, .timeout = TEST_TIMEOUT_S)
{
    struct run_result r;
    run_ok(&r, 0, "mutex", "-m", "lock", NULL, NULL);
    expect(r.out, "lock.waiter_seen_asleep", "1");
    expect(r.out, "lock.futex_private_flag", "1");
    expect(r.out, "lock.asleep_after_unlock", "1");
    expect(r.out, "lock.lock_word_after_unlock", "0");
    expect(r.out, "lock.waiter", "stuck");
    run_result_free(&r);
}

/* Every wait of the server is bounded: with no client it gives up, reaps its worker
 * and removes its temporary directory. */
Test(naive, server_without_client_ends_cleanly, .timeout = TEST_TIMEOUT_S)
{
    struct run_result r;
    run_ok(&r, 1, "server", "-s", "a", "-t", "300");
    expect(r.out, "accepted", "0");
    expect_clean(r.out, "");
    run_result_free(&r);
}
