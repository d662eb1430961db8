/* Tests for pgroup.h: counting what is left of a process group. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pgroup.h"

/* A child in a group of its own that forks one more member, says so on ready, and
 * waits to be killed. Never calls cr_* (it is a forked child). */
static pid_t start_group(void)
{
    int ready[2];
    cr_assert_eq(pipe2(ready, O_CLOEXEC), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(ready[0]);
        alarm(30); /* bounded even if the test dies */
        if (setpgid(0, 0) < 0 || fork() < 0)
            _exit(1);
        /* both the leader and its child arrive here */
        if (write(ready[1], "r", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    close(ready[1]);
    char c[2];
    cr_assert_eq(read(ready[0], c, 1), 1);
    cr_assert_eq(read(ready[0], c + 1, 1), 1);
    close(ready[0]);
    return pid;
}

Test(pgroup, counts_members_then_none_after_the_kill, .timeout = 120)
{
    pid_t g = start_group();
    cr_assert_eq(pgroup_count(g), 2);
    cr_assert_eq(kill(-g, SIGKILL), 0);
    cr_assert_eq(waitpid(g, NULL, 0), g);
    /* The other member is reaped by whoever adopted it: dead ones do not count. */
    int n = -1;
    for (int i = 0; i < 2000 && (n = pgroup_count(g)) != 0; i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    cr_assert_eq(n, 0);
    cr_assert_eq(pgroup_count(getpid() + 1000000), 0, "no such group: none");
}
