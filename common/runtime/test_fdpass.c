/* Tests for fdpass.h: every documented outcome, on STREAM and SEQPACKET. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdcount.h"
#include "fdpass.h"

static int same_file(int a, int b)
{
    struct stat sa, sb;
    cr_assert_eq(fstat(a, &sa), 0);
    cr_assert_eq(fstat(b, &sb), 0);
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static void pass_one(int type)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, type, 0, sv), 0);
    int before = fd_count();
    int p[2];
    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(send_fds(sv[0], &p[1], 1, "x", 1), 1);
    close(p[1]); /* the in-flight reference keeps the pipe's write end alive */
    int got = -1;
    size_t n = 1;
    char c;
    cr_assert_eq(recv_fds(sv[1], &got, &n, &c, 1), 1);
    cr_assert_eq(n, 1);
    cr_assert_eq(c, 'x');
    cr_assert(fcntl(got, F_GETFD) & FD_CLOEXEC, "received fds are close-on-exec");
    cr_assert_eq(write(got, "hi", 2), 2, "the received fd writes into the same pipe");
    char buf[2];
    cr_assert_eq(read(p[0], buf, 2), 2);
    cr_assert_eq(memcmp(buf, "hi", 2), 0);
    close(got);
    close(p[0]);
    cr_assert_eq(fd_count(), before);
    close(sv[0]);
    close(sv[1]);
}

Test(fdpass, one_fd_stream, .timeout = 120) { pass_one(SOCK_STREAM); }
Test(fdpass, one_fd_seqpacket, .timeout = 120) { pass_one(SOCK_SEQPACKET); }

static void pass_max(int type)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, type, 0, sv), 0);
    int before = fd_count();
    int fds[FDPASS_MAX], got[FDPASS_MAX];
    int dn = open("/dev/null", O_RDONLY);
    cr_assert_geq(dn, 0);
    for (int i = 0; i < FDPASS_MAX; i++)
        fds[i] = dn; /* the same fd many times: each arrives as its own new fd */
    char payload[64] = "many";
    cr_assert_eq(send_fds(sv[0], fds, FDPASS_MAX, payload, sizeof payload), (ssize_t)sizeof payload);
    size_t n = FDPASS_MAX;
    char buf[64];
    cr_assert_eq(recv_fds(sv[1], got, &n, buf, sizeof buf), (ssize_t)sizeof buf);
    cr_assert_eq(n, FDPASS_MAX);
    cr_assert_str_eq(buf, "many");
    for (int i = 0; i < FDPASS_MAX; i++) {
        cr_assert(same_file(got[i], dn));
        close(got[i]);
    }
    close(dn);
    cr_assert_eq(fd_count(), before);
    close(sv[0]);
    close(sv[1]);
}

Test(fdpass, max_fds_stream, .timeout = 120) { pass_max(SOCK_STREAM); }
Test(fdpass, max_fds_seqpacket, .timeout = 120) { pass_max(SOCK_SEQPACKET); }

Test(fdpass, more_than_kernel_limit_is_einval, .timeout = 120)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int fds[FDPASS_MAX + 1];
    for (int i = 0; i <= FDPASS_MAX; i++)
        fds[i] = 0;
    cr_assert_eq(send_fds(sv[0], fds, FDPASS_MAX + 1, "x", 1), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(send_fds(sv[0], fds, 1, "x", 0), -1, "zero-byte payload refused");
    cr_assert_eq(errno, EINVAL);
    close(sv[0]);
    close(sv[1]);
}

Test(fdpass, payload_without_fds, .timeout = 120)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    cr_assert_eq(send_fds(sv[0], NULL, 0, "abc", 3), 3);
    int fd;
    size_t n = 1;
    char buf[8];
    cr_assert_eq(recv_fds(sv[1], &fd, &n, buf, sizeof buf), 3);
    cr_assert_eq(n, 0);
    close(sv[0]);
    close(sv[1]);
}

Test(fdpass, bad_fd_is_ebadf, .timeout = 120)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int bad = 1000;
    close(bad);
    cr_assert_eq(send_fds(sv[0], &bad, 1, "x", 1), -1);
    cr_assert_eq(errno, EBADF);
    close(sv[0]);
    close(sv[1]);
}

