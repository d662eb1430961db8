/* static.h — serving files from a document root: a pure decision plus an open file.
 *
 *   struct site s;  site_open(&s, "/srv/www", 0);        once, before the workers fork
 *   static_handle(&s, &req, now, "X-Worker: 3\r\n", &r); per request -> struct reply (reply.h)
 *
 * No socket I/O: the result is a complete response head and, for a GET of a file, an
 * open descriptor with the byte range to send. The reply OWNS that descriptor: the caller
 * sends it (sendfile) and calls reply_release(). static_handle keeps no state between
 * calls; static_handle_cached (below) keeps its state in the caller's fcache only.
 *
 * METHODS. GET and HEAD serve files; HEAD gets exactly GET's head and no body (no fd is
 * returned). OPTIONS (any target, "*" included) → 204 with "Allow: GET, HEAD, OPTIONS".
 * Another method of RFC 9110 §9 (POST, PUT, DELETE, TRACE) or PATCH → 405 with the same
 * Allow line; any other method (CONNECT, BREW, "get") → 501 (RFC 9110 §9.1) (the conn layer answers its own
 * routes — POST/PUT /echo, /status — before calling static_handle). A request body is
 * ignored here: the caller must consume it (or close) before the next request.
 *
 * TARGET → PATH (every step reads only the views' bytes; nothing is NUL-terminated):
 *  - origin-form: the target; absolute-form: the part after the authority ("/" if none).
 *    The query ('?' onwards) is dropped. A '#' (a fragment is never sent) → 400.
 *  - percent-decoding: "%" HEXDIG HEXDIG; a bad escape → 400; a decoded NUL → 400; a
 *    decoded byte < 0x20 or 0x7F → 400; an ENCODED '/' ("%2F") → 400 — a name cannot
 *    contain '/', and decoding it into a separator would let "..%2f" slip past a check
 *    made on the raw text; a backslash, raw or encoded, → 400 (no meaning on Linux; it
 *    is a separator to other systems sharing a docroot).
 *  - dot-segments (RFC 3986 §5.2.4), on the decoded segments: "." is dropped, ".." drops
 *    the previous segment; a ".." with nothing left to drop would climb above the root
 *    → 400 (not silently clamped as §5.2.4 does: such a request is an attack, not a
 *    link). Empty segments ("//") are dropped: "//etc/passwd" is "etc/passwd" INSIDE the
 *    root. A decoded path longer than PATH_MAX → 404 (no file has it).
 *  - the kernel then enforces the root: openat2(root_fd, path, O_RDONLY|O_NONBLOCK|
 *    O_NOCTTY|O_CLOEXEC, RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS|(follow_symlinks ? 0 :
 *    RESOLVE_NO_SYMLINKS)), see openat2(2). O_NONBLOCK: opening a FIFO must not wait for
 *    a writer.
 *
 * OUTCOMES
 *  ENOENT, ENOTDIR → 404.  EACCES, EPERM → 403.  Any symlink when !follow_symlinks
 *  (ELOOP) → 403; a symlink leaving the root (EXDEV, even when following) → 403.
 *  ENAMETOOLONG → 404; EMFILE/ENFILE/ENOMEM → 503; anything else → 500. Without
 *  openat2 (ENOSYS: a kernel before 5.6, or valgrind 3.19) the path is walked one
 *  component at a time with O_NOFOLLOW (the same answers, symlinks → 403) when
 *  !follow_symlinks; with follow_symlinks that is 500. EAGAIN (a rename raced a ".." inside a followed
 *  symlink) is retried a few times, as openat2(2) advises.
 *  Not a regular file or directory (FIFO, socket, device) → 403.
 *  A directory: target ending in '/' (or "." / "..") → its index.html (not a regular
 *  file, or absent → 403: no listings); without the slash → 301 with
 *  Location: /<normalised path re-encoded>/[?query] (re-encoded, never the raw target,
 *  so "//evil.example" cannot become a protocol-relative redirect). A file named with a
 *  trailing slash ("/a.txt/") → 404.
 *
 * VALIDATORS. ETag: STRONG, "\"<st_size hex>-<mtime in ns hex>\"" (validators.h) — it
 * changes whenever the file is resized or written (mtime, ns resolution; a replacing
 * rename brings the new file's mtime); no inode number, which would describe the
 * server's file system to every client; strong, so If-Range can use it (RFC 9110 §13.1.5 needs a strong match).
 * Last-Modified: IMF-fixdate of st_mtim, capped at `now` (RFC 9110 §8.8.2.1).
 * Accept-Ranges: bytes on 200.
 *
 * CONDITIONALS (GET/HEAD, RFC 9110 §13.2.2 order):
 *  If-None-Match (all its field lines, a list; "*" matches any file; WEAK comparison:
 *  W/ ignored on both sides) → 304 on a match. When If-None-Match is present,
 *  If-Modified-Since is not evaluated. Otherwise If-Modified-Since (exactly one valid
 *  HTTP-date, else ignored) → 304 when mtime (seconds) <= that date. A 304 carries
 *  ETag and Last-Modified, no Content-Length/Type, no body. If-Match and
 *  If-Unmodified-Since are NOT evaluated (ignored; no 412).
 *
 * RANGE (GET only — HEAD ignores it, RFC 9110 §14.2): exactly one Range field line,
 *  unit "bytes" (case-insensitive), exactly ONE range-spec:
 *   a-b → a..min(b, size-1);  a- → a..size-1;  -n → the last min(n, size) bytes.
 *   a >= size, or -0, or any range of an empty file → 416 with an unsatisfied-range
 *   Content-Range ("bytes *" then "/<size>", RFC 9110 §14.4) and a small HTML body.
 *   Satisfiable → 206, Content-Range: bytes first-last/size, file_off = first, file_len
 *   = last - first + 1.
 *  Ignored (→ the whole file, 200): several range-specs (RFC 9110 §14.2 lets a server
 *  ignore Range; multipart/byteranges is not implemented), another unit, a syntax error,
 *  b < a, several Range lines.
 *  If-Range: an entity-tag → the range is served only on a STRONG match with the ETag
 *  (a W/ tag never matches); an HTTP-date → only when it equals Last-Modified exactly;
 *  an invalid value → no match. No match → 200 with the whole file.
 *
 * CONNECTION. The reply keeps the connection as the request asked (reply_conn_of of
 * req->keep_alive, req->minor_version), except where reply_error forces close.
 */
