/* sockaddr.c — see sockaddr.h. */
#include "sockaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sa_parse_ip(const char *ip, uint16_t port, struct sa_any *a)
{
    memset(a, 0, sizeof *a);
    char buf[INET6_ADDRSTRLEN + 2];
    size_t n = strlen(ip);
    if (n >= 2 && ip[0] == '[' && ip[n - 1] == ']' && n - 2 < sizeof buf) {
        memcpy(buf, ip + 1, n - 2);
        buf[n - 2] = '\0';
        ip = buf;
    }
    if (strcmp(ip, "*") == 0)
        ip = "0.0.0.0";
    if (inet_pton(AF_INET, ip, &a->u.in4.sin_addr) == 1) {
        a->u.in4.sin_family = AF_INET;
        a->u.in4.sin_port = htons(port);
        a->len = sizeof a->u.in4;
        return 0;
    }
    if (inet_pton(AF_INET6, ip, &a->u.in6.sin6_addr) == 1) {
        a->u.in6.sin6_family = AF_INET6;
        a->u.in6.sin6_port = htons(port);
        a->len = sizeof a->u.in6;
        return 0;
    }
    errno = EINVAL;
    return -1;
}

int sa_parse_endpoint(const char *text, struct sa_any *a)
{
    const char *colon = strrchr(text, ':');
    if (colon == NULL || colon == text || colon[1] == '\0' || strlen(colon + 1) > 5) {
        errno = EINVAL;
        return -1;
    }
    size_t hostlen = (size_t)(colon - text);
    /* An IPv6 address must be bracketed: "[::1]:80", never "::1:80". */
    if (memchr(text, ':', hostlen) && (text[0] != '[' || colon[-1] != ']')) {
        errno = EINVAL;
        return -1;
    }
    char host[INET6_ADDRSTRLEN + 3];
    if (hostlen >= sizeof host) {
        errno = EINVAL;
        return -1;
    }
    memcpy(host, text, hostlen);
    host[hostlen] = '\0';
    long port = 0;
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9') {
            errno = EINVAL;
            return -1;
        }
        port = port * 10 + (*p - '0');
    }
    if (port > 65535) {
        errno = EINVAL;
        return -1;
    }
    return sa_parse_ip(host, (uint16_t)port, a);
}

char *sa_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t size)
{
    char ip[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof ip);
        snprintf(buf, size, "%s:%u", ip, (unsigned)ntohs(s->sin_port));
    } else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
        snprintf(buf, size, "[%s]:%u", ip, (unsigned)ntohs(s->sin6_port));
    } else {
        snprintf(buf, size, "?");
    }
    return buf;
}

int sa_port(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    if (sa->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    return -1;
}
