/* Tests for histogram.h: precision, percentiles, merging, clamping. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "histogram.h"

static struct histogram *new_hist(void)
{
    struct histogram *h = malloc(sizeof *h);
    cr_assert_not_null(h);
    hist_init(h);
    return h;
}

Test(histogram, empty_is_all_zero, .timeout = 120)
{
    struct histogram *h = new_hist();
    cr_assert_eq(h->total, 0);
    cr_assert_eq(hist_percentile(h, 0.5), 0);
    cr_assert_eq(hist_percentile(h, 1.0), 0);
    cr_assert_eq(hist_count_at_or_above(h, 0), 0);
    cr_assert_eq(hist_mean(h), 0);
    free(h);
}

Test(histogram, small_values_are_exact, .timeout = 120)
{
    struct histogram *h = new_hist();
    for (uint64_t v = 1; v <= 100; v++)
        hist_record(h, v);
    cr_assert_eq(h->total, 100);
    cr_assert_eq(h->min, 1);
    cr_assert_eq(h->max, 100);
    cr_assert_eq(hist_percentile(h, 0.5), 50);
    cr_assert_eq(hist_percentile(h, 0.99), 99);
    cr_assert_eq(hist_percentile(h, 0.0), 1);
    cr_assert_eq(hist_percentile(h, 1.0), 100);
    cr_assert_eq(hist_count_at_or_above(h, 91), 10);
    cr_assert_float_eq(hist_mean(h), 50.5, 1e-9);
    free(h);
}

Test(histogram, relative_precision_within_one_percent, .timeout = 120)
{
    /* One value per histogram over 1 us .. 100 s: reading it back as any percentile
     * gives a value within 0.79 % of it (and never more than it: the bucket's top is
     * clamped to the exact max). Also check a value in the middle of many. */
    for (double v = 1e3; v <= 1e11; v *= 1.37) {
        struct histogram *h = new_hist();
        hist_record(h, 1);
        hist_record(h, (uint64_t)v);
        hist_record(h, HIST_MAX);
        uint64_t got = hist_percentile(h, 0.5);
        double rel = ((double)got - (double)(uint64_t)v) / v;
        cr_assert(rel >= 0 && rel < 0.0079, "v=%.0f got=%llu rel=%g", v,
                  (unsigned long long)got, rel);
        free(h);
    }
}

Test(histogram, percentiles_of_a_uniform_spread, .timeout = 120)
{
    /* 1..100000 us in ns: p50 ~ 50 ms, p99 ~ 99 ms, p99.9 ~ 99.9 ms within 1 %. */
    struct histogram *h = new_hist();
    for (uint64_t us = 1; us <= 100000; us++)
        hist_record(h, us * 1000);
    double want[][2] = {{0.5, 50e6}, {0.9, 90e6}, {0.99, 99e6}, {0.999, 99.9e6}};
    for (size_t i = 0; i < 4; i++) {
        double got = (double)hist_percentile(h, want[i][0]);
        cr_assert(got >= want[i][1] * 0.99 && got <= want[i][1] * 1.01, "q=%g got=%g",
                  want[i][0], got);
    }
    cr_assert_eq(hist_percentile(h, 1.0), 100000000);
    /* 2^17 us... use a power of two as the edge: exact count */
    cr_assert_eq(hist_count_at_or_above(h, UINT64_C(1) << 26), 100000 - ((UINT64_C(1) << 26) - 1) / 1000);
    free(h);
}

Test(histogram, merge_adds_up, .timeout = 120)
{
    struct histogram *a = new_hist(), *b = new_hist(), *all = new_hist();
    for (uint64_t v = 0; v < 5000; v++) {
        uint64_t x = v * v * 7919 % 1000000007;
        hist_record(v % 2 ? a : b, x);
        hist_record(all, x);
    }
    hist_merge(a, b);
    cr_assert_eq(a->total, all->total);
    cr_assert_eq(a->min, all->min);
    cr_assert_eq(a->max, all->max);
    cr_assert_float_eq(a->sum, all->sum, 1e-3 * all->sum);
    for (double q = 0; q <= 1.0; q += 0.05)
        cr_assert_eq(hist_percentile(a, q), hist_percentile(all, q), "q=%g", q);
    struct histogram *empty = new_hist();
    hist_merge(a, empty);
    cr_assert_eq(a->min, all->min, "merging an empty one changes nothing");
    free(a);
    free(b);
    free(all);
    free(empty);
}

Test(histogram, huge_and_negative_values_are_clamped, .timeout = 120)
{
    struct histogram *h = new_hist();
    hist_record(h, UINT64_MAX);
    hist_record_s(h, 1e30);
    hist_record_s(h, -1);
    hist_record_s(h, 0.000123);
    cr_assert_eq(h->total, 4);
    cr_assert_eq(h->max, UINT64_MAX, "the exact maximum is kept");
    cr_assert_eq(h->min, 0);
    cr_assert_eq(hist_count_at_or_above(h, HIST_MAX), 2);
    uint64_t p50 = hist_percentile(h, 0.5);
    cr_assert(p50 >= 123000 && p50 < 124000, "0.123 ms read back as %llu ns",
              (unsigned long long)p50);
    free(h);
}
