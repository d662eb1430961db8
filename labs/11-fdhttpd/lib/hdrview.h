/* hdrview.h — small helpers over the request's views (http_parse.h) for static.c and
 * validators.c: an exact comparison, OWS trimming, and the field lines of one name.
 */
#ifndef LAB11_HDRVIEW_H
#define LAB11_HDRVIEW_H

#include <string.h>

#include "http_parse.h"

static inline int str_is(struct http_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.p, lit, n) == 0;
}

static inline struct http_str trim(struct http_str s)
{
    while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.len--;
    }
    while (s.len > 0 && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
        s.len--;
    return s;
}

/* Number of field lines named `name`; *first is the first one's value. */
static inline int header_find(const struct http_request *req, const char *name, struct http_str *first)
{
    int n = 0;
    *first = (struct http_str){"", 0};
    for (size_t i = 0; i < req->num_headers; i++)
        if (http_str_ieq(req->headers[i].name, name)) {
            if (n++ == 0)
                *first = req->headers[i].value;
        }
    return n;
}

#endif
