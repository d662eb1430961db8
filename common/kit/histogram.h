/* histogram.h — a log-bucketed latency histogram (the idea of HdrHistogram, own code).
 *
 * Values are non-negative integers, by convention nanoseconds. Below 2^HIST_SUB_BITS
 * every value has its own bucket; above, each power-of-two range [2^k, 2^(k+1)) is cut
 * into 2^(HIST_SUB_BITS-1) equal buckets, so a bucket is never wider than 1/128 of the
 * values in it: any value read back is within 0.79 % of a recorded one. The top
 * bucket ends at HIST_MAX (2^37 - 1 ns, about 137 s); larger values are counted there
 * (their exact maximum is still kept in h->max). A histogram is a fixed 32 KiB
 * array, so histograms of several threads merge by adding counts (hist_merge).
 *
 * hist_init(h)               all counts zero.
 * hist_record(h, v)          count one value v (clamped to HIST_MAX for the bucket).
 * hist_record_s(h, seconds)  hist_record of seconds * 1e9, negative values as 0.
 * hist_merge(into, from)     into += from (counts, total, min, max, sum).
 * hist_percentile(h, q)      the value at quantile q in [0, 1] (nearest rank): the
 *                            highest value of the bucket holding the ceil(q*total)-th
 *                            smallest value, but never above h->max nor below h->min;
 *                            0 for an empty histogram. q = 1 gives h->max exactly.
 * hist_count_at_or_above(h, v) how many recorded values lie in v's bucket or above:
 *                            exact when v is the lowest value of its bucket (any v below
 *                            2^HIST_SUB_BITS, or a power of two), else it may also count
 *                            values up to one bucket width (< 0.79 %) below v.
 * hist_mean(h)               sum / total, 0 when empty.
 */
#ifndef FDLAB_HISTOGRAM_H
#define FDLAB_HISTOGRAM_H

#include <stdint.h>

#define HIST_SUB_BITS 8
#define HIST_TOP_BIT 37 /* values up to 2^37 - 1 */
#define HIST_MAX ((UINT64_C(1) << HIST_TOP_BIT) - 1)
/* buckets: 2^SUB for the exact range, then 2^(SUB-1) per further power of two */
#define HIST_BUCKETS ((1 << HIST_SUB_BITS) + (HIST_TOP_BIT - HIST_SUB_BITS) * (1 << (HIST_SUB_BITS - 1)))

struct histogram {
    uint64_t total;
    uint64_t min, max; /* exact; min is UINT64_MAX while empty */
    double sum;
    uint64_t counts[HIST_BUCKETS];
};

void hist_init(struct histogram *h);
void hist_record(struct histogram *h, uint64_t v);
void hist_record_s(struct histogram *h, double seconds);
void hist_merge(struct histogram *into, const struct histogram *from);
uint64_t hist_percentile(const struct histogram *h, double q);
uint64_t hist_count_at_or_above(const struct histogram *h, uint64_t v);
double hist_mean(const struct histogram *h);

#endif
