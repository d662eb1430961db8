/* static.c — files from a document root (see static.h for the whole contract). */
#include "static.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fcache.h"
#include "mime.h"
#include "urlpath.h"

#define ALLOW "Allow: GET, HEAD, OPTIONS\r\n"
#define INDEX "index.html"
#define NUM_MAX (INT64_MAX / 4) /* range numbers saturate here: no overflow in a sum */

int site_open(struct site *s, const char *root, int follow_symlinks)
{
    s->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    s->follow_symlinks = follow_symlinks;
    return s->root_fd < 0 ? -1 : 0;
}

void site_close(struct site *s)
{
    if (s->root_fd >= 0)
        close(s->root_fd); /* an O_PATH fd: close cannot fail in a way that matters */
    s->root_fd = -1;
}

/* ---------------------------------------------------------------- small view helpers */

static int str_is(struct http_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.p, lit, n) == 0;
}

static struct http_str trim(struct http_str s)
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
static int header_find(const struct http_request *req, const char *name, struct http_str *first)
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

/* ---------------------------------------------------------------- opening */

/* openat2 beneath the root; "" is the root itself. Returns the fd or -1 with errno. */
static int open_beneath(const struct site *s, const char *rel)
{
    struct open_how how = {
        .flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | (s->follow_symlinks ? 0 : RESOLVE_NO_SYMLINKS),
    };
    /* EAGAIN: RESOLVE_BENEATH saw a concurrent rename while resolving a ".." (only a
     * symlink's target can hold one here) and could not prove it stayed beneath;
     * openat2(2) says retry. Bounded: a persistent race ends as 500. */
    for (int tries = 0;; tries++) {
        int fd = (int)syscall(SYS_openat2, s->root_fd, rel[0] ? rel : ".", &how, sizeof how);
        if (fd >= 0 || errno != EAGAIN || tries == 8)
            return fd;
    }
}

static int status_of_errno(int e)
{
    switch (e) {
    case ENOENT: case ENOTDIR:
        return 404;
    case EACCES: case EPERM: case ELOOP: case EXDEV:
        return 403;
    case ENAMETOOLONG:
        return 414;
    case EMFILE: case ENFILE: case ENOMEM:
        return 503;
    default:
        return 500;
    }
}

/* ---------------------------------------------------------------- validators */

/* Weak comparison of our ETag (quoted, strong) with every entity-tag of the
 * If-None-Match lines; "*" matches any existing file. 1 on a match. */
static int none_match(const struct http_request *req, const char *etag)
{
    size_t elen = strlen(etag);
    for (size_t h = 0; h < req->num_headers; h++) {
        if (!http_str_ieq(req->headers[h].name, "If-None-Match"))
            continue;
        struct http_str v = trim(req->headers[h].value);
        if (str_is(v, "*"))
            return 1;
        size_t i = 0;
        while (i < v.len) {
            if (v.p[i] == ',' || v.p[i] == ' ' || v.p[i] == '\t') {
                i++;
                continue;
            }
            if (i + 1 < v.len && v.p[i] == 'W' && v.p[i + 1] == '/')
                i += 2;
            if (i >= v.len || v.p[i] != '"')
                break; /* not an entity-tag: the rest of the line cannot be trusted */
            size_t end = i + 1;
            while (end < v.len && v.p[end] != '"')
                end++;
            if (end >= v.len)
                break;
            if (end + 1 - i == elen && memcmp(v.p + i, etag, elen) == 0)
                return 1;
            i = end + 1;
        }
    }
    return 0;
}

/* If-Range (RFC 9110 §13.1.5): 1 when the range may be served. */
static int if_range_ok(const struct http_request *req, const char *etag, time_t lm)
{
    struct http_str v = {"", 0};
    if (header_find(req, "If-Range", &v) == 0)
        return 1;
    v = trim(v);
    if (v.len > 0 && v.p[0] == '"')
        return str_is(v, etag); /* strong comparison */
    if (v.len >= 2 && v.p[0] == 'W' && v.p[1] == '/')
        return 0; /* a weak tag never matches strongly */
    time_t t;
    return http_date_parse(v.p, v.len, &t) == 0 && t == lm;
}

/* ---------------------------------------------------------------- Range */

enum range_res { RANGE_IGNORE, RANGE_OK, RANGE_416 };

