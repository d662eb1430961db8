/* Tests for pdeath.h: a child armed with die_with_parent dies with its parent. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pdeath.h"

/* Middle process M forks G, which arms die_with_parent(M), says ready and pauses;
 * M exits once G is ready. G must die then: its end of the pipe closes. */
Test(pdeath, the_child_dies_when_its_parent_exits, .timeout = 120)
{
    int p[2];
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    pid_t m = fork();
    cr_assert_geq(m, 0);
    if (m == 0) {
        close(p[0]);
        pid_t me = getpid();
        int ready[2];
        if (pipe2(ready, O_CLOEXEC) < 0)
            _exit(2);
        pid_t g = fork();
        if (g < 0)
            _exit(2);
        if (g == 0) {
            alarm(30); /* the test's bound if the death signal never came */
            die_with_parent(me);
            if (write(ready[1], "r", 1) != 1)
                _exit(1);
            pause();
            _exit(0);
        }
        close(ready[1]);
        char c;
        if (read(ready[0], &c, 1) != 1)
            _exit(3);
        _exit(0); /* G still holds p[1] */
    }
    close(p[1]);
    int st;
    cr_assert_eq(waitpid(m, &st, 0), m);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "middle process status %d", st);
    struct pollfd pf = {p[0], POLLIN, 0};
    cr_assert_eq(poll(&pf, 1, 10000), 1, "the grandchild outlived its parent");
    char c;
    cr_assert_eq(read(p[0], &c, 1), 0, "end of file: the grandchild is gone");
    close(p[0]);
}

Test(pdeath, a_parent_already_gone_means_exit_at_once, .timeout = 120)
{
    pid_t c = fork();
    cr_assert_geq(c, 0);
    if (c == 0) {
        alarm(30);
        die_with_parent(1); /* not our parent: as if it had died before the call */
        _exit(0);
    }
    int st;
    cr_assert_eq(waitpid(c, &st, 0), c);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d", st);
}
