/* drop.c — see drop.h. */
#include "drop.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int drop_privs(uid_t uid, gid_t gid)
{
    if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
        return -1;
    if (uid != 0 && setuid(0) == 0) {
        errno = EPERM; /* we could get root back: the drop did not happen */
        return -1;
    }
    return 0;
}

int parse_uint(const char *s, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v >= UINT_MAX) {
        errno = EINVAL;
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

int cap_sys_ptrace(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return -1;
    char line[256];
    int r = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long long caps;
        if (sscanf(line, "CapEff: %llx", &caps) == 1) {
            r = (int)((caps >> 19) & 1); /* CAP_SYS_PTRACE == 19, capability.h */
            break;
        }
    }
    fclose(f);
    return r;
}
