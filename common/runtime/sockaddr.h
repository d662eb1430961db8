/* sockaddr.h — TCP endpoint addresses in their text forms, IPv4 and IPv6.
 *
 * struct sa_any: a sockaddr_in or sockaddr_in6 with its length.
 *
 * sa_parse_ip(ip, port, &a): ip is an IPv4 dotted quad ("127.0.0.1") or an IPv6
 *   literal, bare or in brackets ("::1", "[::1]"); "*" means 0.0.0.0 and "[::]" / "::"
 *   the IPv6 wildcard. Returns 0, or -1 with errno EINVAL (a host name, an empty or
 *   malformed address, a zone index).
 * sa_parse_endpoint(text, &a): "IPv4:PORT", "[IPv6]:PORT" or "*:PORT", PORT 0..65535
 *   in decimal. Returns 0, or -1 with errno EINVAL (a bare IPv6 address without
 *   brackets is refused: its last group would read as the port).
 * sa_format(sa, len, buf, size): "IPv4:PORT" or "[IPv6]:PORT" into buf (size >=
 *   SA_TEXT_MAX always suffices). Returns buf; a family other than AF_INET/AF_INET6
 *   formats as "?".
 * sa_port(sa): the port of an AF_INET/AF_INET6 address, host order; -1 otherwise.
 */
#ifndef FDLAB_SOCKADDR_H
#define FDLAB_SOCKADDR_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SA_TEXT_MAX 64 /* "[" INET6_ADDRSTRLEN "]:65535" with room to spare */

struct sa_any {
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } u;
    socklen_t len;
};

int sa_parse_ip(const char *ip, uint16_t port, struct sa_any *a);
int sa_parse_endpoint(const char *text, struct sa_any *a);
char *sa_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t size);
int sa_port(const struct sockaddr *sa);

#endif