#ifndef LAB11_STATIC_H
#define LAB11_STATIC_H

#include <time.h>

#include "http_parse.h"
#include "reply.h"

struct site {
    int root_fd;         /* open(root, O_PATH|O_DIRECTORY|O_CLOEXEC) */
    int follow_symlinks; /* 1: symlinks that stay beneath the root are followed */
    int gzip_static;     /* precomp.h: FILE.gz answers a client accepting gzip */
    char file_hdrs[288]; /* precomp.h: lines on every 200/206/304 of a file (Vary,
                            Cache-Control); "" by default */
};

/* Opens the docroot. Returns 0, or -1 with errno (ENOTDIR when root is no directory). */
int site_open(struct site *s, const char *root, int follow_symlinks);
void site_close(struct site *s); /* closes root_fd, sets it to -1 */
/* rel (normalised, relative) opened beneath the root with the rules above (openat2;
 * path.c). The fd, or -1 with errno. */
int site_open_file(const struct site *s, const char *rel);

/* Answers one parsed request (http_parse_request returned > 0) from the site. Fills
 * *out completely (see reply.h: the caller sends it and calls reply_release). `extra`:
 * header lines appended to every head, each ending in CRLF ("X-Worker: 3\r\n"), or
 * NULL. Never fails: errors become replies. Returns out->status. */
int static_handle(const struct site *s, const struct http_request *req, time_t now, const char *extra,
                  struct reply *out);

/* static_handle through a worker's open-file cache (fcache.h; fc NULL: no cache, exactly
 * static_handle). The same answers, with these differences: a file served less than
 * FC_VALID_MS ago is answered without any system call, from the cache — so a file
 * replaced or removed on disk is noticed within that bound (fcache.h); a 200/206 for a
 * file of at most FC_SMALL_MAX bytes carries the bytes in out->body instead of a
 * descriptor; and a reply that uses an entry is PINNED (reply.h: out->pin; the
 * descriptor is borrowed, reply_release drops the pin). `date`: the Date value of `now`
 * already formatted (a per-second cache), or NULL to format it here. The head of a 200
 * is kept in the entry and reused while the Content-Type, the Connection line and the
 * `extra` POINTER are the same: a caller must not change the bytes behind an `extra` it
 * passed before (a worker passes one constant string). */
struct fcache;
int static_handle_cached(const struct site *s, struct fcache *fc, const struct http_request *req, time_t now,
                         const char *date, const char *extra, struct reply *out);

#endif
