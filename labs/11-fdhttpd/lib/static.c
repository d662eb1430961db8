/* static.c — files from a document root (see static.h for the whole contract): the
 * method, the cache, the conditionals and the head. The target's path and the open
 * beneath the root are path.c. */
#include "static.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fcache.h"
#include "hdrview.h"
#include "mime.h"
#include "path.h"
#include "precomp.h"
#include "validators.h"

#define ALLOW "Allow: GET, HEAD, OPTIONS\r\n"
#define INDEX "index.html"

int site_open(struct site *s, const char *root, int follow_symlinks)
{
    s->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    s->follow_symlinks = follow_symlinks;
    s->gzip_static = 0;
    s->file_hdrs[0] = '\0';
    return s->root_fd < 0 ? -1 : 0;
}

void site_close(struct site *s)
{
    if (s->root_fd >= 0)
        close(s->root_fd); /* an O_PATH fd: close cannot fail in a way that matters */
    s->root_fd = -1;
}

/* ---------------------------------------------------------------- target to path
 * (static.h: TARGET → PATH). Nothing here allocates or answers. */

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

/* The path and the query ('?' onwards, "" when none) of req's target: origin-form as
 * it is, absolute-form after its authority. An empty path is "/". Views into req. */
static void path_split_target(const struct http_request *req, struct http_str *path, struct http_str *query)
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

/* The special byte at path.p[*i] (special[] says it is one), decoded when it is an
 * escape; *i moves past it. Returns the byte, or -1 when the request is a 400. */
static int take_special(struct http_str path, size_t *i)
{
    unsigned char c = (unsigned char)path.p[*i];
    if (c == '%') {
        int hi = *i + 1 < path.len ? hexval(path.p[*i + 1]) : -1;
        int lo = *i + 2 < path.len ? hexval(path.p[*i + 2]) : -1;
        if (hi < 0 || lo < 0)
            return -1;
        c = (unsigned char)(hi * 16 + lo);
        if (c == '/')
            return -1; /* an encoded separator: see static.h */
        *i += 3;
    } else {
        if (c == '#')
            return -1;
        *i += 1;
    }
    if (c < 0x20 || c == 0x7f || c == '\\')
        return -1; /* NUL and the other controls; backslash */
    return c;
}

/* The segment just decoded, rel[seg, k), where rel holds *len bytes before it: "" and
 * "." are dropped, ".." drops the segment before it, any other is appended after a
 * '/'. Updates *len and *dir_hint. Returns 0, or 400 for a ".." above the root. */
static int end_segment(char *rel, size_t seg, size_t k, size_t *len, int *dir_hint)
{
    size_t n = k - seg;
    const char *s = rel + seg;
    if (n == 0 || (n == 1 && s[0] == '.')) {
        *dir_hint = 1;
    } else if (n == 2 && s[0] == '.' && s[1] == '.') {
        if (*len == 0)
            return 400; /* would climb above the root */
        while (*len > 0 && rel[*len - 1] != '/')
            (*len)--;
        if (*len > 0)
            (*len)--; /* the separator before the dropped segment */
        *dir_hint = 1;
    } else {
        if (seg > 0)
            rel[*len] = '/';
        *len = k;
        *dir_hint = 0;
    }
    rel[*len] = '\0';
    return 0;
}

/* Decodes path (it must start with '/') into rel: cap bytes, NUL-terminated, relative
 * (no leading '/'; "" is the root), with no "", "." or ".." segment left (static.h:
 * TARGET → PATH). *dir_hint = 1 when the last segment was empty, "." or "..";
 * *rel_len = strlen(rel). Returns 0; 400 for a bad escape, an encoded '/', '#', a
 * control byte, a backslash or a ".." above the root; 404 when rel would not fit in
 * cap (no file has such a path: the request-line's length is the parser's 414). */
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
            int c = (unsigned char)path.p[i];
            if (!special[c]) /* most bytes: copied as they are */
                i++;
            else if ((c = take_special(path, &i)) < 0)
                return 400;
            if (k + 1 >= cap)
                return 404;
            rel[k++] = (char)c;
        }
        if (end_segment(rel, seg, k, &len, dir_hint) != 0)
            return 400;
    }
    *rel_len = len;
    return 0;
}

