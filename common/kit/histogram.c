/* histogram.c — see histogram.h.
 *
 * Bucket index of v: below 2^SUB, v itself. Above, with m = the position of v's top
 * bit and shift = m - (SUB-1), the top SUB bits of v (v >> shift, in [2^(SUB-1), 2^SUB))
 * select the bucket inside its power of two: index = 2^(SUB-1) * shift + (v >> shift).
 * The two formulas meet at v = 2^SUB (index 2^SUB), so indexes are dense.
 */
#include "histogram.h"

#include <string.h>

#define HALF (1 << (HIST_SUB_BITS - 1))

static unsigned bucket_of(uint64_t v)
{
    if (v > HIST_MAX)
        v = HIST_MAX;
    if (v < (UINT64_C(1) << HIST_SUB_BITS))
        return (unsigned)v;
    unsigned top = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = top - (HIST_SUB_BITS - 1);
    return HALF * shift + (unsigned)(v >> shift);
}

static uint64_t bucket_high(unsigned i)
{
    if (i < (1u << HIST_SUB_BITS))
        return i;
    unsigned shift = i / HALF - 1;
    return (((uint64_t)(i - HALF * shift) + 1) << shift) - 1;
}

void hist_init(struct histogram *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

void hist_record(struct histogram *h, uint64_t v)
{
    h->counts[bucket_of(v)]++;
    h->total++;
    h->sum += (double)v;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

void hist_record_s(struct histogram *h, double seconds)
{
    double ns = seconds * 1e9;
    if (!(ns > 0))
        ns = 0;
    /* Clamp before converting: a double beyond uint64_t is undefined behaviour. */
    hist_record(h, ns >= (double)HIST_MAX ? HIST_MAX : (uint64_t)(ns + 0.5));
}

void hist_merge(struct histogram *into, const struct histogram *from)
{
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        into->counts[i] += from->counts[i];
    into->total += from->total;
    into->sum += from->sum;
    if (from->min < into->min)
        into->min = from->min;
    if (from->max > into->max)
        into->max = from->max;
}

uint64_t hist_percentile(const struct histogram *h, double q)
{
    if (h->total == 0)
        return 0;
    if (!(q > 0))
        q = 0;
    if (q >= 1)
        return h->max;
    double want = q * (double)h->total;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want)
        rank++;
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t v = bucket_high(i);
            if (v > h->max)
                v = h->max;
            if (v < h->min)
                v = h->min;
            return v;
        }
    }
    return h->max;
}

uint64_t hist_count_at_or_above(const struct histogram *h, uint64_t v)
{
    /* Every value in v's bucket and above: exact when v is a bucket's lowest value. */
    uint64_t n = 0;
    for (unsigned i = bucket_of(v); i < HIST_BUCKETS; i++)
        n += h->counts[i];
    return n;
}

double hist_mean(const struct histogram *h)
{
    return h->total ? h->sum / (double)h->total : 0;
}
