/* pgroup.c — see pgroup.h. */
#include "pgroup.h"

#include <dirent.h>
#include <stdlib.h>

#include "procinfo.h"

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
        pid_t pgrp;
        if (proc_stat((pid_t)atoi(e->d_name), &state, &pgrp) == 0 && pgrp == pgid && state != 'Z' &&
            state != 'X')
            n++;
    }
    closedir(d);
    return n;
}
