/* validators.c — the header values a conditional or ranged GET carries (validators.h). */
#include "validators.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hdrview.h"
#include "reply.h"

#define NUM_MAX (INT64_MAX / 4) /* range numbers saturate here: no overflow in a sum */

/* Weak comparison of our ETag (quoted, strong) with every entity-tag of the
 * If-None-Match lines; "*" matches any existing file. 1 on a match. */
int static_none_match(const struct http_request *req, const char *etag)
{
    size_t elen = strlen(etag);
    for (size_t h = 0; h < req->num_headers; h++) {
        if (!http_str_ieq(req->headers[h].name, "If-None-Match"))
            continue;
        struct http_str v = trim(req->headers[h].value);
        if (str_is(v, "*"))
            return 1;
        size_t i = 0;
        while (i < v.len) {
            if (v.p[i] == ',' || v.p[i] == ' ' || v.p[i] == '\t') {
                i++;
                continue;
            }
            if (i + 1 < v.len && v.p[i] == 'W' && v.p[i + 1] == '/')
                i += 2;
            if (i >= v.len || v.p[i] != '"')
                break; /* not an entity-tag: the rest of the line cannot be trusted */
            size_t end = i + 1;
            while (end < v.len && v.p[end] != '"')
                end++;
            if (end >= v.len)
                break;
            if (end + 1 - i == elen && memcmp(v.p + i, etag, elen) == 0)
                return 1;
            i = end + 1;
        }
    }
    return 0;
}

/* If-Range (RFC 9110 §13.1.5): 1 when the range may be served. */
int static_if_range_ok(const struct http_request *req, const char *etag, time_t lm)
{
    struct http_str v = {"", 0};
    if (header_find(req, "If-Range", &v) == 0)
        return 1;
    v = trim(v);
    if (v.len > 0 && v.p[0] == '"')
        return str_is(v, etag); /* strong comparison */
    if (v.len >= 2 && v.p[0] == 'W' && v.p[1] == '/')
        return 0; /* a weak tag never matches strongly */
    time_t t;
    return http_date_parse(v.p, v.len, &t) == 0 && t == lm;
}

/* ---------------------------------------------------------------- Range */

static long long parse_num(const char *p, size_t n, size_t *i, int *got)
{
    long long v = 0;
    *got = 0;
    while (*i < n && p[*i] >= '0' && p[*i] <= '9') {
        v = v > NUM_MAX / 10 ? NUM_MAX : v * 10 + (p[*i] - '0');
        if (v > NUM_MAX)
            v = NUM_MAX;
        (*i)++;
        *got = 1;
    }
    return v;
}

enum range_res static_range_parse(struct http_str v, long long size, long long *first, long long *last)
{
    v = trim(v);
    if (v.len < 6 || !http_str_ieq((struct http_str){v.p, 6}, "bytes="))
        return RANGE_IGNORE;
    const char *p = v.p + 6;
    size_t n = v.len - 6, i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == ','))
        i++; /* empty list elements and OWS (RFC 9110 §5.6.1) */
    int got_a, got_b;
    long long a = parse_num(p, n, &i, &got_a);
    if (i >= n || p[i] != '-')
        return RANGE_IGNORE;
    i++;
    long long b = parse_num(p, n, &i, &got_b);
    for (; i < n; i++) {
        if (p[i] == ' ' || p[i] == '\t' || p[i] == ',')
            continue;
        return RANGE_IGNORE; /* a second range-spec (or garbage): whole file */
    }
    if (!got_a && !got_b)
        return RANGE_IGNORE;
    if (!got_a) { /* suffix: the last b bytes */
        if (b == 0 || size == 0)
            return RANGE_416;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return RANGE_OK;
    }
    if (got_b && b < a)
        return RANGE_IGNORE; /* invalid range-spec */
    if (a >= size)
        return RANGE_416;
    *first = a;
    *last = got_b && b < size - 1 ? b : size - 1;
    return RANGE_OK;
}

void static_etag(char tag[64], const struct stat *sb)
{
    long long mtime_ns = (long long)sb->st_mtim.tv_sec * 1000000000LL + sb->st_mtim.tv_nsec;
    snprintf(tag, 64, "\"%llx-%llx\"", (unsigned long long)sb->st_size, (unsigned long long)mtime_ns);
}
