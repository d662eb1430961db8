/* Tests for kcmp.h: kcmp_file() tells open file descriptions apart, not numbers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kcmp.h"

Test(kcmp, dup_is_the_same_description, .timeout = 120)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    cr_assert_geq(d, 0);
    cr_assert_eq(kcmp_file(getpid(), getpid(), fd, d), 0, "a dup shares the description");
    cr_assert_eq(kcmp_file(getpid(), getpid(), fd, fd), 0);
    close(d);
    close(fd);
}

Test(kcmp, two_opens_of_one_file_differ, .timeout = 120)
{
    int a = open("/dev/null", O_RDONLY | O_CLOEXEC), b = open("/dev/null", O_RDONLY | O_CLOEXEC);
    cr_assert(a >= 0 && b >= 0);
    int k = kcmp_file(getpid(), getpid(), a, b);
    cr_assert(k >= 1 && k <= 3, "two open() calls give two descriptions, kcmp said %d", k);
    close(a);
    close(b);
}

Test(kcmp, number_not_open_is_ebadf, .timeout = 120)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    close(fd); /* now certainly not open */
    errno = 0;
    cr_assert_eq(kcmp_file(getpid(), getpid(), 0, fd), -1);
    cr_assert_eq(errno, EBADF);
    errno = 0;
    cr_assert_eq(kcmp_file(getpid(), getpid(), 0, -1), -1, "a negative number is not open");
    cr_assert_eq(errno, EBADF);
}

/* A descriptor inherited across fork() is the same description in the child; one the
 * child opens itself is not. The child only waits (no cr_* in it). */
Test(kcmp, inherited_across_fork_is_the_same, .timeout = 120)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int p[2];
    cr_assert(fd >= 0 && pipe2(p, O_CLOEXEC) == 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        char c;
        close(p[1]);
        ssize_t n = read(p[0], &c, 1); /* EOF: the parent is done looking */
        _exit(n == 0 ? 0 : 1);
    }
    close(p[0]);
    int same = kcmp_file(getpid(), pid, fd, fd);
    int own = kcmp_file(getpid(), pid, fd, p[0]); /* the child's pipe end vs our file */
    close(p[1]);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    close(fd);
    cr_assert_eq(same, 0);
    cr_assert(own >= 1 && own <= 3, "kcmp said %d", own);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

Test(kcmp, reaped_process_is_esrch, .timeout = 120)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0)
        _exit(0);
    cr_assert_eq(waitpid(pid, NULL, 0), pid);
    errno = 0;
    cr_assert_eq(kcmp_file(getpid(), pid, 0, 0), -1);
    cr_assert_eq(errno, ESRCH);
}
