/* fdcount.h — how many descriptors a process has open.
 *
 * fd_count(): the number of entries in /proc/self/fd, not counting the descriptor
 *   used to read that directory. Returns >= 0, or -1 with errno when /proc cannot be
 *   read. Tests take it before and after an operation that moves descriptors: equal
 *   counts mean nothing leaked.
 * fd_count_of(pid): the number of entries in /proc/PID/fd (another process: a server
 *   under test, a worker). Returns >= 0, or -1 with errno (ENOENT: no such process;
 *   EACCES: not ours to inspect).
 * fd_is_open(fd): 1 when fd is an open descriptor of this process, else 0.
 */
#ifndef FDLAB_FDCOUNT_H
#define FDLAB_FDCOUNT_H

#include <sys/types.h>

int fd_count(void);
int fd_count_of(pid_t pid);
int fd_is_open(int fd);

#endif
