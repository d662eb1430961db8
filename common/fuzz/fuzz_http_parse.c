/* fuzz_http_parse.c — libFuzzer target for http_parse.h and http_chunked.h.
 *
 * Parses the input as a request head; when the head is complete and the body chunked,
 * decodes the rest. Every buffer handed to the code under test is a malloc'd copy of
 * exactly the bytes it may read, so AddressSanitizer flags any over-read. Invariants
 * (a failed one aborts, which libFuzzer reports as a crash):
 *  - the head result is -2, -1 with a documented status and a reason, or 0 < r <= len
 *    within max_head; every view (method, target, authority, host, fields) lies inside
 *    the head; field names are non-empty, values carry no CR/LF and no outer OWS;
 *  - resumability: the prefix one byte short of a complete head is -2, and a call with
 *    prev_len (a shorter prefix that was -2) gives the same result, or -2 for an input
 *    that is invalid only in its last, LF-less line (the documented deferral);
 *  - the chunked decoder never consumes more than it is given nor produces more than it
 *    consumes (decoding in place), and feeding it byte by byte through a tiny output
 *    window yields the same verdict, the same bytes and the same consumption.
 * Build (`make fuzz` builds it this way, into build/fuzz/):
 *   clang -std=gnu17 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Icommon/runtime \
 *     common/fuzz/fuzz_http_parse.c common/runtime/http_parse.c common/runtime/http_chunked.c -o /tmp/http-fuzz
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_chunked.h"
#include "http_parse.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)
#define NHDR 16

static const struct http_limits LIM = {.max_line = 512, .max_head = 2048, .max_headers = NHDR};

static char *dup_bytes(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    CHECK(p != NULL);
    memcpy(p, s, n);
    return p;
}

static void check_view(struct http_str v, const char *b, size_t n)
{
    if (v.p == NULL) {
        CHECK(v.len == 0);
        return;
    }
    CHECK(v.p >= b && v.len <= n && (size_t)(v.p - b) <= n - v.len);
}

/* A fresh parse of an exact-size copy of buf[0, n) with prev_len. */
static ssize_t parse_copy(const char *buf, size_t n, size_t prev_len, struct http_request *req)
{
    static struct http_header h[NHDR];
    char *c = dup_bytes(buf, n);
    ssize_t r = http_parse_request(c, n, prev_len, &LIM, h, req);
    free(c);
    return r;
}

static void check_head(const char *buf, size_t size, ssize_t r, const struct http_request *req)
{
    if (r == -2) {
        CHECK(size <= LIM.max_head);
        return;
    }
    if (r == -1) {
        int s = req->status;
        CHECK(s == 400 || s == 414 || s == 431 || s == 501 || s == 505);
        CHECK(req->reason != NULL && req->reason[0] != 0);
        return;
    }
    CHECK(r > 0 && (size_t)r <= size && (size_t)r <= LIM.max_head);
    size_t n = (size_t)r;
    check_view(req->method, buf, n);
    check_view(req->target, buf, n);
    check_view(req->authority, buf, n);
    check_view(req->host, buf, n);
    CHECK(req->method.len > 0 && req->target.len > 0);
    CHECK(req->minor_version == 0 || req->minor_version == 1);
    CHECK(req->num_headers <= NHDR);
    CHECK(req->body == HTTP_BODY_NONE || req->body == HTTP_BODY_LENGTH || req->body == HTTP_BODY_CHUNKED);
    CHECK(req->body == HTTP_BODY_LENGTH || req->content_length == 0);
    CHECK(req->content_length <= HTTP_MAX_CONTENT_LENGTH || req->content_length == HTTP_CONTENT_LENGTH_HUGE);
    CHECK(req->minor_version == 1 || req->body != HTTP_BODY_CHUNKED);
    for (size_t i = 0; i < req->num_headers; i++) {
        struct http_str nm = req->headers[i].name, v = req->headers[i].value;
        check_view(nm, buf, n);
        check_view(v, buf, n);
        CHECK(nm.len > 0);
        CHECK(memchr(v.p, '\r', v.len) == NULL && memchr(v.p, '\n', v.len) == NULL);
        if (v.len > 0) {
            CHECK(v.p[0] != ' ' && v.p[0] != '\t');
            CHECK(v.p[v.len - 1] != ' ' && v.p[v.len - 1] != '\t');
        }
    }
}

