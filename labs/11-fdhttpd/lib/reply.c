/* reply.c — response heads, status texts, error pages and HTTP dates (see reply.h). */
#include "reply.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The error page is a compile-time string per status, so a reply can point at it
 * without owning or copying anything. */
#define PAGE(code, text) \
    "<!DOCTYPE html>\n<html><head><title>" #code " " text "</title></head>\n" \
    "<body><h1>" #code " " text "</h1><hr><p>fdhttpd</p></body></html>\n"
#define LINE(code, text) "HTTP/1.1 " #code " " text "\r\n"
#define ST(code, text) {code, text, LINE(code, text), sizeof LINE(code, text) - 1, PAGE(code, text)}

static const struct status_row {
    int code;
    const char *text;
    const char *line; /* the whole status line, CRLF included: one copy per head */
    size_t line_len;
    const char *page;
} statuses[] = {
    ST(200, "OK"),
    ST(204, "No Content"),
    ST(206, "Partial Content"),
    ST(301, "Moved Permanently"),
    ST(304, "Not Modified"),
    ST(400, "Bad Request"),
    ST(403, "Forbidden"),
    ST(404, "Not Found"),
    ST(405, "Method Not Allowed"),
    ST(408, "Request Timeout"),
    ST(411, "Length Required"),
    ST(413, "Content Too Large"),
    ST(414, "URI Too Long"),
    ST(416, "Range Not Satisfiable"),
    ST(431, "Request Header Fields Too Large"),
    ST(500, "Internal Server Error"),
    ST(501, "Not Implemented"),
    ST(503, "Service Unavailable"),
    ST(505, "HTTP Version Not Supported"),
};

static const struct status_row *status_find(int code)
{
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        if (statuses[i].code == code)
            return &statuses[i];
    return NULL;
}

const char *reply_status_text(int status)
{
    const struct status_row *r = status_find(status);
    return r ? r->text : "Unknown";
}

enum reply_conn reply_conn_of(int keep_alive, int minor_version)
{
    if (!keep_alive)
        return REPLY_CLOSE;
    return minor_version == 0 ? REPLY_KEEP_HTTP10 : REPLY_KEEP;
}

/* ---------------------------------------------------------------- dates */

