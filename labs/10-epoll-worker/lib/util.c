/* util.c — small helpers shared by lab 10's scenarios (see ew.h). */
#include <fcntl.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <time.h>

#include "err.h"
#include "ew.h"

uint64_t ew_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

long ew_ms_now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
        die("clock_gettime");
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void ew_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        die("fcntl O_NONBLOCK fd %d", fd);
}

long ew_inq(int fd)
{
    int n;
    if (ioctl(fd, FIONREAD, &n) < 0)
        die("ioctl FIONREAD fd %d", fd);
    return n;
}
