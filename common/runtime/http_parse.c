/* http_parse.c — the request-head parser; http_parse.h states the contract.
 *
 * A request's journey through http_parse_request():
 *   0. head_still_partial()  with prev_len: no new line ended, nothing to re-parse
 *   1. leading empty lines   skipped, bounded (RFC 9112 §2.2)
 *   2. parse_request_line()  method SP target SP version CRLF, within max_line
 *        check_target()      which of the four request-target forms (§3.2)
 *   3. http_parse_field_line() until the empty line, within max_head / max_headers
 *   4. apply_fields()        Host, Content-Length, Transfer-Encoding, Connection, Expect
 *                            → req->body, req->keep_alive, ... (§6.1-6.3)
 * Every scan is bounded by an explicit end pointer; running into it means "need more
 * bytes" (MORE), which the caller turns into -2, 414 or 431 depending on which limit
 * that end pointer was.
 */
#include "http_parse.h"

#include <string.h>

enum { BAD = -1, MORE = -2 };

/* ---------------------------------------------------------------- byte classes */

/* One table lookup per byte instead of a chain of comparisons (the parser touches every
 * byte of every head). GNU range designators; no two entries overlap. */
enum {
    C_TCHAR = 1,  /* tchar (RFC 9110 §5.6.2) */
    C_VCHAR = 2,  /* VCHAR 0x21-0x7E */
    C_FIELD = 4,  /* field-value byte (RFC 9110 §5.5): VCHAR, obs-text, SP, HTAB */
    C_HOST = 8,   /* reg-name byte besides %XX: unreserved / sub-delims (RFC 3986 §2.2-2.3) */
    C_DIGIT = 16,
    C_HEX = 32,
    C_ALPHA = 64,
};
#define TVF (C_TCHAR | C_VCHAR | C_FIELD)
#define VF (C_VCHAR | C_FIELD)
static const unsigned char cls[256] = {
    ['\t'] = C_FIELD, [' '] = C_FIELD,
    ['0' ... '9'] = TVF | C_HOST | C_DIGIT | C_HEX,
    ['A' ... 'F'] = TVF | C_HOST | C_HEX | C_ALPHA, ['G' ... 'Z'] = TVF | C_HOST | C_ALPHA,
    ['a' ... 'f'] = TVF | C_HOST | C_HEX | C_ALPHA, ['g' ... 'z'] = TVF | C_HOST | C_ALPHA,
    /* tchar that are host bytes too (unreserved "-._~", sub-delims "!$&'*+") */
    ['-'] = TVF | C_HOST, ['.'] = TVF | C_HOST, ['_'] = TVF | C_HOST, ['~'] = TVF | C_HOST,
    ['!'] = TVF | C_HOST, ['$'] = TVF | C_HOST, ['&'] = TVF | C_HOST, ['\''] = TVF | C_HOST,
    ['*'] = TVF | C_HOST, ['+'] = TVF | C_HOST,
    /* tchar only */
    ['#'] = TVF, ['%'] = TVF, ['^'] = TVF, ['`'] = TVF, ['|'] = TVF,
    /* sub-delims that are no tchar */
    ['('] = VF | C_HOST, [')'] = VF | C_HOST, [','] = VF | C_HOST, [';'] = VF | C_HOST, ['='] = VF | C_HOST,
    /* the other delimiters */
    ['"'] = VF, ['/'] = VF, [':'] = VF, ['<'] = VF, ['>'] = VF, ['?'] = VF, ['@'] = VF,
    ['['] = VF, ['\\'] = VF, [']'] = VF, ['{'] = VF, ['}'] = VF,
    [0x80 ... 0xff] = C_FIELD, /* obs-text */
};

static int is_digit(unsigned char c) { return cls[c] & C_DIGIT; }
static int is_alpha(unsigned char c) { return cls[c] & C_ALPHA; }
static int is_ows(unsigned char c) { return c == ' ' || c == '\t'; }
static int is_vchar(unsigned char c) { return cls[c] & C_VCHAR; }
static int is_field_byte(unsigned char c) { return cls[c] & C_FIELD; }
static int is_tchar(unsigned char c) { return cls[c] & C_TCHAR; }
static int is_hex(unsigned char c) { return cls[c] & C_HEX; }
static int is_host_byte(unsigned char c) { return cls[c] & C_HOST; }