static long long parse_num(const char *p, size_t n, size_t *i, int *got)
{
    long long v = 0;
    *got = 0;
    while (*i < n && p[*i] >= '0' && p[*i] <= '9') {
        v = v > NUM_MAX / 10 ? NUM_MAX : v * 10 + (p[*i] - '0');
        if (v > NUM_MAX)
            v = NUM_MAX;
        (*i)++;
        *got = 1;
    }
    return v;
}

static enum range_res range_parse(struct http_str v, long long size, long long *first, long long *last)
{
    v = trim(v);
    if (v.len < 6 || !http_str_ieq((struct http_str){v.p, 6}, "bytes="))
        return RANGE_IGNORE;
    const char *p = v.p + 6;
    size_t n = v.len - 6, i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == ','))
        i++; /* empty list elements and OWS (RFC 9110 §5.6.1) */
    int got_a, got_b;
    long long a = parse_num(p, n, &i, &got_a);
    if (i >= n || p[i] != '-')
        return RANGE_IGNORE;
    i++;
    long long b = parse_num(p, n, &i, &got_b);
    for (; i < n; i++) {
        if (p[i] == ' ' || p[i] == '\t' || p[i] == ',')
            continue;
        return RANGE_IGNORE; /* a second range-spec (or garbage): whole file */
    }
    if (!got_a && !got_b)
        return RANGE_IGNORE;
    if (!got_a) { /* suffix: the last b bytes */
        if (b == 0 || size == 0)
            return RANGE_416;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return RANGE_OK;
    }
    if (got_b && b < a)
        return RANGE_IGNORE; /* invalid range-spec */
    if (a >= size)
        return RANGE_416;
    *first = a;
    *last = got_b && b < size - 1 ? b : size - 1;
    return RANGE_OK;
}

/* ---------------------------------------------------------------- the handler */

/* Opens rel (the normalised path; cap bytes of room for "/index.html") and finds the
 * regular file to serve. Returns 0 with *fd (owned by the caller) and *sb, or the status
 * of a reply already written into *out (errors, the directory redirect). */
static int resolve(const struct site *s, char *rel, int dir_hint, struct http_str query, enum reply_conn conn,
                   const char *extra, time_t now, struct reply *out, int *fdp, struct stat *sb)
{
    int fd = open_beneath(s, rel);
    if (fd < 0)
        return reply_error(out, status_of_errno(errno), conn, extra, now);
    if (fstat(fd, sb) < 0) {
        close(fd);
        return reply_error(out, 500, conn, extra, now);
    }
    if (S_ISDIR(sb->st_mode)) {
        close(fd);
        if (!dir_hint) {
            char loc[REPLY_HEAD_MAX];
            if (urlpath_location(loc, sizeof loc, rel, query) < 0)
                return reply_error(out, 414, conn, extra, now);
            return reply_error_hdrs(out, 301, conn, loc, extra, now);
        }
        /* rel has room for the suffix: path_normalise was given less than its size. */
        strcat(rel, rel[0] ? "/" INDEX : INDEX);
        fd = open_beneath(s, rel);
        if (fd < 0)
            return reply_error(out, errno == ENOENT ? 403 : status_of_errno(errno), conn, extra, now);
        if (fstat(fd, sb) < 0) {
            close(fd);
            return reply_error(out, 500, conn, extra, now);
        }
        if (!S_ISREG(sb->st_mode)) {
            close(fd);
            return reply_error(out, 403, conn, extra, now);
        }
    } else if (!S_ISREG(sb->st_mode)) {
        close(fd);
        return reply_error(out, 403, conn, extra, now);
    } else if (dir_hint) {
        close(fd); /* "/a.txt/": a file is no directory */
        return reply_error(out, 404, conn, extra, now);
    }
    *fdp = fd;
    return 0;
}

/* What answer() needs of a file: owned (fd, e == NULL) or from the cache (e pinned). */
struct file_view {
    int fd;            /* -1 when the bytes are in data */
    const char *data;
    long long size;
    time_t mtime_s;
    const char *etag;  /* quoted */
    const char *ctype;
    const char *lmdate; /* NULL, or the IMF-fixdate of mtime_s */
    struct fc_entry *e;
};

