/* proc.h — small process/descriptor helpers for lab 02 (bounded waits, kcmp).
 *
 * kcmp_file(p1, p2, fd1, fd2): kcmp(2) with KCMP_FILE. Returns 0 when fd1 in p1 and
 *   fd2 in p2 refer to the SAME open file description, 1/2/3 when they do not, -1
 *   with errno (EBADF: one of the numbers is not open in its process; ESRCH: no such
 *   process; EPERM: not allowed to inspect it). Both processes must be alive.
 * wait_readable(fd, ms): poll for POLLIN (or HUP/ERR); 1 ready, 0 after ms, -1 errno.
 * read_full(fd, buf, n, ms): reads exactly n bytes, each wait bounded by ms.
 *   Returns n, the bytes read before EOF (< n), or -1 with errno (ETIMEDOUT).
 * read_line(fd, buf, cap, ms): reads up to and including '\n' (one byte at a time,
 *   so nothing after the line is consumed); the '\n' is replaced by '\0'. Returns the
 *   line length, or -1 with errno (ETIMEDOUT; EPROTO at EOF or when cap is too small).
 * reap(pid, ms): waits at most ms for pid to exit (pidfd + poll), then SIGKILLs it;
 *   always reaps. Returns the exit code (128+signal if killed by a signal), or -1
 *   with errno (ETIMEDOUT when it had to be killed).
 */
#ifndef LAB02_PROC_H
#define LAB02_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* Every wait in this lab is bounded by this; the lab finishes in well under a second. */
#define WAIT_MS 10000

int kcmp_file(pid_t p1, pid_t p2, int fd1, int fd2);
int wait_readable(int fd, int ms);
ssize_t read_full(int fd, void *buf, size_t n, int ms);
ssize_t read_line(int fd, char *buf, size_t cap, int ms);
int reap(pid_t pid, int ms);

#endif