/* ---------------------------------------------------------------- the handler */

/* Opens rel (the normalised path; cap bytes of room for "/index.html") and finds the
 * regular file to serve. Returns 0 with *fd (owned by the caller) and *sb, or the status
 * of a reply already written into *out (errors, the directory redirect). */
static int resolve(const struct site *s, char *rel, int dir_hint, struct http_str query, enum reply_conn conn,
                   const char *extra, time_t now, struct reply *out, int *fdp, struct stat *sb)
{
    int fd = site_open_file(s, rel);
    if (fd < 0)
        return reply_error(out, path_open_status(errno), conn, extra, now);
    if (fstat(fd, sb) < 0) {
        close(fd);
        return reply_error(out, 500, conn, extra, now);
    }
    if (S_ISDIR(sb->st_mode)) {
        close(fd);
        if (!dir_hint) {
            char loc[REPLY_HEAD_MAX];
            if (path_location(loc, sizeof loc, rel, query) < 0)
                return reply_error(out, 414, conn, extra, now);
            return reply_error_hdrs(out, 301, conn, loc, extra, now);
        }
        /* rel has room for the suffix: path_normalise was given less than its size. */
        strcat(rel, rel[0] ? "/" INDEX : INDEX);
        fd = site_open_file(s, rel);
        if (fd < 0)
            return reply_error(out, errno == ENOENT ? 403 : path_open_status(errno), conn, extra, now);
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
    const char *enc;   /* "" or PRECOMP_GZIP_HDR (precomp.h) */
    const char *more;  /* the site's file_hdrs: Vary, Cache-Control */
};

/* Conditionals (If-None-Match first; If-Modified-Since only without it), then Range
 * (GET only, one field line, one range-spec, If-Range satisfied). Returns 200 or 206
 * with the bytes [*first, *last] to send, or the status of a reply written into out
 * (304, 416, or the 500 a head too big for REPLY_HEAD_MAX falls back to). */
static int preconditions(const struct file_view *f, const struct http_request *req, int head, time_t lm,
                         const char *lmdate, enum reply_conn conn, const char *extra, time_t now, const char *date,
                         struct reply *out, long long *first, long long *last)
{
    char hdrs[640];
    /* If-None-Match first; If-Modified-Since only without it. One pass over the
     * fields finds them and Range. */
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
        not_modified = static_none_match(req, f->etag);
    } else {
        time_t ims;
        not_modified = ims_n == 1 && http_date_parse(trim(ims_v).p, trim(ims_v).len, &ims) == 0 && lm <= ims;
    }
    if (not_modified) {
        snprintf(hdrs, sizeof hdrs, "ETag: %s\r\nLast-Modified: %s\r\n%s", f->etag, lmdate, f->more);
        return reply_head_date(out, 304, NULL, -1, hdrs, extra, conn, date);
    }
    /* Range: GET only, one field line, one range-spec, If-Range satisfied. */
    enum range_res rr = RANGE_IGNORE;
    if (!head && range_n == 1 && static_if_range_ok(req, f->etag, lm))
        rr = static_range_parse(v, f->size, first, last);
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

/* The head of a 200 or 206 for bytes [first, last]. Every 200 of a cached file has the
 * same head but for Date: made once (per Connection line and extra), then copied and
 * stamped per hit. The Last-Modified in it is the entry's mtime: only for an mtime not
 * in the future (lm). Returns what reply_head_date / reply_head_copy return. */
static int file_head(const struct file_view *f, int status, long long first, long long last, time_t lm,
                     const char *lmdate, enum reply_conn conn, const char *extra, const char *date,
                     struct reply *out)
{
    char hdrs[640];
    long long size = f->size, len = last - first + 1;
    struct fc_entry *e = f->e;
    int memo = status == 200 && e != NULL && lm == f->mtime_s;
    int st;
    if (memo && e->memo_len > 0 && e->memo_conn == (int)conn && e->memo_ctype == f->ctype && e->memo_extra == extra) {
        st = reply_head_copy(out, 200, e->memo, e->memo_len, date, conn);
    } else {
        int hn = snprintf(hdrs, sizeof hdrs, "ETag: %s\r\nLast-Modified: %s\r\nAccept-Ranges: bytes\r\n%s%s",
                          f->etag, lmdate, f->enc, f->more);
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
    return st;
}

/* Validators, conditionals, Range, then the head; the body is the file's bytes (data or
 * fd). Consumes f: an owned fd goes into out or is closed; a pin goes into out or is
 * dropped. `date`: the preformatted Date of `now`, or NULL to format it. */
static int answer(struct file_view *f, const struct http_request *req, int head, enum reply_conn conn,
                  const char *extra, time_t now, const char *date, struct reply *out)
{
    char lmbuf[HTTP_DATE_LEN + 1], dbuf[HTTP_DATE_LEN + 1];
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
    long long size = f->size, first = 0, last = size - 1;
    int status = preconditions(f, req, head, lm, lmdate, conn, extra, now, date, out, &first, &last);
    if (status != 200 && status != 206)
        goto drop; /* 304 or 416 (or their fallback 500) is in out */
    long long len = last - first + 1;
    int st = file_head(f, status, first, last, lm, lmdate, conn, extra, date, out);
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
        fd = site_open_file(s, rel);
        if (fd < 0)
            return reply_error(out, path_open_status(errno), conn, extra, now);
        if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
            close(fd);
            return reply_error(out, 500, conn, extra, now);
        }
    }
    static_etag(tag, &sb);
    *f = (struct file_view){.fd = fd, .size = sb.st_size, .mtime_s = sb.st_mtim.tv_sec, .etag = tag, .ctype = ctype};
    return 0;
}

