/* labpath.c — see labpath.h. */
#include "labpath.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *build_path(char *buf, size_t len, const char *rel)
{
    const char *build = getenv("FDLAB_BUILD");
    if (!build || !*build)
        build = "build/gcc";
    int n = snprintf(buf, len, "%s/%s", build, rel);
    if (n < 0 || (size_t)n >= len) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    return buf;
}

int self_dir(char *buf, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0)
        return -1;
    exe[n] = '\0';
    const char *d = dirname(exe); /* a pointer into exe, or a static "." or "/" */
    if (strlen(d) >= len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, d, strlen(d) + 1);
    return 0;
}
