/* Tests for io.h: bounded reads from pipes and the bounded reap. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdcount.h"
#include "io.h"

static void pipe_or_fail(int p[2])
{
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
}

static void put(int fd, const char *s)
{
    cr_assert_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

Test(io, wait_readable_answers_ready_and_timeout, .timeout = 120)
{
    int p[2];
    pipe_or_fail(p);
    cr_assert_eq(wait_readable(p[0], 0), 0, "empty pipe: not readable");
    put(p[1], "x");
    cr_assert_eq(wait_readable(p[0], 1000), 1);
    close(p[1]);
    close(p[0]);
}

Test(io, read_full_exact_short_and_timeout, .timeout = 120)
{
    int p[2];
    pipe_or_fail(p);
    char buf[16] = {0};
    put(p[1], "abcdef");
    cr_assert_eq(read_full(p[0], buf, 4, 1000), 4);
    cr_assert_eq(memcmp(buf, "abcd", 4), 0);
    /* Two bytes remain and the writer stays open: the wait for more runs out. */
    errno = 0;
    cr_assert_eq(read_full(p[0], buf, 4, 50), -1);
    cr_assert_eq(errno, ETIMEDOUT);
    put(p[1], "gh");
    close(p[1]);
    /* Two bytes, then end of file: a short count, not an error. */
    cr_assert_eq(read_full(p[0], buf, 8, 1000), 2);
    cr_assert_eq(memcmp(buf, "gh", 2), 0);
    cr_assert_eq(read_full(p[0], buf, 8, 1000), 0, "at EOF");
    close(p[0]);
}

Test(io, read_line_consumes_only_its_line, .timeout = 120)
{
    int p[2];
    pipe_or_fail(p);
    char line[32];
    put(p[1], "first\nsecond\ntail");
    cr_assert_eq(read_line(p[0], line, sizeof line, 1000), 5);
    cr_assert_str_eq(line, "first");
    cr_assert_eq(read_line(p[0], line, sizeof line, 1000), 6);
    cr_assert_str_eq(line, "second");
    char rest[8] = {0};
    close(p[1]);
    cr_assert_eq(read_full(p[0], rest, sizeof rest, 1000), 4, "the rest is still in the pipe");
    cr_assert_eq(memcmp(rest, "tail", 4), 0);
    close(p[0]);
}

Test(io, read_line_errors, .timeout = 120)
{
    int p[2];
    char line[8];
    pipe_or_fail(p);
    put(p[1], "0123456789\n");
    errno = 0;
    cr_assert_eq(read_line(p[0], line, sizeof line, 1000), -1, "7 bytes of room, longer line");
    cr_assert_eq(errno, EPROTO);
    close(p[1]);
    close(p[0]);

    pipe_or_fail(p);
    put(p[1], "no newline");
    close(p[1]);
    errno = 0;
    cr_assert_eq(read_line(p[0], line, sizeof line, 1000), -1);
    cr_assert_eq(errno, EPROTO);
    close(p[0]);

    pipe_or_fail(p);
    errno = 0;
    cr_assert_eq(read_line(p[0], line, sizeof line, 50), -1, "nothing comes");
    cr_assert_eq(errno, ETIMEDOUT);
    close(p[1]);
    close(p[0]);
}

Test(io, reap_bounded_exit_code_and_signal, .timeout = 120)
{
    int before = fd_count();
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0)
        _exit(7);
    cr_assert_eq(reap_bounded(pid, 10000), 7);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        raise(SIGTERM);
        _exit(0);
    }
    cr_assert_eq(reap_bounded(pid, 10000), 128 + SIGTERM);
    errno = 0;
    cr_assert_eq(reap_bounded(pid, 100), -1, "already reaped");
    cr_assert(errno == ESRCH || errno == ECHILD, "errno %d", errno);
    cr_assert_eq(fd_count(), before, "the pidfd is closed");
}

/* A child that never exits is killed after the bound, and reaped all the same. */
Test(io, reap_bounded_kills_after_the_bound, .timeout = 120)
{
    int p[2];
    pipe_or_fail(p);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        char c;
        close(p[1]);
        (void)!read(p[0], &c, 1); /* blocks: the parent keeps the write end open */
        _exit(0);
    }
    close(p[0]);
    errno = 0;
    cr_assert_eq(reap_bounded(pid, 100), -1);
    cr_assert_eq(errno, ETIMEDOUT);
    cr_assert_eq(waitpid(pid, NULL, WNOHANG), -1, "already reaped");
    cr_assert_eq(errno, ECHILD);
    close(p[1]);
}

Test(io, read_file_whole_terminated_and_errors, .timeout = 120)
{
    char path[] = "/tmp/fdlab-readfile-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    static const char text[] = "line one\nline two\n";
    cr_assert_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    cr_assert_eq(close(fd), 0);
    int before = fd_count();
    size_t len = 0;
    char *buf = read_file(path, &len);
    cr_assert_not_null(buf);
    cr_assert_eq(len, sizeof text - 1);
    cr_assert_str_eq(buf, text, "the bytes, then a terminating NUL");
    free(buf);
    cr_assert_eq(fd_count(), before, "no descriptor left open");
    unlink(path);
    errno = 0;
    cr_assert_null(read_file(path, &len));
    cr_assert_eq(errno, ENOENT);
    cr_assert_eq(fd_count(), before);
}
