/* sdactivate — socket activation without systemd, for lab 12's tests (the idea of
 * systemd-socket-activate(1)):
 *
 *   sdactivate [-l IP:PORT] [-n N] [--name NAME] -- COMMAND [ARG...]
 *
 * Binds N TCP listeners on IP:PORT (default 127.0.0.1:0, N = 1; with N > 1 they form
 * one SO_REUSEPORT group on the port the first one got), moves them to descriptors
 * 3..3+N-1, sets LISTEN_FDS=N, LISTEN_PID=<own pid> (execve keeps the pid, so it is
 * COMMAND's) and LISTEN_FDNAMES=NAME:NAME:..., and execs COMMAND (PATH searched).
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

int main(int argc, char **argv)
{
    const char *listen = "127.0.0.1:0", *name = "http";
    long n = 1;
    static const struct option lo[] = {{"listen", required_argument, NULL, 'l'}, {"name", required_argument, NULL, 'N'},
                                       {"count", required_argument, NULL, 'n'}, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "+l:n:", lo, NULL)) != -1) {
        switch (c) {
        case 'l': listen = optarg; break;
        case 'N': name = optarg; break;
        case 'n': n = strtol(optarg, NULL, 10); break;
        default: goto usage;
        }
    }
    if (optind >= argc || n < 1 || n > MAXN || strchr(name, ':'))
        goto usage;
    char ip[32];
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || (size_t)(colon - listen) >= sizeof ip)
        goto usage;
    memcpy(ip, listen, (size_t)(colon - listen));
    ip[colon - listen] = '\0';
    uint16_t port = (uint16_t)strtol(colon + 1, NULL, 10);
    int fds[MAXN];
    for (int i = 0; i < n; i++) {
        /* Blocking, not close-on-exec: exactly what systemd passes. */
        fds[i] = tcp_listen(ip, port, 1024, n > 1 ? SOCK_REUSEPORT : 0, &port);
        if (fds[i] < 0)
            die("sdactivate: listen on %s:%u", ip, port);
    }
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
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ":" : "", name);
    if (setenv("LISTEN_FDNAMES", names, 1) < 0)
        die("setenv");
    execvp(argv[optind], argv + optind);
    die("sdactivate: exec %s", argv[optind]);
usage:
    fprintf(stderr, "usage: sdactivate [-l IP:PORT] [-n N] [--name NAME] -- COMMAND [ARG...]\n");
    return 2;
}
