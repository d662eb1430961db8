/* http_parse.h — a pure, resumable HTTP/1.1 request-head parser (RFC 9112, RFC 9110).
 *
 * PURE: no I/O, no allocation, no global state. Every string in the result is a view
 * (pointer + length) into the caller's buffer, valid as long as that buffer is. The
 * caller supplies the header array. The parser never reads buf[len] or beyond.
 *
 *   ssize_t http_parse_request(buf, len, prev_len, lim, headers, req)
 *
 * RETURNS
 *   > 0  the request head is complete: the number of bytes it occupies (leading empty
 *        lines + request-line + field lines + the empty line). The body, if any, starts
 *        at buf + ret, framed as req->body says; the next pipelined request follows it.
 *   -2   partial: the bytes so far are a valid beginning of a request head. Call again
 *        with the same bytes plus more (the head has not exceeded any limit yet).
 *   -1   invalid: the server must answer req->status and close the connection (the
 *        framing of what follows cannot be trusted). req->reason is a short static
 *        string for logs. Statuses:
 *          400 Bad Request        syntax error anywhere, or a framing conflict
 *          414 URI Too Long       request-line longer than lim->max_line, well-formed
 *                                 as far as it is in buf (the caller may read the rest
 *                                 with http_line_scan: a malformed line is a 400)
 *          431 Fields Too Large   head longer than lim->max_head, or more than
 *                                 lim->max_headers field lines
 *          501 Not Implemented    a transfer coding other than chunked (RFC 9112 §6.1)
 *          505 Version Not Supp.  well-formed HTTP-version other than 1.0 / 1.1, in a
 *                                 head whose field lines are all well-formed (a field
 *                                 line without a colon is 400 whatever the version)
 *        The first error in byte order wins, except 505 (decided at the head's end);
 *        framing checks (Content-Length, Transfer-Encoding, Host) run once the head is
 *        complete, and only for HTTP/1.0 and 1.1.
 *
 * RESUMABILITY. There is no parser state between calls: call again with the grown
 * buffer (same first bytes, more after). Without help that re-parses from byte 0, which
 * is cheap for one short head. To avoid the quadratic rescan of a head that trickles in,
 * pass prev_len = the len of the previous call that returned -2 (0 on the first call):
 * when the new bytes buf[prev_len, len) contain no LF, no line was completed, so the
 * answer is -2 at once — provided no limit can have been crossed by the new bytes (then
 * the full parse runs). Consequence, by design: with prev_len a syntax error inside the
 * still-incomplete last line is reported when that line's LF arrives (or a limit
 * trips), not at the offending byte; the status and reason are then the same as a
 * fresh call's. The same holds for the 431 of a field line beyond max_headers, which
 * is found when the line's first byte is seen. A wrong prev_len can only produce a
 * wrong -2, never an out-of-bounds read (prev_len >= len is treated as 0).
 *
 * WHAT IS ACCEPTED (and what is rejected, why)
 *  Line ends (RFC 9112 §2.2): exactly CRLF. A bare LF is rejected (400) although §2.2
 *   lets a recipient accept it: two parsers disagreeing about line ends is the root of
 *   request smuggling. A bare CR anywhere in the head is rejected (400, §2.2 MUST).
 *   Up to HTTP_MAX_EMPTY_LINES empty lines (CRLF) before the request-line are skipped
 *   (§2.2 MAY); one more is 400. They count towards max_head and the return value.
 *  Request-line (§3): method SP request-target SP HTTP-version CRLF, single SP
 *   separators; any other whitespace (HTAB, two SPs, ...) is 400.
 *   method = token (RFC 9110 §5.6.2 tchar), case-sensitive; unknown methods are NOT
 *   rejected here — the server answers 501 for methods it does not implement.
 *   request-target: every byte visible ASCII 0x21-0x7E (no CTL, SP, DEL, >= 0x80: 400),
 *   and one of the four forms of §3.2 (req->form):
 *     origin-form    starts with '/'                     (not with CONNECT)
 *     absolute-form  scheme "://" authority [path...]     (§3.2.2; not with CONNECT);
 *                    authority as for Host below, non-empty host, no userinfo
 *                    (RFC 9110 §4.2.1, §4.2.4); req->authority is a view of it
 *     authority-form host ":" port, only and always with CONNECT (§3.2.3). CONNECT is
 *                    parsed, not refused: req->method says "CONNECT" and the server,
 *                    which does not tunnel, answers 501.
 *     asterisk-form  "*", only with OPTIONS (§3.2.4)
 *   anything else is 400. Finer URI syntax (percent-escapes in the path...) is left to
 *   the router.
 *   HTTP-version (§2.3) = "HTTP/" DIGIT "." DIGIT, case-sensitive: 1.0 and 1.1 are
 *   accepted (req->minor_version); any other well-formed version is 505 (we apply
 *   framing rules only to versions we know, although RFC 9110 §2.5 would allow treating
 *   1.x as 1.1); anything else — including a missing version (HTTP/0.9 style) — is 400.
 *  Field lines (§5, RFC 9110 §5.5): field-name = token, immediately followed by ':' —
 *   whitespace between name and colon is 400 (§5.1 MUST). OWS (SP/HTAB) around the
 *   value is trimmed. Value bytes: VCHAR, obs-text (0x80-0xFF), SP, HTAB; any other CTL,
 *   NUL, DEL or a bare CR is 400. A line starting with SP/HTAB (obs-fold, or whitespace
 *   before the first field) is 400 (§5.2, §2.2).
 *  Limits (struct http_limits): request-line > max_line bytes (CRLF not counted) → 414;
 *   head > max_head bytes (everything the return value would count) → 431; more than
 *   max_headers field lines → 431. The headers array must hold max_headers entries.
 *  Framing (§6.1-6.3), computed into req->body once the head is complete:
 *   - Transfer-Encoding and Content-Length both present: 400 (§6.1 lets a server reject;
 *     serving either one is what smuggling exploits).
 *   - Transfer-Encoding in an HTTP/1.0 request: 400 (§6.1: such framing is faulty).
 *   - Transfer-Encoding: a comma list over all its field lines (RFC 9110 §5.3); each
 *     element token *(OWS ";" OWS name BWS "=" BWS (token / quoted-string)); empty list
 *     elements are ignored (RFC 9110 §5.6.1). "chunked" (case-insensitive) must be the
 *     final coding, present once and without parameters, else 400 (§6.3 rule 4, §7:
 *     "chunked, chunked" and "chunked, gzip" are 400, so is "gzip" alone or an empty
 *     value); a well-formed chain with another coding before chunked ("gzip, chunked")
 *     is 501 (§6.1: a coding we do not understand).  → HTTP_BODY_CHUNKED
 *   - Content-Length = 1*DIGIT after OWS trimming: no sign, no inner space, no list.
 *     More than one Content-Length field line is 400 EVEN IF EQUAL, and so is a list
 *     "5, 5" (§6.3 rule 5 allows folding identical values; we refuse, because a peer
 *     that took only one of them is what an attacker looks for). A valid number above
 *     HTTP_MAX_CONTENT_LENGTH (2^62) is stored as HTTP_CONTENT_LENGTH_HUGE: too large
 *     (the server's 413), not malformed (400); the arithmetic cannot overflow.
 *     → HTTP_BODY_LENGTH with req->content_length (may be 0)
 *   - neither: HTTP_BODY_NONE (§6.3 rule 7: a request without framing has no body).
 *   A body on GET/HEAD is framed like any other; what to do with it is the server's.
 *  Host (RFC 9110 §7.2, RFC 9112 §3.2): an HTTP/1.1 request needs exactly one Host field
 *   line (0 or >1: 400); HTTP/1.0 may omit it (>1 is still 400). Its value must be
 *   uri-host [":" port] (IP-literal in [], or reg-name: unreserved / pct-encoded /
 *   sub-delims; port = *DIGIT); anything else (spaces, '@', '/', ...) is 400. An empty
 *   value is allowed (RFC 9110 §7.2; RFC 9112 §3.3 lets the server apply its default
 *   authority). req->host views it — except with an absolute-form target, whose
 *   authority it then views: §3.2.2 says the server ignores Host then (which must
 *   still be present and valid).
 *  Connection (RFC 9110 §7.6.1): a comma list of tokens (malformed: 400). "close" and
 *   "keep-alive" are recognized case-insensitively. req->keep_alive: HTTP/1.1 defaults
 *   to 1 and "close" clears it; HTTP/1.0 defaults to 0 and "keep-alive" sets it unless
 *   "close" is also present (RFC 9112 §9.3).
 *  Expect (RFC 9110 §10.1.1): req->expect_continue = 1 when the value is "100-continue"
 *   (case-insensitive) in an HTTP/1.1 request (1.0: MUST be ignored). Other
 *   expectations are not flagged (a server MAY answer 417; this one ignores them).
 */
