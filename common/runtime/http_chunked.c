/* http_chunked.c — chunked body decoder; http_chunked.h states the contract.
 *
 * The body is a sequence of states:
 *   SIZE     a whole chunk-size line (size, extensions, CRLF)   → DATA, or TRAILER if 0
 *   DATA     copy chunk bytes as they come (the only streamed state)
 *   DATA_END exactly CRLF                                      → SIZE
 *   TRAILER  whole field lines until the empty line            → DONE
 * Lines are consumed only when complete, so the state needs no partial-line memory.
 */
#include "http_chunked.h"

#include <string.h>

#include "http_parse.h"

enum { BAD = -1, MORE = -2 };
enum { CH_SIZE, CH_DATA, CH_DATA_END, CH_TRAILER, CH_DONE };

void http_chunked_init(struct http_chunked *d)
{
    memset(d, 0, sizeof *d);
}

int http_chunked_in_trailer(const struct http_chunked *d)
{
    return d->state == CH_TRAILER;
}

static int fail(struct http_chunked *d, int status, const char *reason)
{
    d->status = status;
    d->reason = reason;
    return BAD;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* chunk-size [ chunk-ext ] CRLF at p: its length (> 0) with d->remaining set, or MORE/BAD. */
static ssize_t size_line(struct http_chunked *d, const char *p, size_t avail)
{
    size_t scan = avail < HTTP_CHUNK_LINE_MAX ? avail : HTTP_CHUNK_LINE_MAX;
    const char *lf = memchr(p, '\n', scan);
    if (lf == NULL)
        return scan == HTTP_CHUNK_LINE_MAX ? fail(d, 400, "chunk-size line too long") : MORE;
    if (lf == p || lf[-1] != '\r')
        return fail(d, 400, "bare LF in chunk-size line");
    const char *cr = lf - 1, *q = p;
    uint64_t size = 0;
    for (; q < cr && hexval(*q) >= 0; q++) {
        if (q - p == 16)
            return fail(d, 400, "chunk-size longer than 16 hex digits");
        size = size << 4 | (uint64_t)hexval(*q);
    }
    if (q == p)
        return fail(d, 400, "missing chunk-size");
    ssize_t ext = http_parse_params(q, (size_t)(cr - q), 1);
    if (ext < 0 || q + ext != cr)
        return fail(d, 400, "invalid chunk extension");
    d->remaining = size;
    return lf + 1 - p;
}

int http_chunked_decode(struct http_chunked *d, const char *in, size_t len, char *out, size_t out_cap,
                        size_t *consumed, size_t *produced)
{
    const char *p = in, *end = in + len;
    size_t made = 0;
    int r = MORE;

    for (;;) {
        if (d->state == CH_SIZE) {
            ssize_t n = size_line(d, p, (size_t)(end - p));
            if (n < 0) {
                r = (int)n;
                break;
            }
            p += n;
            d->state = d->remaining ? CH_DATA : CH_TRAILER;
        } else if (d->state == CH_DATA) {
            size_t n = (size_t)(end - p);
            if (n > d->remaining)
                n = (size_t)d->remaining;
            if (out != NULL && n > out_cap - made)
                n = out_cap - made;
            if (n == 0)
                break; /* input used up, or out full: MORE */
            if (out != NULL)
                memmove(out + made, p, n);
            made += n;
            p += n;
            d->remaining -= n;
            if (d->remaining == 0)
                d->state = CH_DATA_END;
        } else if (d->state == CH_DATA_END) {
            if (p < end && *p != '\r')
                r = fail(d, 400, "chunk data not followed by CRLF");
            else if (end - p >= 2 && p[1] != '\n')
                r = fail(d, 400, "bare CR after chunk data");
            if (r == BAD || end - p < 2)
                break;
            p += 2;
            d->state = CH_SIZE;
        } else if (d->state == CH_TRAILER) {
            if (p < end && *p == '\r') { /* the empty line ends the body */
                if (end - p >= 2 && p[1] != '\n')
                    r = fail(d, 400, "bare CR in trailer section");
                if (r == BAD || end - p < 2)
                    break;
                p += 2;
                d->state = CH_DONE;
                continue;
            }
            if (p == end)
                break;
            if (d->trailer_fields == HTTP_TRAILER_MAX_FIELDS) {
                r = fail(d, 431, "too many trailer fields");
                break;
            }
            size_t room = HTTP_TRAILER_MAX_BYTES - d->trailer_bytes, avail = (size_t)(end - p);
            struct http_header h;
            const char *why = NULL;
            ssize_t n = http_parse_field_line(p, avail < room ? avail : room, &h, &why);
            if (n == MORE && avail >= room)
                r = fail(d, 431, "trailer section too large");
            else if (n == BAD)
                r = fail(d, 400, why);
            if (n < 0)
                break;
            p += n;
            d->trailer_bytes += (size_t)n;
            d->trailer_fields++;
        } else { /* CH_DONE */
            r = 0;
            break;
        }
    }
    *consumed = (size_t)(p - in);
    *produced = made;
    return r;
}