/* The methods of RFC 9110 §9 and RFC 5789 (PATCH), case-sensitive: a resource that does
 * not allow one of them answers 405 with Allow; any other method (CONNECT too: this
 * server does not tunnel) is not implemented here at all: 501 (RFC 9110 §9.1, §15.6.2). */
static int method_known(struct http_str m)
{
    static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (str_is(m, known[i]))
            return 1;
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
        return method_known(req->method) ? reply_error_hdrs(out, 405, conn, ALLOW, extra, now)
                                         : reply_error(out, 501, conn, extra, now);
    if (req->form != HTTP_FORM_ORIGIN && req->form != HTTP_FORM_ABSOLUTE)
        return reply_error(out, 400, conn, extra, now);

    struct http_str path, query;
    char rel[PATH_MAX];
    int dir_hint, st;
    path_split_target(req, &path, &query);
    size_t rel_len = 0;
    st = path_normalise(path, rel, sizeof rel - sizeof "/" INDEX, &dir_hint, &rel_len);
    if (st != 0)
        return reply_error(out, st, conn, extra, now);

    struct file_view f = {.fd = -1};
    char key[PATH_MAX], tag[64];
    size_t keylen = 0;
    if (fc != NULL) {
        /* The key is the request's normalised path; "/" marks a directory request. */
        keylen = rel_len;
        memcpy(key, rel, keylen);
        if (dir_hint)
            key[keylen++] = '/';
        f.e = fcache_find(fc, key, keylen);
    }
    int looked_up = f.e == NULL;
    if (f.e == NULL && (st = lookup(s, fc, key, keylen, rel, dir_hint, query, conn, extra, now, out, &f, tag)) != 0)
        return st;
    if (f.e != NULL)
        f = (struct file_view){.fd = f.e->fd, .data = f.e->data, .size = f.e->size, .mtime_s = f.e->mtime_s,
                               .etag = f.e->etag, .ctype = f.e->ctype, .lmdate = f.e->lmdate, .e = f.e};
    f.enc = "";
    f.more = s->file_hdrs;
    struct precomp pc; /* --gzip-static: FILE.gz instead, when the client takes gzip */
    if (precomp_find(s, req, rel, dir_hint && !looked_up, &pc)) {
        const char *ctype = f.ctype; /* a static string (mime.h), not the entry's */
        if (f.e != NULL)
            fcache_unref(f.e);
        else
            close(f.fd);
        f = (struct file_view){.fd = pc.fd, .size = pc.sb.st_size, .mtime_s = pc.sb.st_mtim.tv_sec, .etag = pc.etag,
                               .ctype = ctype, .enc = PRECOMP_GZIP_HDR, .more = s->file_hdrs};
    }
    return answer(&f, req, head, conn, extra, now, date, out);
}