#ifndef FDLAB_HTTP_PARSE_H
#define FDLAB_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#define HTTP_MAX_EMPTY_LINES 8             /* empty lines skipped before the request-line */
#define HTTP_MAX_CONTENT_LENGTH (1ULL << 62) /* larger Content-Length values are... */
#define HTTP_CONTENT_LENGTH_HUGE UINT64_MAX    /* ...stored as this (too large: 413) */
#define HTTP_LINE_SCAN_MAX 65536 /* http_line_scan: a longer request-line is 414 unread */

/* A view into the caller's buffer: not NUL-terminated. */
struct http_str {
    const char *p;
    size_t len;
};

struct http_header {
    struct http_str name;  /* token, as sent (compare case-insensitively) */
    struct http_str value; /* OWS-trimmed; may be empty */
};

struct http_limits {
    size_t max_line;    /* request-line bytes without CRLF; longer → 414 */
    size_t max_head;    /* whole head in bytes; longer → 431 */
    size_t max_headers; /* field lines; more → 431; the headers array's capacity */
};

enum http_target_form { HTTP_FORM_ORIGIN, HTTP_FORM_ABSOLUTE, HTTP_FORM_AUTHORITY, HTTP_FORM_ASTERISK };
enum http_body { HTTP_BODY_NONE, HTTP_BODY_LENGTH, HTTP_BODY_CHUNKED };