/* Conditionals (If-None-Match first; If-Modified-Since only without it), then Range
 * (GET only, one field line, one range-spec, If-Range satisfied). Returns 200 or 206
 * with the bytes [*first, *last] to send, or the status of a reply written into out
 * (304, 416, or the 500 a head too big for REPLY_HEAD_MAX falls back to). */
static int preconditions(const struct file_view *f, const struct http_request *req, int head, time_t lm,
                         const char *lmdate, enum reply_conn conn, const char *extra, time_t now, const char *date,
                         struct reply *out, long long *first, long long *last)
{
    char hdrs[256];
    struct http_str v = {"", 0};
    int not_modified;
    if (header_find(req, "If-None-Match", &v) > 0) {
        not_modified = none_match(req, f->etag);
    } else {
        time_t ims;
        not_modified = header_find(req, "If-Modified-Since", &v) == 1 &&
                       http_date_parse(trim(v).p, trim(v).len, &ims) == 0 && lm <= ims;
    }
    if (not_modified) {
        snprintf(hdrs, sizeof hdrs, "ETag: %s\r\nLast-Modified: %s\r\n", f->etag, lmdate);
        return reply_head_date(out, 304, NULL, -1, hdrs, extra, conn, date);
    }
    enum range_res rr = RANGE_IGNORE;
    if (!head && header_find(req, "Range", &v) == 1 && if_range_ok(req, f->etag, lm))
        rr = range_parse(v, f->size, first, last);
    if (rr == RANGE_416) {
        snprintf(hdrs, sizeof hdrs, "Content-Range: bytes */%lld\r\n", f->size);
        reply_error_hdrs(out, 416, conn, hdrs, extra, now);
        return out->status;
    }
    if (rr == RANGE_OK)
        return 206;
    *first = 0;
    *last = f->size - 1;
    return 200;
}

/* Validators, conditionals, Range, then the head; the body is the file's bytes (data or
 * fd). Consumes f: an owned fd goes into out or is closed; a pin goes into out or is
 * dropped. `date`: the preformatted Date of `now`, or NULL to format it. */
static int answer(struct file_view *f, const struct http_request *req, int head, enum reply_conn conn,
                  const char *extra, time_t now, const char *date, struct reply *out)
{
    char lmdate[HTTP_DATE_LEN + 1], hdrs[256], dbuf[HTTP_DATE_LEN + 1];
    if (date == NULL) {
        http_date_format(now, dbuf);
        date = dbuf;
    }
    time_t lm = f->mtime_s < now ? f->mtime_s : now;
    if (f->lmdate != NULL && lm == f->mtime_s)
        memcpy(lmdate, f->lmdate, sizeof lmdate); /* the cache formatted it once */
    else
        http_date_format(lm, lmdate);
    long long size = f->size, first = 0, last = size - 1;
    int status = preconditions(f, req, head, lm, lmdate, conn, extra, now, date, out, &first, &last);
    if (status != 200 && status != 206)
        goto drop; /* 304 or 416 (or their fallback 500) is in out */
    const char *vh = hdrs;
    if (status == 200 && f->e != NULL && lm == f->mtime_s) {
        /* The same lines for every 200 of this entry: built once (no snprintf per hit). */
        if (f->e->memo[0] == '\0')
            snprintf(f->e->memo, sizeof f->e->memo, "ETag: %s\r\nLast-Modified: %s\r\nAccept-Ranges: bytes\r\n",
                     f->etag, lmdate);
        vh = f->e->memo;
    } else {
        int hn = snprintf(hdrs, sizeof hdrs, "ETag: %s\r\nLast-Modified: %s\r\nAccept-Ranges: bytes\r\n", f->etag,
                          lmdate);
        if (status == 206)
            snprintf(hdrs + hn, sizeof hdrs - (size_t)hn, "Content-Range: bytes %lld-%lld/%lld\r\n", first, last,
                     size);
    }
    long long len = last - first + 1;
    if (reply_head_date(out, status, f->ctype, len, vh, extra, conn, date) != status || head || len == 0) {
        status = out->status; /* HEAD, an empty body, or the fallback 500: nothing to send */
        goto drop;
    }
    if (f->data != NULL) {
        out->body = f->data + first;
        out->body_len = (size_t)len;
    } else {
        out->file_fd = f->fd;
        out->file_off = (off_t)first;
        out->file_len = (off_t)len;
    }
    if (f->e != NULL) {
        out->pin = f->e; /* the entry owns data / fd until the reply is released */
        out->unpin = fcache_unpin;
    }
    return status;
drop:
    if (f->e != NULL)
        fcache_unref(f->e);
    else if (f->fd >= 0)
        close(f->fd);
    return status;
}

