/* err.c — see err.h. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One vfprintf per message into a local buffer, then one write, so lines from
 * concurrent processes do not interleave mid-line. */
static void vreport(int with_errno, int e, const char *fmt, va_list ap)
{
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "%s: ", program_invocation_short_name);
    if (n < 0 || (size_t)n >= sizeof buf)
        n = 0;
    int m = vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    if (m > 0)
        n = (size_t)(n + m) < sizeof buf ? n + m : (int)sizeof buf - 1;
    if (with_errno)
        n += snprintf(buf + n, sizeof buf - (size_t)n, ": %s (%s)", strerror(e), errno_name(e));
    if ((size_t)n >= sizeof buf - 1)
        n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    fflush(stdout);
    fwrite(buf, 1, (size_t)n, stderr);
}

void die(const char *fmt, ...)
{
    int e = errno;
    va_list ap;
    va_start(ap, fmt);
    vreport(1, e, fmt, ap);
    va_end(ap);
    exit(EXIT_FAILURE);
}

void die_msg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(0, 0, fmt, ap);
    va_end(ap);
    exit(EXIT_FAILURE);
}

void warn_errno(const char *fmt, ...)
{
    int e = errno;
    va_list ap;
    va_start(ap, fmt);
    vreport(1, e, fmt, ap);
    va_end(ap);
    errno = e;
}

void warn_msg(const char *fmt, ...)
{
    int e = errno;
    va_list ap;
    va_start(ap, fmt);
    vreport(0, 0, fmt, ap);
    va_end(ap);
    errno = e;
}

const char *errno_name(int e)
{
    /* strerrorname_np() is glibc >= 2.32; Debian 12 has 2.36. */
    const char *s = strerrorname_np(e);
    if (s)
        return s;
    static _Thread_local char unknown[24];
    snprintf(unknown, sizeof unknown, "E?%d", e);
    return unknown;
}