struct http_request {
    struct http_str method;       /* token, e.g. "GET" */
    struct http_str target;       /* request-target as sent */
    enum http_target_form form;
    struct http_str authority;    /* absolute-form: its authority; authority-form: the target */
    int minor_version;            /* 0 or 1 (HTTP/1.x) */
    struct http_header *headers;  /* the caller's array */
    size_t num_headers;           /* field lines stored in headers[] */
    struct http_str host;         /* Host value (len 0 and p NULL when absent) */
    enum http_body body;
    uint64_t content_length;      /* HTTP_BODY_LENGTH only */
    int keep_alive;               /* 1: the connection may carry another request */
    int expect_continue;          /* 1: "Expect: 100-continue" (HTTP/1.1) */
    int status;                   /* -1 only: HTTP status to answer */
    const char *reason;           /* -1 only: static text for logs */
};

ssize_t http_parse_request(const char *buf, size_t len, size_t prev_len, const struct http_limits *lim,
                           struct http_header *headers, struct http_request *req);

/* The rest of a request-line too long for the buffer (http_parse_request said 414):
 * a malformed line is a 400 before it is too long (RFC 9112 §3), so the caller streams
 * the line through this check, from the first byte of the head (leading empty lines
 * included), dropping the bytes as it goes. Syntax only: method SP target SP
 * "HTTP/" DIGIT "." DIGIT CRLF, with the byte classes of http_parse_request.
 * Zero the struct before the first call. Returns 0: every byte of p[0, n) is part of
 * the line and it is well-formed so far (call again with what follows); 400: malformed;
 * 414: the line ended well-formed, or it passed HTTP_LINE_SCAN_MAX bytes (well-formed
 * so far). *used: the bytes of p taken (all of them when 0 is returned). */
struct http_line_scan {
    int part;     /* internal: where in the line */
    size_t bytes; /* bytes seen */
};
int http_line_scan(struct http_line_scan *s, const char *p, size_t n, size_t *used);

/* One field line "name:" OWS value OWS CRLF at p (with the rules above), used by the head
 * parser and for chunked trailers. p must not point at the empty line that ends a
 * section (check for CR first). Returns the line's length including CRLF (> 0), -2 when
 * the line is incomplete within len bytes (so far valid), -1 when invalid (*reason set).
 * *out is meaningful only after a return > 0. Never reads p[len]. */
ssize_t http_parse_field_line(const char *p, size_t len, struct http_header *out, const char **reason);

/* Parameters *( OWS ";" OWS name [ BWS "=" BWS value ] ), name = token, value = token /
 * quoted-string: transfer-parameters (RFC 9112 §7, value required) and chunk extensions
 * (RFC 9112 §7.1.1, value_optional = 1). Returns how many bytes of p[0, len) form a valid,
 * possibly empty, sequence (trailing OWS is not included), or -1 when a ';' starts an
 * invalid parameter. Never reads p[len]. */
ssize_t http_parse_params(const char *p, size_t len, int value_optional);

/* 1 when the view equals the NUL-terminated ASCII string lit, ignoring ASCII case.
 * Inline: with a literal, strlen is a constant and a view of another length costs one
 * comparison (header lookups compare every field name against a few literals). */
static inline int http_str_ieq(struct http_str s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.len != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char a = (unsigned char)s.p[i], b = (unsigned char)lit[i];
        /* Equal bytes need nothing more; else only two cases of one letter match. */
        if (a != b && ((a | 0x20) != (b | 0x20) || (unsigned char)((a | 0x20) - 'a') > 'z' - 'a'))
            return 0;
    }
    return 1;
}

#endif
