/* fdsnap_name.c — stable names for the objects descriptors point at (the rules are
 * in fdsnap.h): sockets by address from /proc/PID/net, files by alias or last path
 * component, and numbers in order of first appearance for what has no name. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdsnap_int.h"

/* "port3" for a port the kernel chose (>= 1024), the number itself below that. */
static void port_name(struct fdsnap *s, unsigned port, char *out, size_t size)
{
    if (port < 1024) {
        snprintf(out, size, "%u", port);
        return;
    }
    int i = 0;
    while (i < s->nport && s->port[i] != port)
        i++;
    if (i == s->nport && s->nport < FDSNAP_MAX_SEEN)
        s->port[s->nport++] = port;
    snprintf(out, size, "port%d", i + 1);
}

/* 1, 2, ... for an inode with no name of its own (a pipe, an unnamed unix socket). */
static int anon_number(struct fdsnap *s, unsigned long ino)
{
    int i = 0;
    while (i < s->nanon && s->anon[i] != ino)
        i++;
    if (i == s->nanon && s->nanon < FDSNAP_MAX_SEEN)
        s->anon[s->nanon++] = ino;
    return i + 1;
}

/* An address as /proc/net/tcp{,6} prints it: the in-memory words in hex. */
static void addr_text(const char *hex, char *out, size_t size)
{
    size_t len = strlen(hex);
    if (len == 8) {
        struct in_addr a = {.s_addr = (uint32_t)strtoul(hex, NULL, 16)};
        inet_ntop(AF_INET, &a, out, (socklen_t)size);
        return;
    }
    struct in6_addr a6;
    for (int w = 0; w < 4 && len == 32; w++) {
        char word[9];
        memcpy(word, hex + 8 * w, 8);
        word[8] = '\0';
        uint32_t v = (uint32_t)strtoul(word, NULL, 16);
        memcpy(&a6.s6_addr[4 * w], &v, 4);
    }
    if (len != 32 || !inet_ntop(AF_INET6, &a6, out + 1, (socklen_t)(size - 2))) {
        snprintf(out, size, "?");
        return;
    }
    out[0] = '[';
    strcat(out, "]");
}

static const char *tcp_state(unsigned st)
{
    static const char *const names[] = {"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
                                        "FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK",
                                        "LISTEN", "CLOSING"};
    return st < sizeof names / sizeof names[0] ? names[st] : "?";
}

/* Looks ino up in /proc/PID/net/<table> (tcp, tcp6, udp, udp6). 1 when named. */
static int inet_name(struct fdsnap *s, pid_t pid, const char *table, unsigned long ino, char *out,
                     size_t size)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/net/%s", (int)pid, table);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        char lh[40], rh[40];
        unsigned lp, rp, st;
        unsigned long i;
        if (sscanf(line, " %*d: %39[0-9A-Fa-f]:%x %39[0-9A-Fa-f]:%x %x %*x:%*x %*x:%*x %*x %*u %*u %lu",
                   lh, &lp, rh, &rp, &st, &i) != 6 || i != ino)
            continue;
        char la[64], ra[64], lpn[16], rpn[16];
        addr_text(lh, la, sizeof la);
        addr_text(rh, ra, sizeof ra);
        port_name(s, lp, lpn, sizeof lpn);
        int udp = table[0] == 'u';
        if (st == 10 && !udp)
            snprintf(out, size, "TCP listening socket\n%s:%s", la, lpn);
        else if (rp == 0)
            snprintf(out, size, "%s socket\n%s:%s", udp ? "UDP" : "TCP", la, lpn);
        else {
            port_name(s, rp, rpn, sizeof rpn);
            snprintf(out, size, "%s connection (%s)\n%s:%s \u2194 %s:%s", udp ? "UDP" : "TCP",
                     udp ? "connected" : tcp_state(st), la, lpn, ra, rpn);
        }
        found = 1;
    }
    fclose(f);
    return found;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

/* The label fdsnap_alias gave path, or fallback. */
static const char *alias_of(const struct fdsnap *s, const char *path, const char *fallback)
{
    for (int i = 0; i < s->nalias; i++)
        if (strcmp(s->alias[i].path, path) == 0)
            return s->alias[i].label;
    return fallback;
}

static int unix_name(struct fdsnap *s, pid_t pid, unsigned long ino, char *out, size_t size)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/net/unix", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        unsigned flags, type, st;
        unsigned long i;
        int end = 0;
        if (sscanf(line, "%*x: %*x %*x %x %x %x %lu%n", &flags, &type, &st, &i, &end) != 4 || i != ino)
            continue;
        const char *t = type == 1 ? "stream" : type == 2 ? "datagram" : type == 5 ? "seqpacket" : "?";
        char name[108]; /* sun_path is at most 108 bytes; abstract names start with '@' */
        if (sscanf(line + end, " %107s", name) == 1)
            snprintf(out, size, "unix %s socket%s\n%s", t, flags & 0x10000 ? ", listening" : "",
                     alias_of(s, name, base_name(name)));
        else
            snprintf(out, size, "unix %s socket %d", t, anon_number(s, ino));
        found = 1;
    }
    fclose(f);
    return found;
}

void fdsnap_name(struct fdsnap *s, pid_t pid, const char *target, struct fdsnap_obj *o)
{
    char *out = o->label;
    size_t size = sizeof o->label;
    switch (o->kind) {
    case FDK_SOCKET:
        if (inet_name(s, pid, "tcp", o->ino, out, size) || inet_name(s, pid, "tcp6", o->ino, out, size) ||
            inet_name(s, pid, "udp", o->ino, out, size) || inet_name(s, pid, "udp6", o->ino, out, size) ||
            unix_name(s, pid, o->ino, out, size))
            return;
        snprintf(out, size, "socket %d", anon_number(s, o->ino));
        return;
    case FDK_PIPE:
        snprintf(out, size, "pipe %d", anon_number(s, o->ino));
        return;
    case FDK_EPOLL:
        snprintf(out, size, "epoll instance %d", ++s->nepoll);
        return;
    case FDK_ANON:
        snprintf(out, size, "%s", target + strlen("anon_inode:"));
        return;
    case FDK_DEV:
        snprintf(out, size, "%s", target);
        return;
    default:
        break;
    }
    snprintf(out, size, "%s\n%s", o->kind == FDK_DIR ? "directory" : "file", alias_of(s, target, base_name(target)));
}
