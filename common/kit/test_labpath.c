/* Tests for labpath.h: the build directory from FDLAB_BUILD, and this program's own. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "labpath.h"

Test(labpath, build_path_follows_fdlab_build, .timeout = 120)
{
    char buf[128];
    cr_assert_eq(setenv("FDLAB_BUILD", "build/asan", 1), 0);
    cr_assert_str_eq(build_path(buf, sizeof buf, "bench/loadclient"), "build/asan/bench/loadclient");
    cr_assert_eq(setenv("FDLAB_BUILD", "", 1), 0);
    cr_assert_str_eq(build_path(buf, sizeof buf, "labs/01-naive/lab"), "build/gcc/labs/01-naive/lab",
                     "empty means the default");
    cr_assert_eq(unsetenv("FDLAB_BUILD"), 0);
    cr_assert_str_eq(build_path(buf, sizeof buf, "x"), "build/gcc/x", "unset means the default");
}

Test(labpath, build_path_refuses_what_does_not_fit, .timeout = 120)
{
    char buf[14]; /* "build/gcc/abc" and its NUL */
    cr_assert_eq(unsetenv("FDLAB_BUILD"), 0);
    cr_assert_str_eq(build_path(buf, sizeof buf, "abc"), "build/gcc/abc");
    errno = 0;
    cr_assert_null(build_path(buf, sizeof buf, "abcd"));
    cr_assert_eq(errno, ENAMETOOLONG);
}

/* The directory is /proc/self/exe without its last component. */
Test(labpath, self_dir_is_where_this_program_lives, .timeout = 120)
{
    char dir[4096], exe[4096];
    cr_assert_eq(self_dir(dir, sizeof dir), 0);
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    cr_assert_gt(n, 0);
    exe[n] = '\0';
    size_t len = strlen(dir);
    cr_assert_eq(dir[0], '/', "an absolute path: %s", dir);
    cr_assert_eq(strncmp(exe, dir, len), 0, "%s is not in %s", exe, dir);
    cr_assert_eq(exe[len], '/');
    cr_assert_null(strchr(exe + len + 1, '/'), "%s: one component after %s", exe, dir);
    char small[2];
    errno = 0;
    cr_assert_eq(self_dir(small, sizeof small), -1);
    cr_assert_eq(errno, ENAMETOOLONG);
}
