/* sdactivate — socket activation without systemd, for lab 12's tests (the idea of
 * systemd-socket-activate(1)):
 *
 *   sdactivate [-n N] [-l ADDR [--name NAME]]... -- COMMAND [ARG...]
 *
 * For each -l ADDR (IPv4:PORT or [IPv6]:PORT; default one 127.0.0.1:0) binds N TCP
 * listeners (N = 1 by default; with N > 1 they form one SO_REUSEPORT group on the port
 * the first one got), named by the --name that follows that -l (default "http": like
 * FileDescriptorName= of one .socket unit per address). Moves them all to descriptors
 * 3, 4, ... in that order, sets LISTEN_FDS (their number), LISTEN_PID=<own pid>
 * (execve keeps the pid, so it is COMMAND's) and LISTEN_FDNAMES=NAME:NAME:... (one per
 * descriptor), and execs COMMAND (PATH searched).
 * Prints nothing itself: COMMAND's output is what the caller reads. Exit status: what
 * COMMAND returns; 1 when setting up failed; 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "sock.h"

#define MAXN 64
#define MAXA 8

/* "IPv4:PORT" or "[IPv6]:PORT" into ip (brackets dropped) and *port. 0 or -1. */
static int split(const char *addr, char *ip, size_t cap, uint16_t *port)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || (size_t)(colon - addr) >= cap)
        return -1;
    int br = addr[0] == '[' && colon > addr + 1 && colon[-1] == ']';
    size_t len = (size_t)(colon - addr) - (br ? 2 : 0);
    memcpy(ip, addr + br, len);
    ip[len] = '\0';
    *port = (uint16_t)strtol(colon + 1, NULL, 10);
    return 0;
}

int main(int argc, char **argv)
{
    const char *addr[MAXA], *aname[MAXA];
    int na = 0;
    long n = 1;
    static const struct option lo[] = {{"listen", required_argument, NULL, 'l'}, {"name", required_argument, NULL, 'N'},
                                       {"count", required_argument, NULL, 'n'}, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "+l:n:", lo, NULL)) != -1) {
        switch (c) {
        case 'l':
            if (na == MAXA)
                goto usage;
            addr[na] = optarg, aname[na++] = "http";
            break;
        case 'N':
            if (na == 0) /* a name before any -l: the default address's */
                addr[na] = "127.0.0.1:0", na++;
            aname[na - 1] = optarg;
            break;
        case 'n': n = strtol(optarg, NULL, 10); break;
        default: goto usage;
        }
    }
    if (na == 0)
        addr[0] = "127.0.0.1:0", aname[0] = "http", na = 1;
    if (optind >= argc || n < 1 || n * na > MAXN)
        goto usage;
    int fds[MAXN];
    for (int a = 0; a < na; a++) {
        char ip[64];
        uint16_t port;
        if (strchr(aname[a], ':') || split(addr[a], ip, sizeof ip, &port) < 0)
            goto usage;
        for (int i = 0; i < n; i++) {
            /* Blocking, not close-on-exec: exactly what systemd passes. */
            fds[a * n + i] = tcp_listen(ip, port, 1024, n > 1 ? SOCK_REUSEPORT : 0, &port);
            if (fds[a * n + i] < 0)
                die("sdactivate: listen on %s port %u", ip, port);
        }
    }
    n *= na; /* from here: every descriptor */
    /* Move them to 3..3+n-1. A listener may already sit on a target number: dup every
     * one above the range first, then into place. */
    for (int i = 0; i < n; i++) {
        int hi = fcntl(fds[i], F_DUPFD, 3 + MAXN);
        if (hi < 0)
            die("sdactivate: F_DUPFD");
        close(fds[i]);
        fds[i] = hi;
    }
    for (int i = 0; i < n; i++) {
        if (dup2(fds[i], 3 + i) < 0)
            die("sdactivate: dup2");
        close(fds[i]);
    }
    char v[32], names[MAXN * 64] = "";
    snprintf(v, sizeof v, "%ld", n);
    if (setenv("LISTEN_FDS", v, 1) < 0)
        die("setenv");
    snprintf(v, sizeof v, "%d", (int)getpid());
    if (setenv("LISTEN_PID", v, 1) < 0)
        die("setenv");
    for (int i = 0; i < n; i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ":" : "", aname[i / (n / na)]);
    if (setenv("LISTEN_FDNAMES", names, 1) < 0)
        die("setenv");
    execvp(argv[optind], argv + optind);
    die("sdactivate: exec %s", argv[optind]);
usage:
    fprintf(stderr, "usage: sdactivate [-n N] [-l ADDR [--name NAME]]... -- COMMAND [ARG...]\n");
    return 2;
}
