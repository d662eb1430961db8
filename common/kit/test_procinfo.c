/* Tests for procinfo.h: a child blocked in read(2) on a pipe is seen asleep there. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procinfo.h"

Test(procinfo, child_asleep_in_read_is_seen_there, .timeout = 120)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        char c;
        close(p[1]);
        _exit(read(p[0], &c, 1) == 1 ? 0 : 1);
    }
    close(p[0]);
    long nrs[] = {SYS_read}, other[] = {SYS_futex, SYS_accept4};
    cr_assert_eq(proc_wait_all_asleep(&pid, 1, nrs, 1, 10000), 0, "child never slept in read()");
    cr_assert(proc_asleep_in(pid, nrs, 1));
    cr_assert_not(proc_asleep_in(pid, other, 2));
    cr_assert(proc_is_sleeping(pid));
    struct proc_sleep s;
    cr_assert_eq(proc_sleep(pid, &s), 0);
    cr_assert_eq(s.state, 'S');
    cr_assert_eq(s.in_syscall, 1);
    cr_assert_eq(s.nr, SYS_read);
    cr_assert_eq(write(p[1], "x", 1), 1);
    close(p[1]);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

Test(procinfo, timeout_and_missing_process, .timeout = 120)
{
    /* Ourselves: running, never asleep in futex while we ask. */
    long nrs[] = {SYS_futex};
    pid_t self = getpid();
    cr_assert_eq(proc_wait_all_asleep(&self, 1, nrs, 1, 20), -1);
    cr_assert_eq(errno, ETIMEDOUT);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0)
        _exit(0);
    cr_assert_eq(waitpid(pid, NULL, 0), pid);
    struct proc_sleep s;
    cr_assert_eq(proc_sleep(pid, &s), -1, "a reaped process has no /proc entry");
    cr_assert_eq(errno, ENOENT);
    cr_assert_not(proc_is_sleeping(pid));
}

Test(procinfo, stat_gives_state_and_group, .timeout = 120)
{
    char state = 0;
    pid_t pgrp = 0;
    cr_assert_eq(proc_stat(getpid(), &state, &pgrp), 0);
    cr_assert_eq(state, 'R', "this process is running while it reads");
    cr_assert_eq(pgrp, getpgrp());
    cr_assert_eq(proc_stat(getpid(), NULL, NULL), 0);
    errno = 0;
    cr_assert_eq(proc_stat(getpid() + 4000000, &state, &pgrp), -1);
    cr_assert_eq(errno, ENOENT);
}
