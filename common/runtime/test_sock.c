/* Tests for sock.h and unixsock.h. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdcount.h"
#include "sock.h"
#include "unixsock.h"

Test(sock, loopback_listener_reports_its_port, .timeout = 120)
{
    uint16_t port = 0;
    int before = fd_count();
    int l = tcp_listen_loopback(8, SOCK_CLOEXEC, &port);
    cr_assert_geq(l, 0);
    cr_assert_gt(port, 0);
    cr_assert_eq(sock_local_port(l), port);
    int c = tcp_connect("127.0.0.1", port, SOCK_CLOEXEC);
    cr_assert_geq(c, 0);
    int a = accept(l, NULL, NULL);
    cr_assert_geq(a, 0);
    cr_assert_eq(write(c, "ping", 4), 4);
    char buf[4];
    cr_assert_eq(read(a, buf, 4), 4);
    close(a);
    close(c);
    close(l);
    cr_assert_eq(fd_count(), before);
}

Test(sock, nonblock_flag_applies_after_connect, .timeout = 120)
{
    uint16_t port;
    int l = tcp_listen_loopback(8, SOCK_NONBLOCK, &port);
    cr_assert_geq(l, 0);
    cr_assert(fcntl(l, F_GETFL) & O_NONBLOCK);
    cr_assert_eq(accept(l, NULL, NULL), -1);
    cr_assert_eq(errno, EAGAIN);
    int c = tcp_connect("127.0.0.1", port, SOCK_NONBLOCK);
    cr_assert_geq(c, 0);
    cr_assert(fcntl(c, F_GETFL) & O_NONBLOCK);
    close(c);
    close(l);
}

Test(sock, reuseport_lets_two_listeners_share_a_port, .timeout = 120)
{
    uint16_t port;
    int a = tcp_listen("127.0.0.1", 0, 8, SOCK_REUSEPORT, &port);
    cr_assert_geq(a, 0);
    int b = tcp_listen("127.0.0.1", port, 8, SOCK_REUSEPORT, NULL);
    cr_assert_geq(b, 0, "second SO_REUSEPORT listener on the same port");
    close(b);
    int c = tcp_listen("127.0.0.1", port, 8, 0, NULL);
    cr_assert_eq(c, -1, "without SO_REUSEPORT the port is taken");
    cr_assert_eq(errno, EADDRINUSE);
    close(a);
}

Test(sock, bad_arguments, .timeout = 120)
{
    int before = fd_count();
    cr_assert_eq(tcp_listen("not-an-ip", 0, 8, 0, NULL), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(tcp_listen("127.0.0.1", 0, 8, 0x1, NULL), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(fd_count(), before);
}

Test(sock, connect_refused, .timeout = 120)
{
    uint16_t port;
    int l = tcp_listen_loopback(1, 0, &port);
    close(l); /* nothing listens there any more */
    cr_assert_eq(tcp_connect("127.0.0.1", port, 0), -1);
    cr_assert_eq(errno, ECONNREFUSED);
}

Test(unixsock, abstract_and_path_names, .timeout = 120)
{
    char name[64];
    snprintf(name, sizeof name, "@fdlab-test-%d", getpid());
    int l = unix_listen(name, SOCK_SEQPACKET | SOCK_CLOEXEC, 4);
    cr_assert_geq(l, 0);
    int c = unix_connect(name, SOCK_SEQPACKET | SOCK_CLOEXEC);
    cr_assert_geq(c, 0);
    int a = accept(l, NULL, NULL);
    cr_assert_geq(a, 0);
    close(a), close(c), close(l);

    char path[64];
    snprintf(path, sizeof path, "/tmp/fdlab-test-%d.sock", getpid());
    l = unix_listen(path, SOCK_STREAM, 4);
    cr_assert_geq(l, 0);
    close(l);
    l = unix_listen(path, SOCK_STREAM, 4); /* stale socket file is replaced */
    cr_assert_geq(l, 0);
    close(l);
    unlink(path);
}

Test(unixsock, refuses_to_replace_a_regular_file, .timeout = 120)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/fdlab-test-file-%d", getpid());
    int f = open(path, O_CREAT | O_WRONLY, 0600);
    cr_assert_geq(f, 0);
    close(f);
    cr_assert_eq(unix_listen(path, SOCK_STREAM, 4), -1);
    cr_assert_eq(errno, EEXIST);
    unlink(path);
}

/* IPv6 loopback, where the machine has it: the listener is IPV6_V6ONLY, so an IPv4
 * listener on the same port can coexist. */
Test(sock, ipv6_loopback_listener_coexists_with_ipv4, .timeout = 120)
{
    int probe = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in6 lo = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    if (probe < 0 || bind(probe, (struct sockaddr *)&lo, sizeof lo) < 0) {
        if (probe >= 0)
            close(probe);
        cr_skip_test("no IPv6 loopback on this machine (::1 cannot be bound)");
    }
    close(probe);
    int before = fd_count();
    uint16_t port = 0;
    int l6 = tcp_listen("::1", 0, 8, SOCK_CLOEXEC, &port);
    cr_assert_geq(l6, 0, "listen [::1]: %s", strerror(errno));
    cr_assert_eq(sock_local_port(l6), port);
    int one = 0;
    socklen_t len = sizeof one;
    cr_assert_eq(getsockopt(l6, IPPROTO_IPV6, IPV6_V6ONLY, &one, &len), 0);
    cr_assert_eq(one, 1, "IPv6 listeners are v6-only");
    int l4 = tcp_listen("127.0.0.1", port, 8, SOCK_CLOEXEC, NULL);
    cr_assert_geq(l4, 0, "IPv4 on the same port: %s", strerror(errno));
    int c = tcp_connect("[::1]", port, SOCK_CLOEXEC);
    cr_assert_geq(c, 0, "connect [::1]: %s", strerror(errno));
    int a = accept(l6, NULL, NULL);
    cr_assert_geq(a, 0);
    close(a);
    close(c);
    close(l4);
    close(l6);
    cr_assert_eq(fd_count(), before);
}