struct verdict {
    int r, status;
    size_t consumed, produced;
};

/* One call, in place, on an exact-size copy. out receives the decoded bytes. */
static struct verdict decode_once(const char *in, size_t n, char *out)
{
    struct verdict v = {0};
    struct http_chunked d;
    char *c = dup_bytes(in, n);
    http_chunked_init(&d);
    v.r = http_chunked_decode(&d, c, n, c, n, &v.consumed, &v.produced);
    CHECK(v.r == 0 || v.r == -1 || v.r == -2);
    CHECK(v.consumed <= n && v.produced <= v.consumed);
    if (v.r == -1)
        CHECK((d.status == 400 || d.status == 431) && d.reason != NULL);
    v.status = d.status;
    memcpy(out, c, v.produced);
    free(c);
    return v;
}

/* Byte by byte, each call on an exact-size copy of the pending bytes, output through a
 * window of 1-3 bytes. */
static struct verdict decode_trickle(const char *in, size_t n, char *out)
{
    struct verdict v = {.r = -2};
    struct http_chunked d;
    size_t start = 0;
    http_chunked_init(&d);
    for (size_t k = 1; k <= n && v.r == -2; k++) {
        size_t have = k - start;
        char *c = dup_bytes(in + start, have), *p = c;
        for (;;) {
            size_t used, made, cap = 1 + k % 3;
            char *w = malloc(cap);
            CHECK(w != NULL);
            v.r = http_chunked_decode(&d, p, have, w, cap, &used, &made);
            CHECK(used <= have && made <= cap);
            memcpy(out + v.produced, w, made);
            free(w);
            v.produced += made;
            start += used;
            p += used;
            have -= used;
            if (v.r != -2 || made < cap)
                break;
        }
        free(c);
    }
    v.consumed = start;
    v.status = d.status;
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct http_header h[NHDR];
    struct http_request req, again;

    ssize_t r = http_parse_request(buf, size, 0, &LIM, h, &req);
    check_head(buf, size, r, &req);

    /* prev_len: same answer as a fresh call, or -2 deferring an error while the newest
     * bytes hold no LF (http_parse.h) */
    size_t k = size / 2;
    if (k > 0 && parse_copy(buf, k, 0, &again) == -2) {
        ssize_t r2 = parse_copy(buf, size, k, &again);
        if (r2 == -2 && r == -1)
            CHECK(memchr(buf + k, '\n', size - k) == NULL && size <= LIM.max_head);
        else
            CHECK(r2 == r && (r != -1 || again.status == req.status));
    }
    if (r <= 0)
        return 0;

    /* resumability */
    CHECK(parse_copy(buf, (size_t)r - 1, 0, &again) == -2);
    CHECK(parse_copy(buf, (size_t)r / 2, 0, &again) == -2);
    CHECK(parse_copy(buf, size, (size_t)r / 2, &again) == r);
    CHECK(again.body == req.body && again.content_length == req.content_length);
    CHECK(again.num_headers == req.num_headers && again.keep_alive == req.keep_alive);

    if (req.body != HTTP_BODY_CHUNKED)
        return 0;
    const char *body = buf + r;
    size_t n = size - (size_t)r;
    char *a = malloc(n ? n : 1), *b = malloc(n ? n : 1);
    CHECK(a != NULL && b != NULL);
    struct verdict x = decode_once(body, n, a);
    struct verdict y = decode_trickle(body, n, b);
    CHECK(x.r == y.r);
    if (x.r == -1)
        CHECK(x.status == y.status);
    else
        CHECK(x.produced == y.produced && memcmp(a, b, x.produced) == 0);
    if (x.r == 0)
        CHECK(x.consumed == y.consumed);
    free(a);
    free(b);
    return 0;
}
