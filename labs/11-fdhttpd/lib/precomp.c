/* precomp.c — precompressed siblings and per-server file header lines (precomp.h). */
#include "precomp.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hdrview.h"

void precomp_configure(struct site *s, int gzip_static, const char *cache_control)
{
    s->gzip_static = gzip_static;
    int n = snprintf(s->file_hdrs, sizeof s->file_hdrs, "%s", gzip_static ? "Vary: Accept-Encoding\r\n" : "");
    if (cache_control && n >= 0 && (size_t)n < sizeof s->file_hdrs)
        snprintf(s->file_hdrs + n, sizeof s->file_hdrs - (size_t)n, "Cache-Control: %s\r\n", cache_control);
}

/* The q of one element's parameters (";q=0.5"): 0 for a zero weight, 1 otherwise
 * (only zero matters here: any positive weight accepts). */
static int weight_positive(struct http_str params)
{
    const char *p = params.p, *end = params.p + params.len;
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        struct http_str one = trim((struct http_str){p, (size_t)((semi ? semi : end) - p)});
        if (one.len >= 2 && (one.p[0] == 'q' || one.p[0] == 'Q') && one.p[1] == '=') {
            struct http_str v = trim((struct http_str){one.p + 2, one.len - 2});
            for (size_t i = 0; i < v.len; i++)
                if (v.p[i] >= '1' && v.p[i] <= '9')
                    return 1;
            return 0; /* "0", "0.0", "0.000" */
        }
        p = semi ? semi + 1 : end;
    }
    return 1;
}

int precomp_accepts_gzip(const struct http_request *req)
{
    int gzip = -1, star = -1; /* -1: not named */
    for (size_t i = 0; i < req->num_headers; i++) {
        if (!http_str_ieq(req->headers[i].name, "Accept-Encoding"))
            continue;
        struct http_str v = req->headers[i].value;
        const char *p = v.p, *end = v.p + v.len;
        while (p < end) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *eend = comma ? comma : end;
            const char *semi = memchr(p, ';', (size_t)(eend - p));
            struct http_str name = trim((struct http_str){p, (size_t)((semi ? semi : eend) - p)});
            int pos = semi ? weight_positive((struct http_str){semi + 1, (size_t)(eend - semi - 1)}) : 1;
            if (http_str_ieq(name, "gzip") || http_str_ieq(name, "x-gzip"))
                gzip = pos;
            else if (str_is(name, "*"))
                star = pos;
            p = comma ? comma + 1 : end;
        }
    }
    return gzip > 0 || (gzip < 0 && star > 0);
}

int precomp_find(const struct site *s, const struct http_request *req, const char *rel, int add_index,
                 struct precomp *p)
{
    if (!s->gzip_static || !precomp_accepts_gzip(req))
        return 0;
    char gz[PATH_MAX];
    int n = snprintf(gz, sizeof gz, "%s%s%s.gz", rel, add_index && rel[0] ? "/" : "", add_index ? "index.html" : "");
    if (n < 0 || (size_t)n >= sizeof gz)
        return 0;
    p->fd = site_open_file(s, gz);
    if (p->fd < 0)
        return 0;
    if (fstat(p->fd, &p->sb) < 0 || !S_ISREG(p->sb.st_mode)) {
        close(p->fd);
        return 0;
    }
    long long mtime_ns = (long long)p->sb.st_mtim.tv_sec * 1000000000LL + p->sb.st_mtim.tv_nsec;
    snprintf(p->etag, sizeof p->etag, "\"%llx-%llx-gzip\"", (unsigned long long)p->sb.st_size,
             (unsigned long long)mtime_ns);
    return 1;
}