/* More descriptors than the receiver's capacity: an error, and none of them leak. */
static void too_many(int type)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, type, 0, sv), 0);
    int before = fd_count();
    int fds[3] = {0, 1, 2};
    cr_assert_eq(send_fds(sv[0], fds, 3, "m", 1), 1);
    int got[2] = {-1, -1};
    size_t n = 2;
    char c;
    cr_assert_eq(recv_fds(sv[1], got, &n, &c, 1), -1);
    cr_assert_eq(errno, EMSGSIZE);
    cr_assert_eq(n, 0);
    cr_assert_eq(fd_count(), before, "descriptors that arrived were closed");
    /* The stream is still usable for the next message. */
    cr_assert_eq(send_fds(sv[0], fds, 1, "n", 1), 1);
    n = 2;
    cr_assert_eq(recv_fds(sv[1], got, &n, &c, 1), 1);
    cr_assert_eq(n, 1);
    cr_assert_eq(c, 'n');
    close(got[0]);
    cr_assert_eq(fd_count(), before);
    close(sv[0]);
    close(sv[1]);
}

Test(fdpass, capacity_exceeded_stream, .timeout = 120) { too_many(SOCK_STREAM); }
Test(fdpass, capacity_exceeded_seqpacket, .timeout = 120) { too_many(SOCK_SEQPACKET); }

Test(fdpass, seqpacket_payload_truncated_is_emsgsize_and_no_leak, .timeout = 120)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    int before = fd_count();
    int fd0 = 0;
    cr_assert_eq(send_fds(sv[0], &fd0, 1, "0123456789", 10), 10);
    int got = -1;
    size_t n = 1;
    char buf[4];
    cr_assert_eq(recv_fds(sv[1], &got, &n, buf, sizeof buf), -1);
    cr_assert_eq(errno, EMSGSIZE);
    cr_assert_eq(fd_count(), before);
    close(sv[0]);
    close(sv[1]);
}

Test(fdpass, eof_returns_zero, .timeout = 120)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[0]);
    int got;
    size_t n = 1;
    char c;
    cr_assert_eq(recv_fds(sv[1], &got, &n, &c, 1), 0);
    cr_assert_eq(n, 0);
    close(sv[1]);
}

Test(fdpass, closed_peer_is_epipe_not_sigpipe, .timeout = 120)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    close(sv[1]);
    int fd0 = 0;
    cr_assert_eq(send_fds(sv[0], &fd0, 1, "x", 1), -1);
    cr_assert_eq(errno, EPIPE);
    close(sv[0]);
}

Test(fdpass, thousand_passes_leak_nothing, .timeout = 120)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    int before = fd_count();
    for (int i = 0; i < 1000; i++) {
        int p[2];
        cr_assert_eq(pipe(p), 0);
        cr_assert_eq(send_fds(sv[0], p, 2, "p", 1), 1);
        close(p[0]);
        close(p[1]);
        int got[2];
        size_t n = 2;
        char c;
        cr_assert_eq(recv_fds(sv[1], got, &n, &c, 1), 1);
        cr_assert_eq(n, 2);
        close(got[0]);
        close(got[1]);
    }
    cr_assert_eq(fd_count(), before);
    close(sv[0]);
    close(sv[1]);
}

/* The kernel sets MSG_CTRUNC itself when it cannot install every descriptor, e.g.
 * when the receiver's RLIMIT_NOFILE is reached: recv_fds() must report EMSGSIZE and
 * close the ones that did arrive. (Each Criterion test is its own process, so
 * lowering the limit here touches nothing else.) */
Test(fdpass, kernel_ctrunc_at_fd_limit_is_emsgsize_and_no_leak, .timeout = 120)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    int fds[5] = {0, 0, 0, 0, 0};
    cr_assert_eq(send_fds(sv[0], fds, 5, "c", 1), 1);
    /* Allow at most two more: new descriptors take the lowest free numbers below the
     * limit, so a limit of (lowest free + 2) leaves room for two whatever holes lie
     * above it (Criterion's runner may leave some). */
    int lowest = 0;
    while (fd_is_open(lowest))
        lowest++;
    struct rlimit old, rl;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    rl = old;
    rl.rlim_cur = (rlim_t)lowest + 2;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    int before = fd_count();
    int got[5];
    size_t n = 5;
    char c;
    cr_assert_eq(recv_fds(sv[1], got, &n, &c, 1), -1);
    cr_assert_eq(errno, EMSGSIZE);
    cr_assert_eq(n, 0);
    cr_assert_eq(fd_count(), before, "the descriptors that were installed are closed");
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
    close(sv[0]);
    close(sv[1]);
}
