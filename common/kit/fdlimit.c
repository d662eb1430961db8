/* fdlimit.c — see fdlimit.h. */
#include "fdlimit.h"

#include <limits.h>
#include <sys/resource.h>

static long as_long(rlim_t v)
{
    return v == RLIM_INFINITY || v > (rlim_t)LONG_MAX ? LONG_MAX : (long)v;
}

long fd_limit_raise(long want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    if (want <= as_long(rl.rlim_cur))
        return as_long(rl.rlim_cur);
    rl.rlim_cur = want < as_long(rl.rlim_max) ? (rlim_t)want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    return as_long(rl.rlim_cur);
}
