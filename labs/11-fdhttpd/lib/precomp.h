/* precomp.h — precompressed siblings (--gzip-static, nginx's gzip_static habit) and the
 * header lines every file response of a server carries (--cache-control, and Vary when
 * siblings may be served). static.c calls these from one hook; precomp.c.
 *
 * THE RULE. A GET or HEAD of FILE whose client accepts gzip is answered from FILE.gz,
 * when that is a regular file beneath the root (same openat2 rules as every request),
 * with "Content-Encoding: gzip" and the Content-Type of FILE. FILE itself must exist:
 * 404, 403 and the directory redirect are decided on it, so turning --gzip-static on
 * changes no status. The .gz is the representation: Content-Length, Range (the bytes
 * of the compressed file, RFC 9110 §14.1.2: a range is of the selected representation),
 * If-Range and If-None-Match all use its size and its validators. Its ETag is made
 * from the .gz's own size and mtime with the suffix "-gzip", so it never equals the
 * identity file's ETag (a cache must not answer a gzip request from an identity copy or
 * the reverse: different ETags, and Vary says the choice depends on Accept-Encoding).
 * Whether FILE.gz is stale compared with FILE is the operator's business, as in nginx.
 * Cost: one openat2 and one fstat more per gzip-accepting request of a file (the .gz is
 * not in the open-file cache).
 *
 * ACCEPTS GZIP (RFC 9110 §12.5.3): every Accept-Encoding field line is read; "gzip" or
 * "x-gzip" with q > 0 accepts it, q=0 refuses it; otherwise "*" with q > 0 accepts it.
 * No Accept-Encoding: not accepted (identity is always fine).
 *
 * precomp_configure(s, gzip_static, cache_control): once per site (the master, after
 *   site_open): s->file_hdrs = "Vary: Accept-Encoding\r\n" when gzip_static, then
 *   "Cache-Control: VALUE\r\n" when cache_control is not NULL (at most 200 bytes, no
 *   CR/LF: config.c checks). These lines go on every 200, 206 and 304 of a file.
 * precomp_accepts_gzip(req): 1 or 0, as above.
 * precomp_find(s, req, rel, add_index, p): when s->gzip_static and the client accepts
 *   gzip, opens rel (plus "/index.html" when add_index: rel names the directory) + ".gz".
 *   Returns 1 with p->fd (the caller's), p->sb and p->etag; 0 when there is none (or it
 *   is not a regular file, or any error: the identity file is served).
 */
#ifndef LAB11_PRECOMP_H
#define LAB11_PRECOMP_H

#include <sys/stat.h>

#include "http_parse.h"
#include "static.h"

#define PRECOMP_GZIP_HDR "Content-Encoding: gzip\r\n"

struct precomp {
    int fd;
    struct stat sb;
    char etag[64];
};

void precomp_configure(struct site *s, int gzip_static, const char *cache_control);
int precomp_accepts_gzip(const struct http_request *req);
int precomp_find(const struct site *s, const struct http_request *req, const char *rel, int add_index,
                 struct precomp *p);

#endif
