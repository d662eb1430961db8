/* test_channel.c — the master<->worker channel of fdhttpd and lab 09 (channel.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "channel.h"
#include "fdcount.h"
#include "fdpass.h"

Test(channel, ready_round_trip_keeps_fields, .timeout = 120)
{
    int sv[2];
    cr_assert_eq(channel_pair(sv), 0);
    struct channel_msg m = {.command = CHANNEL_READY, .pid = 1234, .slot = 3, .fd = -1}, got;
    cr_assert_eq(channel_send(sv[1], &m), 0);
    cr_assert_eq(channel_recv(sv[0], &got), 1);
    cr_assert_eq(got.command, CHANNEL_READY);
    cr_assert_eq(got.pid, 1234);
    cr_assert_eq(got.slot, 3);
    cr_assert_eq(got.fd, -1);
    cr_assert_str_eq(channel_cmd_name(got.command), "ready");
    close(sv[0]);
    close(sv[1]);
}

Test(channel, new_conn_carries_a_working_descriptor_and_leaks_none, .timeout = 120)
{
    int before = fd_count();
    int sv[2], p[2];
    cr_assert_eq(channel_pair(sv), 0);
    cr_assert_eq(pipe(p), 0);
    struct channel_msg m = {.command = CHANNEL_NEW_CONN, .pid = getpid(), .slot = 0, .fd = p[1]}, got;
    cr_assert_eq(channel_send(sv[0], &m), 0);
    close(p[1]); /* the message holds its own reference */
    cr_assert_eq(channel_recv(sv[1], &got), 1);
    cr_assert_eq(got.command, CHANNEL_NEW_CONN);
    cr_assert_geq(got.fd, 0);
    cr_assert(fcntl(got.fd, F_GETFD) & FD_CLOEXEC, "received fds are close-on-exec");
    cr_assert_eq(write(got.fd, "x", 1), 1, "the passed fd is the pipe's write end");
    char c;
    cr_assert_eq(read(p[0], &c, 1), 1);
    cr_assert_eq(c, 'x');
    close(got.fd);
    close(p[0]);
    close(sv[0]);
    close(sv[1]);
    cr_assert_eq(fd_count(), before);
}

Test(channel, send_rejects_bad_messages, .timeout = 120)
{
    int sv[2];
    cr_assert_eq(channel_pair(sv), 0);
    struct channel_msg m = {.command = CHANNEL_NEW_CONN, .fd = -1};
    errno = 0;
    cr_assert_eq(channel_send(sv[0], &m), -1);
    cr_assert_eq(errno, EINVAL, "NEW_CONN without a descriptor");
    m = (struct channel_msg){.command = 99, .fd = -1};
    errno = 0;
    cr_assert_eq(channel_send(sv[0], &m), -1);
    cr_assert_eq(errno, EINVAL, "unknown command");
    close(sv[0]);
    close(sv[1]);
}

Test(channel, recv_rejects_malformed_and_closes_what_came, .timeout = 120)
{
    int before = fd_count();
    int sv[2];
    cr_assert_eq(channel_pair(sv), 0);
    struct channel_msg got;
    /* QUIT with a descriptor attached: protocol error, descriptor closed. */
    struct channel_msg m = {.command = CHANNEL_QUIT, .fd = -1};
    int extra = dup(0);
    cr_assert_geq(extra, 0);
    cr_assert_eq(send_fds(sv[0], &extra, 1, &m, sizeof m), (ssize_t)sizeof m);
    close(extra);
    errno = 0;
    cr_assert_eq(channel_recv(sv[1], &got), -1);
    cr_assert_eq(errno, EPROTO);
    /* A short message. */
    cr_assert_eq(send(sv[0], "abc", 3, 0), 3);
    errno = 0;
    cr_assert_eq(channel_recv(sv[1], &got), -1);
    cr_assert_eq(errno, EPROTO);
    /* NEW_CONN without its descriptor. */
    m.command = CHANNEL_NEW_CONN;
    cr_assert_eq(send(sv[0], &m, sizeof m, 0), (ssize_t)sizeof m);
    errno = 0;
    cr_assert_eq(channel_recv(sv[1], &got), -1);
    cr_assert_eq(errno, EPROTO);
    close(sv[0]);
    close(sv[1]);
    cr_assert_eq(fd_count(), before, "every descriptor that arrived was closed");
}

