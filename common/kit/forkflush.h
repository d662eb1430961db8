/* forkflush.h — fork() for a lab program that prints.
 *
 * A child that returns through exit() flushes the stdio buffers it inherited: what
 * the parent had printed but not yet written would appear twice. So the parent's
 * stdout is flushed before every fork.
 *
 * fork_or_die(): flushes stdout, then fork()s. Returns the child's pid in the parent
 *   and 0 in the child; when fork fails, dies (err.h: message with errno, exit 1).
 */
#ifndef FDLAB_FORKFLUSH_H
#define FDLAB_FORKFLUSH_H

#include <sys/types.h>

pid_t fork_or_die(void);

#endif
