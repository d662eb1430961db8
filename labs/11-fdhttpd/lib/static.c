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

/* ---------------------------------------------------------------- target → relative path */

/* The path and query views of the target (origin- or absolute-form). */
static void target_split(const struct http_request *req, struct http_str *path, struct http_str *query)
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

/* The target bytes path_normalise must look at: '%' (an escape), '#', '\\', the
 * controls and DEL (400). Every other byte is copied as it is. */
static const unsigned char special[256] = {
    [0 ... 0x1f] = 1, ['#'] = 1, ['%'] = 1, ['\\'] = 1, [0x7f] = 1,
};

/* Decodes and normalises path (starting with '/') into rel (cap bytes, NUL-terminated,
 * no leading '/', "" for the root). *dir_hint = 1 when the last segment was empty, "."
 * or "..", *rel_len = strlen(rel). Returns 0 or the HTTP status to answer (400, 414). */
static int path_normalise(struct http_str path, char *rel, size_t cap, int *dir_hint, size_t *rel_len)
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
            if (!special[c]) { /* most bytes: copied as they are */
                if (k + 1 >= cap)
                    return 414;
                rel[k++] = (char)c;
                i++;
                continue;
            }
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
    *rel_len = len;
    return 0;
}

/* ---------------------------------------------------------------- opening */

/* Without openat2 (ENOSYS: a kernel before 5.6, or valgrind 3.19, which does not know
 * the call), the walk beneath the root is done one component at a time, each opened
 * with O_NOFOLLOW: rel is relative and has no "..", "." or empty segment
 * (path_normalise), so with no symlink followed every step stays beneath the root. A
 * symlink anywhere gives ELOOP (403), as RESOLVE_NO_SYMLINKS does. Following symlinks
 * while staying beneath cannot be checked this way: then ENOSYS stays (500). */