/* The field value from q on, up to the CR that ends its line: returns that CR, or end
 * when none has arrived, or the first byte that is no field byte (*bad = 1), whichever
 * comes first. On a little-endian machine 8 bytes a step: a word with no control byte
 * and no DEL is 8 field bytes; otherwise its first such byte (the lowest flagged one:
 * a borrow only carries into the bytes above a flagged byte) is looked at. */
static const char *value_end(const char *q, const char *end, int *bad)
{
    *bad = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    while (end - q >= 8) {
        uint64_t x, del;
        memcpy(&x, q, 8);
        del = x ^ (ones * 0x7f);
        uint64_t m = (((x - ones * 0x20) & ~x) | ((del - ones) & ~del)) & highs;
        if (m == 0) {
            q += 8;
            continue;
        }
        q += __builtin_ctzll(m) / 8;
        if (*q != '\t')
            break; /* the CR, or a bad byte: settled below */
        q++;
    }
#endif
    for (; q < end; q++) {
        if (*q == '\r')
            return q;
        if (!is_field_byte(*q)) {
            *bad = 1;
            return q;
        }
    }
    return end;
}

static const char *skip_ows(const char *p, const char *end)
{
    while (p < end && is_ows(*p))
        p++;
    return p;
}

static const char *skip_token(const char *p, const char *end)
{
    while (p < end && is_tchar(*p))
        p++;
    return p;
}

/* quoted-string (RFC 9110 §5.6.4) at p (which is '"'): the byte after the closing quote,
 * or NULL when malformed or unterminated within end. */
static const char *skip_quoted(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        unsigned char c = *p;
        if (c == '"')
            return p + 1;
        if (c == '\\') {
            if (++p == end || !is_field_byte(*p))
                return NULL;
        } else if (!is_field_byte(c)) {
            return NULL;
        }
    }
    return NULL;
}

