/* unixsock.c — see unixsock.h. */
#include "unixsock.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Fills *sa and returns the address length to pass to bind/connect, or -1. */
static int make_addr(const char *name, struct sockaddr_un *sa, socklen_t *len)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    size_t n = strlen(name);
    if (n == 0 || n >= sizeof sa->sun_path) {
        errno = n == 0 ? EINVAL : ENAMETOOLONG;
        return -1;
    }
    memcpy(sa->sun_path, name, n);
    if (name[0] == '@') {
        sa->sun_path[0] = '\0'; /* abstract: the length, not a NUL, ends the name */
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    return 0;
}

int unix_listen(const char *name, int type, int backlog)
{
    struct sockaddr_un sa;
    socklen_t len;
    if (make_addr(name, &sa, &len) < 0)
        return -1;
    if (name[0] != '@') {
        struct stat st;
        if (lstat(name, &st) == 0) {
            if (!S_ISSOCK(st.st_mode)) {
                errno = EEXIST;
                return -1;
            }
            if (unlink(name) < 0)
                return -1;
        }
    }
    int fd = socket(AF_UNIX, type, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, backlog) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int unix_connect(const char *name, int type)
{
    struct sockaddr_un sa;
    socklen_t len;
    if (make_addr(name, &sa, &len) < 0)
        return -1;
    int fd = socket(AF_UNIX, type, 0);
    if (fd < 0)
        return -1;
    int rc;
    do
        rc = connect(fd, (struct sockaddr *)&sa, len);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}
