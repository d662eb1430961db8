/* client.c — the paired client: connects to 127.0.0.1:<port> and reports what it got.
 *
 * Usage: client -p port [-t timeout_ms]
 * Reads until end of file or until timeout_ms (default 5000) pass without the
 * connection closing, each wait a bounded poll(). The server closes the connection
 * when its run is over, so EOF — not the timeout — normally ends the read.
 * Prints client_bytes=N (bytes received), client_eof=1|0 (the server closed the
 * connection / the timeout ended the read) and client_got="..." (what arrived,
 * non-printable bytes as \xNN, at most 200 bytes shown). Exit 0 unless the
 * connection could not be made.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "kv.h"
#include "lib/naive.h"
#include "sock.h"

int main(int argc, char **argv)
{
    int port = 0, timeout_ms = 5000, opt;
    while ((opt = getopt(argc, argv, "p:t:")) != -1) {
        if (opt == 'p')
            port = atoi(optarg);
        else if (opt == 't')
            timeout_ms = atoi(optarg);
        else
            die_msg("usage: client -p port [-t timeout_ms]");
    }
    if (port <= 0 || port > 65535 || timeout_ms <= 0)
        die_msg("usage: client -p port [-t timeout_ms]");
    int fd = tcp_connect("127.0.0.1", (uint16_t)port, SOCK_CLOEXEC);
    if (fd < 0)
        die("connect 127.0.0.1:%d", port);

    char got[200];
    long total = 0;
    int eof = 0;
    double end = mono_s() + timeout_ms / 1000.0;
    while (!eof) {
        int left = (int)((end - mono_s()) * 1000);
        if (left <= 0)
            break;
        struct pollfd p = {fd, POLLIN, 0};
        int n = poll(&p, 1, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("poll");
        if (n == 0)
            break;
        char buf[512];
        ssize_t m = read(fd, buf, sizeof buf);
        if (m < 0 && errno == EINTR)
            continue;
        if (m < 0)
            die("read");
        if (m == 0)
            eof = 1;
        for (ssize_t i = 0; i < m; i++, total++)
            if (total < (long)sizeof got)
                got[total] = buf[i];
    }
    close(fd);

    char shown[4 * sizeof got + 1];
    size_t k = 0;
    for (long i = 0; i < total && i < (long)sizeof got; i++) {
        unsigned char ch = (unsigned char)got[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
            shown[k++] = (char)ch;
        else
            k += (size_t)sprintf(shown + k, "\\x%02x", ch);
    }
    shown[k] = '\0';
    kv_print("client_bytes", "%ld", total);
    kv_print("client_eof", "%d", eof);
    kv_print("client_got", "\"%s\"", shown);
    return 0;
}