static int str_eq(struct http_str s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

static int fail(struct http_request *req, int status, const char *reason)
{
    req->status = status;
    req->reason = reason;
    return BAD;
}

/* ---------------------------------------------------------------- small grammars */

ssize_t http_parse_params(const char *p, size_t len, int value_optional)
{
    const char *end = p + len, *done = p;
    for (;;) {
        const char *q = skip_ows(done, end);
        if (q == end || *q != ';')
            return done - p;
        q = skip_ows(q + 1, end);
        const char *name = q;
        q = skip_token(q, end);
        if (q == name)
            return -1;
        const char *r = skip_ows(q, end);
        if (r < end && *r == '=') {
            r = skip_ows(r + 1, end);
            const char *v = r;
            r = (r < end && *r == '"') ? skip_quoted(r, end) : skip_token(r, end);
            if (r == NULL || r == v)
                return -1;
            done = r;
        } else if (value_optional) {
            done = q;
        } else {
            return -1;
        }
    }
}

/* authority = uri-host [ ":" port ] (RFC 9110 §4.2.1, §7.2; RFC 3986 §3.2): IP-literal
 * "[...]" or reg-name (unreserved / pct-encoded / sub-delims), port = *DIGIT <= 65535.
 * No userinfo: '@' is not a host byte. need_host / need_port: those parts non-empty. */
static int authority_ok(struct http_str a, int need_host, int need_port)
{
    const char *p = a.p, *end = a.p + a.len;
    if (p < end && *p == '[') {
        const char *s = ++p;
        while (p < end && *p != ']' && (is_host_byte(*p) || *p == ':'))
            p++;
        if (p == end || *p != ']' || p == s)
            return 0;
        p++;
    } else {
        const char *s = p;
        for (;;) {
            while (p < end && is_host_byte(*p))
                p++;
            if (p == end || *p != '%')
                break;
            if (end - p < 3 || !is_hex(p[1]) || !is_hex(p[2]))
                return 0;
            p += 3;
        }
        if (p < end && *p != ':')
            return 0;
        if (need_host && p == s)
            return 0;
    }
    if (p == end)
        return !need_port;
    if (*p++ != ':')
        return 0;
    const char *digits = p;
    unsigned long port = 0;
    for (; p < end; p++) {
        if (!is_digit(*p) || (port = port * 10 + (unsigned)(*p - '0')) > 65535)
            return 0;
    }
    return !(need_port && p == digits);
}

/* A #list (RFC 9110 §5.6.1): moves *pp to the next element, skipping OWS and empty
 * elements; 0 when the list is exhausted. */
static int list_next(const char **pp, const char *end)
{
    const char *p = *pp;
    while (p < end && (is_ows(*p) || *p == ','))
        p++;
    *pp = p;
    return p < end;
}

/* After an element: OWS, then a comma or the end. */
static int list_sep_ok(const char *p, const char *end)
{
    p = skip_ows(p, end);
    return p == end || *p == ',';
}

/* ---------------------------------------------------------------- request-line */

/* request-target form (§3.2), given the method. */
static int check_target(struct http_request *req)
{
    struct http_str t = req->target;
    if (str_eq(req->method, "CONNECT")) {
        if (!authority_ok(t, 1, 1))
            return fail(req, 400, "CONNECT needs authority-form host:port");
        req->form = HTTP_FORM_AUTHORITY;
        req->authority = t;
        return 0;
    }
    if (t.p[0] == '/') {
        req->form = HTTP_FORM_ORIGIN;
        return 0;
    }
    if (t.len == 1 && t.p[0] == '*') {
        if (!str_eq(req->method, "OPTIONS"))
            return fail(req, 400, "asterisk-form is only for OPTIONS");
        req->form = HTTP_FORM_ASTERISK;
        return 0;
    }
    /* absolute-form: scheme "://" authority [ path-abempty ] [ "?" query ] */
    const char *p = t.p, *end = t.p + t.len;
    if (!is_alpha(*p))
        return fail(req, 400, "invalid request-target");
    while (p < end && (is_alpha(*p) || is_digit(*p) || *p == '+' || *p == '-' || *p == '.'))
        p++;
    if (end - p < 3 || memcmp(p, "://", 3) != 0)
        return fail(req, 400, "invalid request-target");
    const char *a = p += 3;
    while (p < end && *p != '/' && *p != '?' && *p != '#')
        p++;
    req->authority = (struct http_str){a, (size_t)(p - a)};
    if (!authority_ok(req->authority, 1, 0))
        return fail(req, 400, "invalid authority in absolute-form");
    req->form = HTTP_FORM_ABSOLUTE;
    return 0;
}

/* method SP request-target SP HTTP-version CRLF (§3), within [*pp, end). */
static int parse_request_line(const char **pp, const char *end, struct http_request *req)
{
    const char *p = *pp, *s = p;

    p = skip_token(p, end);
    if (p == end)
        return MORE;
    if (*p != ' ' || p == s)
        return fail(req, 400, p == s ? "missing method" : "invalid byte in method");
    req->method = (struct http_str){s, (size_t)(p - s)};

    s = ++p;
    while (p < end && is_vchar(*p))
        p++;
    if (p == end)
        return MORE;
    if (p == s)
        return fail(req, 400, "missing request-target (or extra whitespace)");
    if (*p != ' ')
        return fail(req, 400, "invalid byte in request-target, or no HTTP-version");
    req->target = (struct http_str){s, (size_t)(p - s)};

    /* "HTTP/" DIGIT "." DIGIT CRLF, checked byte by byte so a prefix is never rejected */
    static const char shape[] = "HTTP/0.0\r\n";
    s = ++p;
    if (end - p >= 10 && memcmp(p, "HTTP/1.1\r\n", 10) == 0) {
        p += 10; /* the usual case, settled in one comparison */
    } else {
        for (size_t i = 0; i < sizeof shape - 1; i++, p++) {
            if (p == end)
                return MORE;
            int ok = shape[i] == '0' ? is_digit(*p) : *p == shape[i];
            if (!ok)
                return fail(req, 400, i == 9 ? "bare CR after HTTP-version"
                                      : *p == '\n' ? "bare LF after request-line" : "malformed HTTP-version");
        }
    }
    if (s[5] != '1' || (s[7] != '0' && s[7] != '1')) {
        /* 505 only once the whole head is known to be well-formed (http_parse_request):
         * a syntax error further on is a 400 whatever the version says. */
        req->status = 505;
        req->reason = "HTTP version not supported";
    }
    req->minor_version = s[7] - '0';
    if (check_target(req) < 0)
        return BAD;
    *pp = p;
    return 0;
}

/* ---------------------------------------------------------------- field lines */

static int bad_line(const char **reason, const char *why)
{
    *reason = why;
    return BAD;
}

ssize_t http_parse_field_line(const char *p, size_t len, struct http_header *out, const char **reason)
{
    const char *end = p + len, *q;
    if (len == 0)
        return MORE;
    if (is_ows(*p))
        return bad_line(reason, "obs-fold (line starting with whitespace)");

    q = skip_token(p, end);
    if (q == end)
        return MORE;
    if (q == p)
        return bad_line(reason, "missing or invalid field name");
    if (*q != ':')
        return bad_line(reason, is_ows(*q) ? "whitespace between field name and colon" : "invalid byte in field name");
    out->name = (struct http_str){p, (size_t)(q - p)};

    const char *v = skip_ows(q + 1, end);
    int bad;
    const char *cr = value_end(v, end, &bad);
    if (bad)
        return bad_line(reason, *cr == '\n' ? "bare LF in field line" : "invalid byte in field value");
    if (cr == end || cr + 1 == end)
        return MORE;
    q = cr;
    const char *vend = cr;
    while (vend > v && is_ows(vend[-1]))
        vend--; /* trailing OWS is not part of the value */
    if (q[1] != '\n')
        return bad_line(reason, "bare CR in field line");
    out->value = (struct http_str){v, (size_t)(vend - v)};
    return q + 2 - p;
}

/* Content-Length = 1*DIGIT. A valid number above HTTP_MAX_CONTENT_LENGTH is stored as
 * HTTP_CONTENT_LENGTH_HUGE (too large, not malformed: the server's 413). */
static int parse_length(struct http_str v, uint64_t *out)
{
    uint64_t n = 0;
    if (v.len == 0)
        return -1;
    for (size_t i = 0; i < v.len; i++) {
        if (!is_digit(v.p[i]))
            return -1;
        unsigned d = (unsigned)(v.p[i] - '0');
        if (n > (HTTP_MAX_CONTENT_LENGTH - d) / 10)
            n = HTTP_CONTENT_LENGTH_HUGE; /* stays there: every further digit keeps it */
        else
            n = n * 10 + d;
    }
    *out = n;
    return 0;
}

/* Transfer-Encoding list (§6.1, §7): sets *chunked when "chunked" is seen, *other for any
 * other coding; anything after chunked (another chunked included) is an error. */
static int scan_codings(struct http_str v, int *chunked, int *other, struct http_request *req)
{
    const char *p = v.p, *end = v.p + v.len;
    while (list_next(&p, end)) {
        const char *name = p;
        p = skip_token(p, end);
        struct http_str coding = {name, (size_t)(p - name)};
        ssize_t n = coding.len ? http_parse_params(p, (size_t)(end - p), 0) : -1;
        if (n < 0 || !list_sep_ok(p + n, end))
            return fail(req, 400, "malformed Transfer-Encoding");
        if (*chunked)
            return fail(req, 400, "chunked is not the final transfer coding");
        if (http_str_ieq(coding, "chunked")) {
            if (n > 0)
                return fail(req, 400, "chunked takes no parameters");
            *chunked = 1;
        } else {
            *other = 1;
        }
        p += n;
    }
    return 0;
}

/* Connection = #token (RFC 9110 §7.6.1) */
static int scan_connection(struct http_str v, int *close, int *keep, struct http_request *req)
{
    const char *p = v.p, *end = v.p + v.len;
    while (list_next(&p, end)) {
        const char *s = p;
        p = skip_token(p, end);
        struct http_str opt = {s, (size_t)(p - s)};
        if (opt.len == 0 || !list_sep_ok(p, end))
            return fail(req, 400, "malformed Connection");
        *close |= http_str_ieq(opt, "close");
        *keep |= http_str_ieq(opt, "keep-alive");
    }
    return 0;
}

/* The complete head's fields → Host, framing (§6.1-6.3), persistence (§9.3), Expect. */
static int apply_fields(struct http_request *req)
{
    int hosts = 0, lengths = 0, te = 0, chunked = 0, other = 0, close = 0, keep = 0;
    for (size_t i = 0; i < req->num_headers; i++) {
        const struct http_header *h = &req->headers[i];
        /* Most names are none of these: their length rules them out (http_str_ieq). */
        if (http_str_ieq(h->name, "host")) {
            if (++hosts > 1)
                return fail(req, 400, "more than one Host");
            if (!authority_ok(h->value, 0, 0))
                return fail(req, 400, "invalid Host");
            req->host = h->value;
        } else if (http_str_ieq(h->name, "content-length")) {
            if (++lengths > 1)
                return fail(req, 400, "more than one Content-Length");
            if (parse_length(h->value, &req->content_length) < 0)
                return fail(req, 400, "invalid Content-Length");
        } else if (http_str_ieq(h->name, "transfer-encoding")) {
            te = 1;
            if (scan_codings(h->value, &chunked, &other, req) < 0)
                return BAD;
        } else if (http_str_ieq(h->name, "connection")) {
            if (scan_connection(h->value, &close, &keep, req) < 0)
                return BAD;
        } else if (http_str_ieq(h->name, "expect")) {
            if (req->minor_version == 1 && http_str_ieq(h->value, "100-continue"))
                req->expect_continue = 1;
        }
    }
    if (req->minor_version == 1 && hosts == 0)
        return fail(req, 400, "HTTP/1.1 request without Host");
    if (req->form == HTTP_FORM_ABSOLUTE)
        req->host = req->authority; /* RFC 9112 §3.2.2: the target's authority wins */

    if (te) {
        if (lengths)
            return fail(req, 400, "both Transfer-Encoding and Content-Length");
        if (req->minor_version == 0)
            return fail(req, 400, "Transfer-Encoding in an HTTP/1.0 request");
        if (!chunked)
            return fail(req, 400, "chunked is not the final transfer coding");
        if (other)
            return fail(req, 501, "transfer coding not implemented");
        req->body = HTTP_BODY_CHUNKED;
    } else if (lengths) {
        req->body = HTTP_BODY_LENGTH;
    } else {
        req->body = HTTP_BODY_NONE;
        req->content_length = 0;
    }
    req->keep_alive = req->minor_version == 1 ? !close : keep && !close;
    return 0;
}

/* ---------------------------------------------------------------- the whole head */

/* prev_len fast path: 1 when the answer is surely -2 without re-parsing (see the header). */
static int head_still_partial(const char *buf, size_t len, size_t prev_len, const struct http_limits *lim)
{
    if (prev_len == 0 || prev_len >= len || len > lim->max_head)
        return 0;
    if (memchr(buf + prev_len, '\n', len - prev_len))
        return 0; /* a line may have ended: parse */
    size_t p0 = 0; /* where the request-line starts */
    while (p0 + 1 < prev_len && buf[p0] == '\r' && buf[p0 + 1] == '\n')
        p0 += 2;
    if (memchr(buf + p0, '\n', prev_len - p0))
        return 1; /* among the field lines: only max_head applies, checked above */
    return len - p0 <= lim->max_line; /* in the request-line, which cannot be too long yet */
}

/* Bytes ran out at the scan's end: was that end a limit, or just the data's end? */
static ssize_t out_of_bytes(size_t len, const struct http_limits *lim, struct http_request *req)
{
    if (len > lim->max_head)
        return fail(req, 431, "request head too large");
    return MORE;
}

ssize_t http_parse_request(const char *buf, size_t len, size_t prev_len, const struct http_limits *lim,
                           struct http_header *headers, struct http_request *req)
{
    memset(req, 0, sizeof *req);
    req->headers = headers;
    if (head_still_partial(buf, len, prev_len, lim))
        return MORE;

    /* Never look past max_head bytes: what does not fit there is 431, whatever it is. */
    const char *p = buf, *end = buf + (len < lim->max_head ? len : lim->max_head);

    /* 1. empty lines before the request-line */
    for (int n = 0; p < end && *p == '\r'; n++, p += 2) {
        if (end - p < 2)
            return out_of_bytes(len, lim, req);
        if (p[1] != '\n')
            return fail(req, 400, "bare CR before the request-line");
        if (n == HTTP_MAX_EMPTY_LINES)
            return fail(req, 400, "too many empty lines before the request-line");
    }

    /* 2. the request-line, within max_line bytes plus its CRLF */
    const char *line_end = end;
    int capped = 0;
    if ((size_t)(end - p) > lim->max_line && (size_t)(end - p) - lim->max_line >= 2) {
        line_end = p + lim->max_line + 2;
        capped = 1;
    }
    int r = parse_request_line(&p, line_end, req);
    if (r == MORE)
        return capped ? fail(req, 414, "request-line too long") : out_of_bytes(len, lim, req);
    if (r == BAD)
        return BAD;

    /* 3. field lines up to the empty line */
    size_t n = 0;
    for (;;) {
        if (p == end)
            return out_of_bytes(len, lim, req);
        if (*p == '\r') {
            if (end - p < 2)
                return out_of_bytes(len, lim, req);
            if (p[1] != '\n')
                return fail(req, 400, "bare CR in field section");
            p += 2;
            break;
        }
        if (n == lim->max_headers)
            return fail(req, 431, "too many header fields");
        const char *why = NULL;
        ssize_t l = http_parse_field_line(p, (size_t)(end - p), &headers[n], &why);
        if (l == MORE)
            return out_of_bytes(len, lim, req);
        if (l < 0)
            return fail(req, 400, why);
        n++;
        p += l;
    }
    req->num_headers = n;
    if (req->status == 505)
        return BAD; /* a well-formed head of a version we do not speak */

    /* 4. what the fields mean for this request */
    if (apply_fields(req) < 0)
        return BAD;
    return p - buf;
}

/* ---------------------------------------------------------------- an overlong line */

enum { LS_START, LS_LEAD_CR, LS_METHOD, LS_TARGET0, LS_TARGET, LS_VERSION };

int http_line_scan(struct http_line_scan *s, const char *p, size_t n, size_t *used)
{
    static const char shape[] = "HTTP/0.0\r\n";
    size_t i = 0;
    int r = 0;
    for (; i < n && r == 0; i++, s->bytes++) {
        unsigned char c = (unsigned char)p[i];
        if (s->bytes >= HTTP_LINE_SCAN_MAX) {
            r = 414;
            break;
        }
        switch (s->part) {
        case LS_START:
            s->part = c == '\r' ? LS_LEAD_CR : is_tchar(c) ? LS_METHOD : -1;
            break;
        case LS_LEAD_CR:
            s->part = c == '\n' ? LS_START : -1;
            break;
        case LS_METHOD:
            s->part = c == ' ' ? LS_TARGET0 : is_tchar(c) ? LS_METHOD : -1;
            break;
        case LS_TARGET0:
        case LS_TARGET:
            s->part = c == ' ' && s->part == LS_TARGET ? LS_VERSION : is_vchar(c) ? LS_TARGET : -1;
            break;
        default: { /* LS_VERSION + k: the k-th byte of the version and CRLF */
            int k = s->part - LS_VERSION;
            int ok = shape[k] == '0' ? is_digit(c) : c == (unsigned char)shape[k];
            s->part = ok ? s->part + 1 : -1;
            if (ok && k == (int)sizeof shape - 2)
                r = 414;
        }
        }
        if (s->part < 0)
            r = 400;
    }
    *used = i;
    return r;
}