Test(channel, peer_gone_is_eof_and_epipe, .timeout = 120)
{
    int sv[2];
    cr_assert_eq(channel_pair(sv), 0);
    struct channel_msg m = {.command = CHANNEL_TERMINATE, .fd = -1}, got;
    cr_assert_eq(channel_send(sv[0], &m), 0);
    close(sv[0]);
    /* What was queued before the close is still delivered, then end of file. */
    cr_assert_eq(channel_recv(sv[1], &got), 1);
    cr_assert_eq(got.command, CHANNEL_TERMINATE);
    cr_assert_eq(channel_recv(sv[1], &got), 0);
    errno = 0;
    cr_assert_eq(channel_send(sv[1], &m), -1, "no SIGPIPE, an error");
    cr_assert(errno == EPIPE || errno == ECONNRESET || errno == ECONNREFUSED, "errno %d", errno);
    close(sv[1]);
}

/* Lab 09's load report: a DONE right behind a NEW_CONN arrives as its own message
 * with its running count intact; a DONE carrying a descriptor is refused. */
Test(channel, done_carries_its_count_behind_a_new_conn, .timeout = 120)
{
    int before = fd_count();
    int sv[2], p[2];
    cr_assert_eq(channel_pair(sv), 0);
    cr_assert_eq(pipe(p), 0);
    struct channel_msg m = {.command = CHANNEL_NEW_CONN, .pid = getpid(), .slot = 3, .fd = p[0]};
    cr_assert_eq(channel_send(sv[0], &m), 0);
    struct channel_msg d = {.command = CHANNEL_DONE, .pid = 7, .slot = 3, .fd = -1, .count = 42};
    cr_assert_eq(channel_send(sv[0], &d), 0);
    close(p[0]); /* the kernel holds the reference in flight */

    struct channel_msg got;
    cr_assert_eq(channel_recv(sv[1], &got), 1);
    cr_assert_eq(got.command, CHANNEL_NEW_CONN);
    cr_assert_geq(got.fd, 0);
    cr_assert_eq(fcntl(got.fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    cr_assert_eq(write(p[1], "x", 1), 1);
    char c = 0;
    cr_assert_eq(read(got.fd, &c, 1), 1);
    cr_assert_eq(c, 'x', "the received descriptor is the same pipe");
    close(got.fd);
    cr_assert_eq(channel_recv(sv[1], &got), 1, "one recvmsg, one message");
    cr_assert_eq(got.command, CHANNEL_DONE);
    cr_assert_str_eq(channel_cmd_name(got.command), "done");
    cr_assert_eq(got.count, 42);
    cr_assert_eq(got.slot, 3);
    cr_assert_eq(got.fd, -1);

    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    cr_assert_geq(nul, 0);
    cr_assert_eq(send_fds(sv[0], &nul, 1, &d, sizeof d), (ssize_t)sizeof d);
    close(nul);
    errno = 0;
    cr_assert_eq(channel_recv(sv[1], &got), -1);
    cr_assert_eq(errno, EPROTO, "DONE with a descriptor");
    close(sv[0]);
    close(sv[1]);
    close(p[1]);
    cr_assert_eq(fd_count(), before, "no descriptor leaked");
}

Test(channel, recv_refuses_unknown_and_long_messages_then_still_works, .timeout = 120)
{
    int before = fd_count();
    int sv[2];
    cr_assert_eq(channel_pair(sv), 0);
    struct channel_msg got, m = {.command = 99, .fd = -1};
    cr_assert_eq(send(sv[0], &m, sizeof m, 0), (ssize_t)sizeof m);
    errno = 0;
    cr_assert_eq(channel_recv(sv[1], &got), -1);
    cr_assert_eq(errno, EPROTO, "unknown command");
    /* Longer than one message: cut, so refused, and its descriptor closed. */
    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    cr_assert_geq(nul, 0);
    char longbuf[sizeof(struct channel_msg) + 8] = {0};
    cr_assert_eq(send_fds(sv[0], &nul, 1, longbuf, sizeof longbuf), (ssize_t)sizeof longbuf);
    close(nul);
    errno = 0;
    cr_assert_eq(channel_recv(sv[1], &got), -1);
    cr_assert_eq(errno, EMSGSIZE);
    m.command = CHANNEL_QUIT;
    cr_assert_eq(channel_send(sv[0], &m), 0);
    cr_assert_eq(channel_recv(sv[1], &got), 1);
    cr_assert_eq(got.command, CHANNEL_QUIT);
    close(sv[0]);
    close(sv[1]);
    cr_assert_eq(fd_count(), before, "every received descriptor was closed");
}
