/* Tests for fdlimit.h: raising the soft descriptor limit, never past the hard one. */
#include <criterion/criterion.h>
#include <sys/resource.h>

#include "fdlimit.h"

Test(fdlimit, raises_the_soft_limit_and_leaves_a_higher_one, .timeout = 120)
{
    struct rlimit rl;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 300)
        cr_skip_test("hard RLIMIT_NOFILE %lu is below 300", (unsigned long)rl.rlim_max);
    rl.rlim_cur = 200; /* Criterion runs each test in its own process */
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    cr_assert_eq(fd_limit_raise(100), 200, "already enough: unchanged");
    cr_assert_eq(fd_limit_raise(300), 300);
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    cr_assert_eq(rl.rlim_cur, 300);
}

Test(fdlimit, stops_at_the_hard_limit, .timeout = 120)
{
    struct rlimit rl;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max < 64)
        cr_skip_test("hard RLIMIT_NOFILE is unlimited or tiny: nothing to cap at");
    rl.rlim_cur = 32;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    cr_assert_eq(fd_limit_raise((long)rl.rlim_max + 1000), (long)rl.rlim_max);
    struct rlimit now;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &now), 0);
    cr_assert_eq(now.rlim_cur, rl.rlim_max);
}
