/* http_chunked.h — a pure, resumable decoder for the chunked transfer coding (RFC 9112 §7.1).
 *
 * PURE: no I/O, no allocation. The only state between calls is the small struct below,
 * owned by the caller and separate from the request (zero it, or http_chunked_init(),
 * before each body). The decoder never reads in[len] and never writes out[out_cap].
 *
 *   int http_chunked_decode(d, in, len, out, out_cap, &consumed, &produced)
 *
 * Decodes from in[0, len): chunk data is copied to out[0, *produced); *consumed input
 * bytes were used (and must not be given again). out may equal in (decoding in place:
 * a byte is written only after it was read, since produced <= consumed), or be NULL to
 * discard the data (out_cap is then ignored).
 *
 * RETURNS
 *    0  the body is complete: the last chunk, the trailer section and its final CRLF are
 *       consumed; in[*consumed, len) belongs to the next request. Further calls return 0
 *       and consume nothing.
 *   -2  more is needed: call again with in[*consumed, len) plus more bytes — or, when
 *       *produced == out_cap, with more room in out. A line (chunk-size line, trailer
 *       field line) is consumed only whole: an incomplete one is left in the input.
 *   -1  invalid: d->status (400, or 431 for an oversized trailer section) and d->reason
 *       (static text). The connection's framing is lost; answer and close.
 *
 * ACCEPTED
 *  chunk      = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *  chunk-size = 1*HEXDIG, at most 16 digits (leading zeros count) so it fits uint64_t;
 *               17 or more → 400.
 *  chunk-ext  = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ): parsed
 *               strictly and ignored (§7.1.1). Whitespace is allowed only there (BWS);
 *               "1 \r\n" is 400.
 *  The chunk-size line, extensions included, must end within HTTP_CHUNK_LINE_MAX bytes
 *  (400 otherwise). A syntax error in it is reported when its LF arrives (or that bound
 *  is reached), since the line is parsed whole.
 *  After chunk-data exactly CRLF must follow; anything else (LF alone, more data) → 400.
 *  Line ends are CRLF only: a bare LF or a bare CR → 400 (the same policy as the head).
 *  last-chunk = 1*"0" [ chunk-ext ] CRLF, then the trailer section: field lines with the
 *  head's rules (http_parse_field_line: obs-fold, bad bytes, ... → 400), at most
 *  HTTP_TRAILER_MAX_FIELDS lines and HTTP_TRAILER_MAX_BYTES bytes (→ 431), then CRLF.
 *  Trailer fields are checked and then ignored (§7.1.2 lets a recipient discard them).
 *  The total body size is not limited here: the caller adds up *produced (→ 413).
 */
#ifndef FDLAB_HTTP_CHUNKED_H
#define FDLAB_HTTP_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_CHUNK_LINE_MAX 4096     /* chunk-size line, extensions and CRLF included */
#define HTTP_TRAILER_MAX_BYTES 8192  /* trailer field lines, CRLFs included */
#define HTTP_TRAILER_MAX_FIELDS 32

struct http_chunked {
    int state;             /* internal: where in the chunk grammar we are (0 = size line) */
    uint64_t remaining;    /* data bytes left in the current chunk */
    size_t trailer_bytes;  /* trailer section so far */
    size_t trailer_fields;
    int status;            /* -1 only: HTTP status to answer */
    const char *reason;    /* -1 only: static text for logs */
};

void http_chunked_init(struct http_chunked *d);
/* 1 when the decoder is in the trailer section (after the last chunk), else 0. */
int http_chunked_in_trailer(const struct http_chunked *d);
int http_chunked_decode(struct http_chunked *d, const char *in, size_t len, char *out, size_t out_cap,
                        size_t *consumed, size_t *produced);

#endif
