/* err.h — error reporting with errno and context.
 *
 * Every message goes to stderr as "<prog>: <context>: <strerror(errno)>\n", where
 * <prog> is program_invocation_short_name. The functions never allocate and are
 * safe to call after fork().
 *
 *   die(fmt, ...)        print with the current errno and exit(EXIT_FAILURE). Never returns.
 *   die_msg(fmt, ...)    print without errno and exit(EXIT_FAILURE). Never returns.
 *   warn_errno(fmt, ...) print with the current errno; errno is preserved.
 *   warn_msg(fmt, ...)   print without errno; errno is preserved.
 *   errno_name(e)        "EBADF", "EAGAIN", ... for e, or "E?<number>" for an unknown value;
 *                        the string is static (unknown values use a per-thread buffer).
 */
#ifndef FDLAB_ERR_H
#define FDLAB_ERR_H

#include <errno.h>

__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);
__attribute__((noreturn, format(printf, 1, 2))) void die_msg(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void warn_errno(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void warn_msg(const char *fmt, ...);
const char *errno_name(int e);

#endif