int static_handle(const struct site *s, const struct http_request *req, time_t now, const char *extra,
                  struct reply *out)
{
    return static_handle_cached(s, NULL, req, now, NULL, extra, out);
}

/* Not in the cache (or no cache): open and check the file, store it in fc when there is
 * one. Returns 0 with *f filled — an entry (pinned), or an owned fd with its ETag in
 * tag — or the status of a reply already written into out. */
static int lookup(const struct site *s, struct fcache *fc, const char *key, size_t keylen, char *rel, int dir_hint,
                  struct http_str query, enum reply_conn conn, const char *extra, time_t now, struct reply *out,
                  struct file_view *f, char tag[64])
{
    struct stat sb;
    int fd = -1;
    int st = resolve(s, rel, dir_hint, query, conn, extra, now, out, &fd, &sb);
    if (st != 0) {
        if (fc != NULL)
            fcache_forget(fc, key, keylen); /* gone or no longer allowed */
        return st;
    }
    const char *ctype = mime_type(rel, strlen(rel));
    if (fc != NULL && (f->e = fcache_store(fc, key, keylen, fd, &sb, ctype)) != NULL) /* takes fd */
        return 0;
    if (fc != NULL) { /* the cache could not keep it: serve it uncached */
        fd = open_beneath(s, rel);
        if (fd < 0)
            return reply_error(out, status_of_errno(errno), conn, extra, now);
        if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
            close(fd);
            return reply_error(out, 500, conn, extra, now);
        }
    }
    long long mtime_ns = (long long)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec;
    snprintf(tag, 64, "\"%llx-%llx-%llx\"", (unsigned long long)sb.st_ino, (unsigned long long)sb.st_size,
             (unsigned long long)mtime_ns);
    *f = (struct file_view){.fd = fd, .size = sb.st_size, .mtime_s = sb.st_mtim.tv_sec, .etag = tag, .ctype = ctype};
    return 0;
}

int static_handle_cached(const struct site *s, struct fcache *fc, const struct http_request *req, time_t now,
                         const char *date, const char *extra, struct reply *out)
{
    enum reply_conn conn = reply_conn_of(req->keep_alive, req->minor_version);
    int head = str_is(req->method, "HEAD");
    if (str_is(req->method, "OPTIONS"))
        return reply_head(out, 204, NULL, -1, ALLOW, extra, conn, now);
    if (!head && !str_is(req->method, "GET"))
        return reply_error_hdrs(out, 405, conn, ALLOW, extra, now);
    if (req->form != HTTP_FORM_ORIGIN && req->form != HTTP_FORM_ABSOLUTE)
        return reply_error(out, 400, conn, extra, now);

    struct http_str path, query;
    char rel[PATH_MAX];
    int dir_hint, st;
    urlpath_split(req, &path, &query);
    st = urlpath_normalise(path, rel, sizeof rel - sizeof "/" INDEX, &dir_hint);
    if (st != 0)
        return reply_error(out, st, conn, extra, now);

    struct file_view f = {.fd = -1};
    char key[PATH_MAX], tag[64];
    size_t keylen = 0;
    if (fc != NULL) {
        /* The key is the request's normalised path; "/" marks a directory request. */
        keylen = strlen(rel);
        memcpy(key, rel, keylen);
        if (dir_hint)
            key[keylen++] = '/';
        f.e = fcache_find(fc, key, keylen);
    }
    if (f.e == NULL && (st = lookup(s, fc, key, keylen, rel, dir_hint, query, conn, extra, now, out, &f, tag)) != 0)
        return st;
    if (f.e != NULL)
        f = (struct file_view){.fd = f.e->fd, .data = f.e->data, .size = f.e->size, .mtime_s = f.e->mtime_s,
                               .etag = f.e->etag, .ctype = f.e->ctype, .lmdate = f.e->lmdate, .e = f.e};
    return answer(&f, req, head, conn, extra, now, date, out);
}
