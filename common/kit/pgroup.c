/* pgroup.c — see pgroup.h. */
#include "pgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The state and process group of /proc/<name>/stat; 0, or -1 when it is gone. The
 * command name may hold spaces and parentheses: the fields start after the last ')'. */
static int stat_of(const char *name, char *state, int *pgrp)
{
    char path[300], buf[512]; /* a d_name is at most 255 bytes */
    snprintf(path, sizeof path, "/proc/%s/stat", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t len = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (len <= 0)
        return -1;
    buf[len] = '\0';
    const char *rp = strrchr(buf, ')');
    return rp && sscanf(rp + 1, " %c %*d %d", state, pgrp) == 2 ? 0 : -1;
}

int pgroup_count(pid_t pgid)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        char state;
        int pgrp;
        if (stat_of(e->d_name, &state, &pgrp) == 0 && pgrp == (int)pgid && state != 'Z' && state != 'X')
            n++;
    }
    closedir(d);
    return n;
}
