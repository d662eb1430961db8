/* fdcount.h — how many descriptors this process has open.
 *
 * fd_count(): the number of entries in /proc/self/fd, not counting the descriptor
 *   used to read that directory. Returns >= 0, or -1 with errno when /proc cannot be
 *   read. Tests take it before and after an operation that moves descriptors: equal
 *   counts mean nothing leaked.
 * fd_is_open(fd): 1 when fd is an open descriptor of this process, else 0.
 */
#ifndef FDLAB_FDCOUNT_H
#define FDLAB_FDCOUNT_H

int fd_count(void);
int fd_is_open(int fd);

#endif
