/* path.c — a path relative to the docroot opened beneath the root, and what a failed
 * open answers (see path.h; the rules are static.h's OUTCOMES). */
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
