/* urlpath.c — a request target to a path beneath the docroot, and back (urlpath.h). */
#include "urlpath.h"

#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void urlpath_split(const struct http_request *req, struct http_str *path, struct http_str *query)
{
    struct http_str t = req->target;
    if (req->form == HTTP_FORM_ABSOLUTE) {
        /* The authority is a view inside the target: the path starts right after it. */
        size_t skip = (size_t)(req->authority.p + req->authority.len - t.p);
        if (req->authority.p < t.p || skip > t.len)
            skip = t.len; /* cannot happen with the parser's views; stay in bounds */
        t.p += skip;
        t.len -= skip;
    }
    size_t q = 0;
    while (q < t.len && t.p[q] != '?')
        q++;
    *path = (struct http_str){t.p, q};
    *query = (struct http_str){t.p + q, t.len - q};
    if (path->len == 0)
        *path = (struct http_str){"/", 1}; /* "http://host" or "http://host?x" */
}

int urlpath_normalise(struct http_str path, char *rel, size_t cap, int *dir_hint)
{
    size_t len = 0, i = 0;
    if (path.len == 0 || path.p[0] != '/')
        return 400;
    *dir_hint = 0;
    rel[0] = '\0';
    while (i < path.len) {
        i++; /* the '/' */
        size_t seg = len ? len + 1 : 0; /* where this segment's first byte goes */
        size_t k = seg;
        while (i < path.len && path.p[i] != '/') {
            unsigned char c = (unsigned char)path.p[i];
            if (c == '%') {
                int hi = i + 1 < path.len ? hexval(path.p[i + 1]) : -1;
                int lo = i + 2 < path.len ? hexval(path.p[i + 2]) : -1;
                if (hi < 0 || lo < 0)
                    return 400;
                c = (unsigned char)(hi * 16 + lo);
                if (c == '/')
                    return 400; /* an encoded separator: see static.h */
                i += 3;
            } else {
                if (c == '#')
                    return 400;
                i++;
            }
            if (c < 0x20 || c == 0x7f || c == '\\')
                return 400; /* NUL and the other controls; backslash */
            if (k + 1 >= cap)
                return 414;
            rel[k++] = (char)c;
        }
        size_t n = k - seg;
        const char *s = rel + seg;
        if (n == 0 || (n == 1 && s[0] == '.')) {
            *dir_hint = 1;
        } else if (n == 2 && s[0] == '.' && s[1] == '.') {
            if (len == 0)
                return 400; /* would climb above the root */
            while (len > 0 && rel[len - 1] != '/')
                len--;
            if (len > 0)
                len--; /* the separator before the dropped segment */
            *dir_hint = 1;
        } else {
            if (seg > 0)
                rel[len] = '/';
            len = k;
            *dir_hint = 0;
        }
        rel[len] = '\0';
    }
    return 0;
}

int urlpath_location(char *buf, size_t cap, const char *rel, struct http_str query)
{
    static const char keep[] = "-._~!$&'()*+,;=:@/";
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
#define PUT(c) do { if (n + 1 >= cap) return -1; buf[n++] = (c); } while (0)
    const char *pre = "Location: /";
    for (const char *c = pre; *c; c++)
        PUT(*c);
    for (const unsigned char *c = (const unsigned char *)rel; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            strchr(keep, *c) != NULL) {
            PUT((char)*c);
        } else {
            PUT('%');
            PUT(hex[*c >> 4]);
            PUT(hex[*c & 15]);
        }
    }
    PUT('/');
    for (size_t i = 0; i < query.len; i++)
        PUT(query.p[i]); /* visible ASCII, as the parser checked */
    PUT('\r');
    PUT('\n');
#undef PUT
    buf[n] = '\0';
    return 0;
}
