/* sock.h — TCP helpers for loopback experiments.
 *
 * tcp_listen(ip, port, backlog, flags, &bound_port):
 *   socket + SO_REUSEADDR (+ SO_REUSEPORT with SOCK_REUSEPORT) + bind + listen.
 *   ip is what sa_parse_ip (sockaddr.h) accepts: a dotted quad, an IPv6 literal (an
 *   IPv6 listener is IPV6_V6ONLY: it never takes IPv4 connections), "*"; port 0 lets
 *   the kernel choose, and the port actually bound is stored in *bound_port when
 *   bound_port is not NULL.
 *   flags: any of SOCK_NONBLOCK, SOCK_CLOEXEC (as for socket(2)) and SOCK_REUSEPORT.
 *   Returns the listening fd, or -1 with errno (EINVAL for a bad ip or flags); on
 *   failure nothing is left open.
 * tcp_listen_loopback(backlog, flags, &bound_port): tcp_listen("127.0.0.1", 0, ...).
 * tcp_connect(ip, port, flags):  (ip as for tcp_listen)
 *   a blocking connect (retried on EINTR); flags may hold SOCK_CLOEXEC and
 *   SOCK_NONBLOCK, the latter applied only after the connection is made.
 *   Returns the connected fd, or -1 with errno (ECONNREFUSED, ...); nothing leaks.
 * sock_local_port(fd): the local port of a bound AF_INET or AF_INET6 socket, or -1
 *   with errno (EAFNOSUPPORT for another family).
 */
#ifndef FDLAB_SOCK_H
#define FDLAB_SOCK_H

#include <stdint.h>

/* Our own flag, chosen not to collide with SOCK_NONBLOCK/SOCK_CLOEXEC. */
#define SOCK_REUSEPORT 0x40000000

int tcp_listen(const char *ip, uint16_t port, int backlog, int flags, uint16_t *bound_port);
int tcp_listen_loopback(int backlog, int flags, uint16_t *bound_port);
int tcp_connect(const char *ip, uint16_t port, int flags);
int sock_local_port(int fd);

#endif
