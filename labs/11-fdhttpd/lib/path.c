/* path.c — a request target to a path relative to the docroot, and that path opened
 * beneath the root (see path.h; the rules are static.h's TARGET → PATH and OUTCOMES). */
#include "path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "static.h"

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

void path_split_target(const struct http_request *req, struct http_str *path, struct http_str *query)
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

int path_normalise(struct http_str path, char *rel, size_t cap, int *dir_hint, size_t *rel_len)
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

int path_location(char *buf, size_t cap, const char *rel, struct http_str query)
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

/* ---------------------------------------------------------------- opening beneath the root */

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

/* openat2 beneath the root; "" is the root itself. */
int site_open_file(const struct site *s, const char *rel)
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

int path_open_status(int e)
{
    switch (e) {
    case ENOENT: case ENOTDIR:
        return 404;
    case EACCES: case EPERM: case ELOOP: case EXDEV:
    case ENXIO: /* a Unix socket (open(2) cannot open one): no file to serve */
        return 403;
    case ENAMETOOLONG: /* a name no file can have: not found (the line was not too long) */
        return 404;
    case EMFILE: case ENFILE: case ENOMEM:
        return 503;
    default:
        return 500;
    }
}
