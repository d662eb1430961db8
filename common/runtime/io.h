/* io.h — bounded reads and a bounded reap, for programs that talk to their children
 * over pipes and sockets.
 *
 * Every wait takes a bound in milliseconds, so a peer that never answers (or never
 * exits) cannot hang the caller; nothing here sleeps without one.
 *
 * wait_readable(fd, ms): poll(2) for POLLIN; restarts on EINTR (the bound then
 *   starts again). Returns 1 when fd is readable or at end of file / in error (the
 *   next read() tells which), 0 when ms passed first, -1 with errno. ms < 0 waits
 *   without a bound — none of the labs does that.
 * read_full(fd, buf, n, ms): reads exactly n bytes, each wait bounded by ms.
 *   Returns n; the number read before end of file (< n, possibly 0); or -1 with errno
 *   (ETIMEDOUT when a wait ran out, or read()'s own errno). Bytes already read when
 *   it fails are in buf but not reported.
 * read_line(fd, buf, cap, ms): reads one line up to and including '\n', ONE byte at
 *   a time so that nothing after the line is consumed (the rest stays readable by
 *   the next caller, e.g. another read_line). The '\n' is replaced by '\0'. Returns
 *   the line length (without '\n'), or -1 with errno: ETIMEDOUT; EPROTO at end of
 *   file before '\n' or when the line does not fit in cap - 1 bytes.
 * reap_bounded(pid, ms): waits at most ms for the child pid to exit (pidfd_open(2)
 *   and poll; a WNOHANG loop where pidfds are unavailable), then SIGKILLs it. It
 *   always reaps the child before returning (after SIGKILL the wait is short).
 *   Returns the exit code, 128+signal when a signal ended it, or -1 with errno:
 *   ETIMEDOUT when it had to be killed, ECHILD when pid is not our child.
 * read_file(path, &len): the whole of a regular file, as it is now, in a malloc'd
 *   buffer with a '\0' after the last byte (so text can be searched as a string);
 *   *len (when len is not NULL) is its size. Returns the buffer (the caller frees it),
 *   or NULL with errno: open's or read's, ENOMEM. A file that grows while it is read
 *   is read up to the size fstat gave.
 */
#ifndef FDLAB_IO_H
#define FDLAB_IO_H

#include <stddef.h>
#include <sys/types.h>

int wait_readable(int fd, int ms);
ssize_t read_full(int fd, void *buf, size_t n, int ms);
ssize_t read_line(int fd, char *buf, size_t cap, int ms);
int reap_bounded(pid_t pid, int ms);
char *read_file(const char *path, size_t *len);

#endif
