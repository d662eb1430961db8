/* Tests for the test-support pieces: kv.h, spawn.h, err.h, fdcount.h. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "err.h"
#include "fdcount.h"
#include "kv.h"
#include "spawn.h"

Test(kv, last_value_wins_and_numbers_parse, .timeout = 120)
{
    const char *t = "intro line\nx=1\ny=abc\nx=42\nz=\n";
    long v;
    cr_assert_eq(kv_long(t, "x", &v), 0);
    cr_assert_eq(v, 42);
    cr_assert(kv_is(t, "y", "abc"));
    cr_assert(kv_is(t, "z", ""));
    cr_assert_eq(kv_long(t, "y", &v), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_null(kv_get(t, "w"));
    cr_assert_eq(errno, ENOENT);
    cr_assert_null(kv_get(t, "intro line"), "a line without '=' is not a key");
}

Test(spawn, captures_output_and_status, .timeout = 120)
{
    struct run_result r;
    char *argv[] = {"sh", "-c", "echo a=1; echo oops >&2; exit 3", NULL};
    cr_assert_eq(run_capture(argv, 10, &r), 0);
    cr_assert_eq(run_exit_code(&r), 3);
    cr_assert(kv_is(r.out, "a", "1"));
    cr_assert_str_eq(r.err, "oops\n");
    cr_assert_eq(r.timed_out, 0);
    cr_assert_eq(r.leftovers, 0);
    run_result_free(&r);
}

Test(spawn, timeout_kills_the_group, .timeout = 120)
{
    struct run_result r;
    char *argv[] = {"sh", "-c", "sleep 30 & sleep 30", NULL};
    cr_assert_eq(run_capture(argv, 0.3, &r), 0);
    cr_assert_eq(r.timed_out, 1);
    cr_assert_eq(run_exit_code(&r), 128 + 9);
    run_result_free(&r);
}

Test(spawn, leftover_processes_are_counted_and_killed, .timeout = 120)
{
    struct run_result r;
    char *argv[] = {"sh", "-c", "sleep 30 >/dev/null 2>&1 & echo started", NULL};
    cr_assert_eq(run_capture(argv, 10, &r), 0);
    cr_assert_eq(run_exit_code(&r), 0);
    cr_assert_eq(r.leftovers, 1);
    run_result_free(&r);
}

Test(spawn, exec_failure_is_127, .timeout = 120)
{
    struct run_result r;
    char *argv[] = {"/nonexistent/program", NULL};
    cr_assert_eq(run_capture(argv, 10, &r), 0);
    cr_assert_eq(run_exit_code(&r), 127);
    run_result_free(&r);
}

Test(err, names_and_preserved_errno, .timeout = 120)
{
    cr_assert_str_eq(errno_name(EBADF), "EBADF");
    cr_assert_str_eq(errno_name(EOWNERDEAD), "EOWNERDEAD");
    errno = EAGAIN;
    warn_msg("test message");
    cr_assert_eq(errno, EAGAIN);
}

Test(fdcount, counts_open_and_close, .timeout = 120)
{
    int n = fd_count();
    cr_assert_geq(n, 3);
    int fd = open("/dev/null", O_RDONLY);
    cr_assert_eq(fd_count(), n + 1);
    cr_assert(fd_is_open(fd));
    close(fd);
    cr_assert_eq(fd_count(), n);
    cr_assert_not(fd_is_open(fd));
}