static const char wday_name[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char mon_name[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Writes v as exactly `digits` decimal digits at p (v is in range by construction). */
static void digits(char *p, int v, int n)
{
    while (n-- > 0) {
        p[n] = (char)('0' + v % 10);
        v /= 10;
    }
}

void http_date_format(time_t t, char buf[HTTP_DATE_LEN + 1])
{
    struct tm tm;
    /* Not strftime: %a and %b follow the locale; HTTP wants these English names. */
    memcpy(buf, "Thu, 01 Jan 1970 00:00:00 GMT", HTTP_DATE_LEN + 1);
    if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
        return; /* not representable in four digits: the epoch rather than garbage */
    memcpy(buf, wday_name[tm.tm_wday], 3);
    digits(buf + 5, tm.tm_mday, 2);
    memcpy(buf + 8, mon_name[tm.tm_mon], 3);
    digits(buf + 12, tm.tm_year + 1900, 4);
    digits(buf + 17, tm.tm_hour, 2);
    digits(buf + 20, tm.tm_min, 2);
    digits(buf + 23, tm.tm_sec, 2);
}

/* A cursor over a view: every helper checks the remaining length before reading. */
struct cur {
    const char *p;
    size_t n;
};

static int lit(struct cur *c, const char *s)
{
    size_t k = strlen(s);
    if (c->n < k || memcmp(c->p, s, k) != 0)
        return -1;
    c->p += k;
    c->n -= k;
    return 0;
}

/* Exactly `digits` decimal digits (a leading SP allowed for asctime's day when sp). */
static int num(struct cur *c, int digits, int sp, int *out)
{
    int v = 0;
    for (int i = 0; i < digits; i++) {
        if (c->n == 0)
            return -1;
        char ch = *c->p;
        if (ch >= '0' && ch <= '9')
            v = v * 10 + (ch - '0');
        else if (!(sp && i == 0 && ch == ' '))
            return -1;
        c->p++;
        c->n--;
    }
    *out = v;
    return 0;
}

static int month(struct cur *c, int *mon)
{
    if (c->n < 3)
        return -1;
    for (int i = 0; i < 12; i++)
        if (memcmp(c->p, mon_name[i], 3) == 0) {
            *mon = i;
            c->p += 3;
            c->n -= 3;
            return 0;
        }
    return -1;
}

/* A day name: the short one (IMF-fixdate, asctime) or the long one (RFC 850). */
static int day_name(struct cur *c, int longform)
{
    static const char *const long_names[7] = {"Sunday", "Monday", "Tuesday", "Wednesday",
                                              "Thursday", "Friday", "Saturday"};
    for (int i = 0; i < 7; i++)
        if (lit(c, longform ? long_names[i] : wday_name[i]) == 0)
            return 0;
    return -1;
}

static int hms(struct cur *c, struct tm *tm)
{
    if (num(c, 2, 0, &tm->tm_hour) || lit(c, ":") || num(c, 2, 0, &tm->tm_min) || lit(c, ":") ||
        num(c, 2, 0, &tm->tm_sec))
        return -1;
    return 0;
}

int http_date_parse(const char *p, size_t len, time_t *t)
{
    struct tm tm;
    int year = 0, ok = 0;
    struct cur c;

    memset(&tm, 0, sizeof tm);
    /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
    c = (struct cur){p, len};
    if (day_name(&c, 0) == 0 && lit(&c, ", ") == 0 && num(&c, 2, 0, &tm.tm_mday) == 0 && lit(&c, " ") == 0 &&
        month(&c, &tm.tm_mon) == 0 && lit(&c, " ") == 0 && num(&c, 4, 0, &year) == 0 && lit(&c, " ") == 0 &&
        hms(&c, &tm) == 0 && lit(&c, " GMT") == 0 && c.n == 0)
        ok = 1;
    /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
    if (!ok) {
        memset(&tm, 0, sizeof tm);
        c = (struct cur){p, len};
        if (day_name(&c, 1) == 0 && lit(&c, ", ") == 0 && num(&c, 2, 0, &tm.tm_mday) == 0 && lit(&c, "-") == 0 &&
            month(&c, &tm.tm_mon) == 0 && lit(&c, "-") == 0 && num(&c, 2, 0, &year) == 0 && lit(&c, " ") == 0 &&
            hms(&c, &tm) == 0 && lit(&c, " GMT") == 0 && c.n == 0) {
            year += year < 70 ? 2000 : 1900;
            ok = 1;
        }
    }
    /* asctime: "Sun Nov  6 08:49:37 1994" */
    if (!ok) {
        memset(&tm, 0, sizeof tm);
        c = (struct cur){p, len};
        if (day_name(&c, 0) == 0 && lit(&c, " ") == 0 && month(&c, &tm.tm_mon) == 0 && lit(&c, " ") == 0 &&
            num(&c, 2, 1, &tm.tm_mday) == 0 && lit(&c, " ") == 0 && hms(&c, &tm) == 0 && lit(&c, " ") == 0 &&
            num(&c, 4, 0, &year) == 0 && c.n == 0)
            ok = 1;
    }
    if (!ok)
        return -1;
    /* Range checks timegm would otherwise silently normalise ("31 Feb"). 60 is a leap
     * second (RFC 9110 allows it). */
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (tm.tm_mday < 1 || tm.tm_mday > mdays[tm.tm_mon] || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (tm.tm_mon == 1 && tm.tm_mday == 29 && !leap)
        return -1;
    tm.tm_year = year - 1900;
    *t = timegm(&tm);
    return 0;
}

/* ---------------------------------------------------------------- heads */

struct out {
    char *b;
    size_t len, cap;
    int overflow;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->overflow || n > o->cap - o->len) {
        o->overflow = 1;
        return;
    }
    memcpy(o->b + o->len, s, n);
    o->len += n;
}

static void puts_(struct out *o, const char *s)
{
    if (s != NULL)
        put(o, s, strlen(s));
}

#define PUTLIT(o, lit) put((o), (lit), sizeof(lit) - 1)

/* A decimal number (>= 0, as every status and length is), without snprintf: the
 * printf machinery was ~15% of a pipelined request's CPU. */
static void putnum(struct out *o, long long v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    unsigned long long u = v < 0 ? 0 : (unsigned long long)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    put(o, tmp + i, sizeof tmp - i);
}

/* Status line, Date and Server: the start of every head. */
static void head_start(struct out *o, int status, const char *date)
{
    const struct status_row *row = status_find(status);
    if (row != NULL) {
        put(o, row->line, row->line_len);
    } else {
        PUTLIT(o, "HTTP/1.1 ");
        putnum(o, status);
        PUTLIT(o, " Unknown\r\n");
    }
    PUTLIT(o, "Date: ");
    put(o, date, HTTP_DATE_LEN);
    PUTLIT(o, "\r\nServer: fdhttpd\r\n");
}

/* The Connection line, the module's lines, the caller's, the empty line. */
static void head_end(struct out *o, enum reply_conn conn, const char *hdrs, const char *extra)
{
    if (conn == REPLY_CLOSE)
        PUTLIT(o, "Connection: close\r\n");
    else if (conn == REPLY_KEEP_HTTP10)
        PUTLIT(o, "Connection: keep-alive\r\n");
    puts_(o, hdrs);
    puts_(o, extra);
    PUTLIT(o, "\r\n");
}

static void build(struct reply *r, int status, const char *ctype, long long clen, const char *hdrs,
                  const char *extra, enum reply_conn conn, const char *date, struct out *o)
{
    *o = (struct out){r->head, 0, sizeof r->head, 0};
    head_start(o, status, date);
    if (status != 204 && status != 304) {
        if (ctype != NULL) {
            PUTLIT(o, "Content-Type: ");
            puts_(o, ctype);
            PUTLIT(o, "\r\n");
        }
        if (clen >= 0) {
            PUTLIT(o, "Content-Length: ");
            putnum(o, clen);
            PUTLIT(o, "\r\n");
        }
    }
    head_end(o, conn, hdrs, extra);
}

/* Everything but the head itself; then the fixed 500 when the head overflowed. */
static int finish(struct reply *out, int status, enum reply_conn conn, const char *date, struct out *o)
{
    if (o->overflow) {
        /* A fixed, short head always fits; the caller sees 500 and closes. */
        status = 500;
        conn = REPLY_CLOSE;
        build(out, status, NULL, 0, NULL, NULL, conn, date, o);
    }
    out->status = status;
    out->head_len = o->len;
    out->close = conn == REPLY_CLOSE;
    return status;
}

static void reset_body(struct reply *out)
{
    out->body = NULL;
    out->body_len = 0;
    out->file_fd = -1;
    out->file_off = out->file_len = 0;
    out->pin = NULL;
    out->unpin = NULL;
}

int reply_head(struct reply *out, int status, const char *content_type, long long content_length,
               const char *hdrs, const char *extra, enum reply_conn conn, time_t now)
{
    char date[HTTP_DATE_LEN + 1];
    http_date_format(now, date);
    return reply_head_date(out, status, content_type, content_length, hdrs, extra, conn, date);
}

int reply_head_date(struct reply *out, int status, const char *content_type, long long content_length,
                    const char *hdrs, const char *extra, enum reply_conn conn, const char *date)
{
    struct out o;
    reset_body(out);
    build(out, status, content_type, content_length, hdrs, extra, conn, date, &o);
    return finish(out, status, conn, date, &o);
}

int reply_head_copy(struct reply *out, int status, const char *head, size_t len, const char *date,
                    enum reply_conn conn)
{
    reset_body(out);
    memcpy(out->head, head, len);
    /* The Date value follows the status line and "Date: " (head_start). */
    const struct status_row *row = status_find(status);
    size_t at = row ? row->line_len + 6 : 0;
    if (row == NULL) {
        const char *eol = memchr(out->head, '\n', len);
        at = eol ? (size_t)(eol - out->head) + 7 : len;
    }
    if (at + HTTP_DATE_LEN <= len)
        memcpy(out->head + at, date, HTTP_DATE_LEN);
    out->status = status;
    out->head_len = len;
    out->close = conn == REPLY_CLOSE;
    return status;
}

int reply_simple(struct reply *out, int status, const char *content_type, const char *body, size_t len,
                 const char *extra, enum reply_conn conn, time_t now)
{
    int no_body = status == 204 || status == 304;
    if (reply_head(out, status, content_type, no_body ? -1 : (long long)len, NULL, extra, conn, now) != status)
        return out->status;
    if (!no_body && len > 0) {
        out->body = body;
        out->body_len = len;
    }
    return status;
}

static int must_close(int status)
{
    switch (status) {
    case 400: case 408: case 411: case 413: case 414: case 431: case 500: case 501: case 505:
        return 1;
    default:
        return 0;
    }
}

int reply_error_hdrs(struct reply *out, int status, enum reply_conn conn, const char *hdrs, const char *extra,
                     time_t now)
{
    const struct status_row *row = status_find(status);
    const char *page = row ? row->page : PAGE(500, "Internal Server Error");
    int no_body = status == 204 || status == 304;
    size_t len = no_body ? 0 : strlen(page);
    if (must_close(status))
        conn = REPLY_CLOSE;
    if (reply_head(out, status, no_body ? NULL : "text/html; charset=utf-8", no_body ? -1 : (long long)len, hdrs,
                   extra, conn, now) != status)
        return out->status;
    if (len > 0) {
        out->body = page;
        out->body_len = len;
    }
    return status;
}

int reply_error(struct reply *out, int status, enum reply_conn conn, const char *extra, time_t now)
{
    return reply_error_hdrs(out, status, conn, NULL, extra, now);
}

void reply_release(struct reply *r)
{
    if (r->pin != NULL) {
        /* Borrowed body / descriptor: they belong to the pin's owner. */
        void *pin = r->pin;
        r->pin = NULL;
        r->file_fd = -1;
        r->body = NULL;
        r->body_len = 0;
        if (r->unpin)
            r->unpin(pin);
        return;
    }
    if (r->file_fd >= 0)
        close(r->file_fd); /* read-only file: close cannot lose data; nothing to report */
    r->file_fd = -1;
}

void reply_drop_body(struct reply *r)
{
    reply_release(r);
    r->body = NULL;
    r->body_len = 0;
    r->file_off = r->file_len = 0;
}
