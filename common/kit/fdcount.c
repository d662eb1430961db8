/* fdcount.c — see fdcount.h. */
#include "fdcount.h"

#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>

/* Entries of a /proc/.../fd directory, "." and ".." aside. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

int fd_count(void)
{
    int n = count_entries("/proc/self/fd");
    return n < 0 ? -1 : n - 1; /* the DIR's own descriptor */
}

int fd_count_of(pid_t pid)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
    return count_entries(dir);
}

int fd_is_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1;
}
