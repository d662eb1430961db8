/* Tests for lab 05: run the lab and bench programs, assert on their key=value output.
 * Behaviour only: counts, error names and exit codes, never timing. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "kv.h"
#include "spawn.h"

#define LAB "05-robust-mutex"

static void expect(const char *out, const char *key, const char *want)
{
    ASSERT_KV(out, key, want);
}

Test(lab05, locked_counting_is_exact, .timeout = 120)
{
    struct run_result r;
    cr_assert_eq(run_lab(&r, 110, LAB, "lab", "-s", "count", "-n", "3", "-m", "200000", NULL), 0);
    ASSERT_RUN(&r, RUN_ANY_EXIT);
    long want, locked, bare, lost;
    cr_assert_eq(kv_long(r.out, "count.expected", &want), 0);
    cr_assert_eq(want, 600000);
    cr_assert_eq(kv_long(r.out, "count.locked", &locked), 0);
    cr_assert_eq(locked, want, "N x M under the process-shared mutex");
    /* Lost updates are likely but not guaranteed: only their bounds are certain. */
    cr_assert_eq(kv_long(r.out, "count.unlocked", &bare), 0);
    cr_assert_eq(kv_long(r.out, "count.lost_updates", &lost), 0);
    cr_assert(bare >= 1 && bare <= want);
    cr_assert_eq(lost, want - bare);
    expect(r.out, "count.ok", "1");
    cr_assert_eq(run_exit_code(&r), 0);
    run_result_free(&r);
}

Test(lab05, plain_mutex_of_killed_holder_times_out, .timeout = 120)
{
    struct run_result r;
    cr_assert_eq(run_lab(&r, 50, LAB, "lab", "-s", "plain", "-t", "300", NULL), 0);
    ASSERT_RUN(&r, RUN_ANY_EXIT);
    expect(r.out, "plain.owner_is_holder", "1");
    expect(r.out, "plain.holder_signal", "KILL");
    expect(r.out, "plain.word_after_death", "0x1"); /* still "locked": nobody told */
    expect(r.out, "plain.timedlock", "ETIMEDOUT");
    expect(r.out, "plain.ok", "1");
    cr_assert_eq(run_exit_code(&r), 0);
    run_result_free(&r);
}

Test(lab05, robust_mutex_reports_owner_dead_and_is_repaired, .timeout = 120)
{
    struct run_result r;
    cr_assert_eq(run_lab(&r, 50, LAB, "lab", "-s", "robust", NULL), 0);
    ASSERT_RUN(&r, RUN_ANY_EXIT);
    expect(r.out, "robust.word_tid_is_holder", "1");
    expect(r.out, "robust.holder_robust_list_len", "24");
    expect(r.out, "robust.probe_while_held", "ETIMEDOUT");
    expect(r.out, "robust.holder_signal", "KILL");
    expect(r.out, "robust.owner_died_bit", "1");
    expect(r.out, "robust.lock", "EOWNERDEAD");
    expect(r.out, "robust.record_before", "a:900 b:0 sum:900");
    expect(r.out, "robust.invariant_before", "broken");
    expect(r.out, "robust.record_after", "a:900 b:100 sum:1000");
    expect(r.out, "robust.invariant_after", "holds");
    expect(r.out, "robust.consistent", "0");
    expect(r.out, "robust.unlock", "0");
    expect(r.out, "robust.next_locker", "0");
    expect(r.out, "robust.ok", "1");
    cr_assert_eq(run_exit_code(&r), 0);
    run_result_free(&r);
}

Test(lab05, unlock_without_consistent_poisons_for_everyone, .timeout = 120)
{
    struct run_result r;
    cr_assert_eq(run_lab(&r, 50, LAB, "lab", "-s", "norecover", NULL), 0);
    ASSERT_RUN(&r, RUN_ANY_EXIT);
    expect(r.out, "norecover.lock", "EOWNERDEAD");
    expect(r.out, "norecover.unlock", "0");
    expect(r.out, "norecover.relock", "ENOTRECOVERABLE");
    expect(r.out, "norecover.other_process", "ENOTRECOVERABLE");
    expect(r.out, "norecover.ok", "1");
    cr_assert_eq(run_exit_code(&r), 0);
    run_result_free(&r);
}

Test(lab05, whole_lab_succeeds_and_rejects_unknown_scenario, .timeout = 120)
{
    struct run_result r;
    cr_assert_eq(run_lab(&r, 110, LAB, "lab", "-m", "100000", NULL), 0);
    ASSERT_RUN(&r, RUN_ANY_EXIT);
    expect(r.out, "lab.ok", "1");
    cr_assert_eq(run_exit_code(&r), 0);
    run_result_free(&r);
    cr_assert_eq(run_lab(&r, 30, LAB, "lab", "-s", "nonsense", NULL), 0);
    ASSERT_RUN(&r, RUN_ANY_EXIT);
    cr_assert_neq(run_exit_code(&r), 0);
    run_result_free(&r);
}

/* The bench's own check: every mechanism counts exactly (the counter, or the sum of
 * the slots, equals the operations done) — so each lock really excludes. */
static void bench_counts_exactly(const char *mech)
{
    struct run_result r;
    cr_assert_eq(run_lab(&r, 50, LAB, "bench", "-k", mech, "-p", "3", "-d", "30", "-r", "1",
                         NULL), 0);
    ASSERT_RUN(&r, RUN_ANY_EXIT);
    expect(r.out, "bench.mech", mech);
    expect(r.out, "bench.check", "ok");
    long ops;
    cr_assert_eq(kv_long(r.out, "bench.ops", &ops), 0);
    cr_assert_gt(ops, 0);
    cr_assert_eq(run_exit_code(&r), 0, "stderr: %s", r.err);
    run_result_free(&r);
}

Test(lab05_bench, mutex_counts_exactly, .timeout = 120) { bench_counts_exactly("mutex"); }
Test(lab05_bench, robust_counts_exactly, .timeout = 120) { bench_counts_exactly("robust"); }
Test(lab05_bench, fcntl_counts_exactly, .timeout = 120) { bench_counts_exactly("fcntl"); }
Test(lab05_bench, ofd_counts_exactly, .timeout = 120) { bench_counts_exactly("ofd"); }
Test(lab05_bench, flock_counts_exactly, .timeout = 120) { bench_counts_exactly("flock"); }
Test(lab05_bench, sem_counts_exactly, .timeout = 120) { bench_counts_exactly("sem"); }
Test(lab05_bench, atomic_counts_exactly, .timeout = 120) { bench_counts_exactly("atomic"); }
Test(lab05_bench, padded_counts_exactly, .timeout = 120) { bench_counts_exactly("padded"); }
Test(lab05_bench, packed_counts_exactly, .timeout = 120) { bench_counts_exactly("packed"); }

Test(lab05_bench, rejects_unknown_mechanism, .timeout = 120)
{
    struct run_result r;
    cr_assert_eq(run_lab(&r, 20, LAB, "bench", "-k", "nonsense", NULL), 0);
    ASSERT_RUN(&r, RUN_ANY_EXIT);
    cr_assert_neq(run_exit_code(&r), 0);
    run_result_free(&r);
}
