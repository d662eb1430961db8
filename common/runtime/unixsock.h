/* unixsock.h — AF_UNIX listening and connecting by name.
 *
 * A name starting with '@' is in the Linux abstract namespace ("@fdlab" binds
 * "\0fdlab"): no file is created and nothing needs unlinking. Any other name is a
 * filesystem path; unix_listen() unlinks a stale socket file of that name first
 * (only a socket: any other kind of file makes it fail with EEXIST).
 *
 * unix_listen(name, type, backlog): type is SOCK_STREAM or SOCK_SEQPACKET, optionally
 *   ORed with SOCK_NONBLOCK/SOCK_CLOEXEC. Returns the listening fd or -1 with errno
 *   (ENAMETOOLONG when name does not fit sun_path). Nothing leaks on failure.
 * unix_connect(name, type): returns the connected fd or -1 with errno.
 */
#ifndef FDLAB_UNIXSOCK_H
#define FDLAB_UNIXSOCK_H

int unix_listen(const char *name, int type, int backlog);
int unix_connect(const char *name, int type);

#endif