static int open_walk(const struct site *s, const char *rel, int flags)
{
    if (s->follow_symlinks) {
        errno = ENOSYS;
        return -1;
    }
    if (rel[0] == '\0')
        return openat(s->root_fd, ".", flags);
    int dir = s->root_fd;
    const char *p = rel, *slash;
    while ((slash = strchr(p, '/')) != NULL) {
        char seg[NAME_MAX + 1];
        size_t n = (size_t)(slash - p);
        int next = -1;
        if (n > NAME_MAX) {
            errno = ENAMETOOLONG;
        } else {
            memcpy(seg, p, n);
            seg[n] = '\0';
            next = openat(dir, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        int e = errno;
        struct stat sb;
        if (next < 0 && e == ENOTDIR && fstatat(dir, seg, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(sb.st_mode))
            e = ELOOP; /* a symlinked directory: what RESOLVE_NO_SYMLINKS says */
        if (dir != s->root_fd)
            close(dir);
        if (next < 0) {
            errno = e;
            return -1;
        }
        dir = next;
        p = slash + 1;
    }
    int fd = openat(dir, p, flags | O_NOFOLLOW);
    int e = errno;
    if (dir != s->root_fd)
        close(dir);
    errno = e;
    return fd;
}

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
        if (fd < 0 && errno == ENOSYS)
            return open_walk(s, rel, (int)how.flags);
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

/* Location for "/dir" → "/dir/": the normalised path re-encoded, plus the query. */
static int location(char *buf, size_t cap, const char *rel, struct http_str query)
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
            if (location(loc, sizeof loc, rel, query) < 0)
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

/* Validators, conditionals, Range, then the head; the body is the file's bytes (data or
 * fd). Consumes f: an owned fd goes into out or is closed; a pin goes into out or is
 * dropped. `date`: the preformatted Date of `now`, or NULL to format it. */
static int answer(struct file_view *f, const struct http_request *req, int head, enum reply_conn conn,
                  const char *extra, time_t now, const char *date, struct reply *out)
{
    char lmbuf[HTTP_DATE_LEN + 1], hdrs[256], dbuf[HTTP_DATE_LEN + 1];
    if (date == NULL) {
        http_date_format(now, dbuf);
        date = dbuf;
    }
    time_t lm = f->mtime_s < now ? f->mtime_s : now;
    const char *lmdate = f->lmdate; /* the cache formatted it once */
    if (lmdate == NULL || lm != f->mtime_s) {
        http_date_format(lm, lmbuf);
        lmdate = lmbuf;
    }
    long long size = f->size;
    int status = 200;
    long long first = 0, last = size - 1;

    {
        /* Conditionals: If-None-Match first; If-Modified-Since only without it. One pass
         * over the fields finds them and Range. */
        struct http_str ims_v = {"", 0}, v = {"", 0};
        int inm = 0, ims_n = 0, range_n = 0, not_modified;
        for (size_t i = 0; i < req->num_headers; i++) {
            struct http_str name = req->headers[i].name;
            if (http_str_ieq(name, "If-None-Match"))
                inm++;
            else if (http_str_ieq(name, "If-Modified-Since") && ims_n++ == 0)
                ims_v = req->headers[i].value;
            else if (http_str_ieq(name, "Range") && range_n++ == 0)
                v = req->headers[i].value;
        }
        if (inm > 0) {
            not_modified = none_match(req, f->etag);
        } else {
            time_t ims;
            not_modified = ims_n == 1 && http_date_parse(trim(ims_v).p, trim(ims_v).len, &ims) == 0 && lm <= ims;
        }
        if (not_modified) {
            snprintf(hdrs, sizeof hdrs, "ETag: %s\r\nLast-Modified: %s\r\n", f->etag, lmdate);
            status = reply_head_date(out, 304, NULL, -1, hdrs, extra, conn, date);
            goto drop;
        }
        /* Range: GET only, one field line, one range-spec, If-Range satisfied. */
        enum range_res rr = RANGE_IGNORE;
        if (!head && range_n == 1 && if_range_ok(req, f->etag, lm))
            rr = range_parse(v, size, &first, &last);
        if (rr == RANGE_416) {
            snprintf(hdrs, sizeof hdrs, "Content-Range: bytes */%lld\r\n", size);
            reply_error_hdrs(out, 416, conn, hdrs, extra, now);
            status = out->status;
            goto drop;
        }
        if (rr == RANGE_OK) {
            status = 206;
        } else {
            first = 0;
            last = size - 1;
        }
    }
    long long len = last - first + 1;
    struct fc_entry *e = f->e;
    /* Every 200 of a cached file has the same head but for Date: made once (per
     * Connection line and extra), then copied and stamped per hit. The Last-Modified
     * in it is the entry's mtime: only for an mtime not in the future. */
    int memo = status == 200 && e != NULL && lm == f->mtime_s;
    int st;
    if (memo && e->memo_len > 0 && e->memo_conn == (int)conn && e->memo_ctype == f->ctype && e->memo_extra == extra) {
        st = reply_head_copy(out, 200, e->memo, e->memo_len, date, conn);
    } else {
        int hn = snprintf(hdrs, sizeof hdrs, "ETag: %s\r\nLast-Modified: %s\r\nAccept-Ranges: bytes\r\n", f->etag,
                          lmdate);
        if (status == 206)
            snprintf(hdrs + hn, sizeof hdrs - (size_t)hn, "Content-Range: bytes %lld-%lld/%lld\r\n", first, last,
                     size);
        st = reply_head_date(out, status, f->ctype, len, hdrs, extra, conn, date);
        if (memo && st == 200 && out->head_len <= sizeof e->memo) {
            memcpy(e->memo, out->head, out->head_len);
            e->memo_len = out->head_len;
            e->memo_conn = (int)conn;
            e->memo_ctype = f->ctype;
            e->memo_extra = extra;
        }
    }
    if (st != status || head || len == 0) {
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
    target_split(req, &path, &query);
    size_t rel_len = 0;
    st = path_normalise(path, rel, sizeof rel - sizeof "/" INDEX, &dir_hint, &rel_len);
    if (st != 0)
        return reply_error(out, st, conn, extra, now);

    struct file_view f = {.fd = -1};
    char key[PATH_MAX];
    size_t keylen = 0;
    if (fc != NULL) {
        /* The key is the request's normalised path; "/" marks a directory request. */
        keylen = rel_len;
        memcpy(key, rel, keylen);
        if (dir_hint)
            key[keylen++] = '/';
        f.e = fcache_find(fc, key, keylen);
    }
    if (f.e == NULL) {
        struct stat sb;
        int fd = -1;
        st = resolve(s, rel, dir_hint, query, conn, extra, now, out, &fd, &sb);
        if (st != 0) {
            if (fc != NULL)
                fcache_forget(fc, key, keylen); /* gone or no longer allowed */
            return st;
        }
        const char *ctype = mime_type(rel, strlen(rel));
        if (fc != NULL)
            f.e = fcache_store(fc, key, keylen, fd, &sb, ctype); /* takes fd */
        if (f.e == NULL) {
            if (fc != NULL) { /* the cache could not keep it: serve it uncached */
                fd = open_beneath(s, rel);
                if (fd < 0)
                    return reply_error(out, status_of_errno(errno), conn, extra, now);
                if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
                    close(fd);
                    return reply_error(out, 500, conn, extra, now);
                }
            }
            char tag[64];
            long long mtime_ns = (long long)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec;
            snprintf(tag, sizeof tag, "\"%llx-%llx-%llx\"", (unsigned long long)sb.st_ino,
                     (unsigned long long)sb.st_size, (unsigned long long)mtime_ns);
            f = (struct file_view){.fd = fd, .size = sb.st_size, .mtime_s = sb.st_mtim.tv_sec, .etag = tag,
                                   .ctype = ctype};
            return answer(&f, req, head, conn, extra, now, date, out);
        }
    }
    f.fd = f.e->fd;
    f.data = f.e->data;
    f.size = f.e->size;
    f.mtime_s = f.e->mtime_s;
    f.etag = f.e->etag;
    f.ctype = f.e->ctype;
    f.lmdate = f.e->lmdate;
    return answer(&f, req, head, conn, extra, now, date, out);
}
