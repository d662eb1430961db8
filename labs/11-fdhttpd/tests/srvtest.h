/* srvtest.h — what lab 11's test files share (test-only: Criterion asserts, called in
 * the test process, never in a child it forked).
 *
 * bin(): the fdhttpd under test, $FDLAB_BUILD/labs/11-fdhttpd/fdhttpd (labpath.h).
 * stop_with(s, sig, timeout_s): sends sig to the server's master and asserts the suite's
 *   verdict on s (srvharness.h): the signal was delivered, the master exited within
 *   timeout_s, nothing was left in its process group; then frees s.
 * stop_term(s): stop_with(s, SIGTERM, 30), the usual end of a test.
 * start_args(s, base, extra): starts bin() with the NULL-terminated lists base, then
 *   extra (NULL for none; at most 30 arguments in all) and asserts that it is ready.
 * rm_tree(dir): removes dir and everything below it (a symbolic link itself, never what
 *   it names); "" or a missing dir is no error. A suite's .fini, whatever its tests made.
 */
#ifndef LAB11_SRVTEST_H
#define LAB11_SRVTEST_H

#include <criterion/criterion.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>

#include "labpath.h"
#include "srvharness.h"

static inline const char *bin(void)
{
    static char path[512];
    return build_path(path, sizeof path, "labs/11-fdhttpd/fdhttpd");
}

static inline void stop_with(struct fdh_srv *s, int sig, double timeout_s)
{
    cr_assert_eq(kill(s->pid, sig), 0);
    cr_assert_eq(fdh_srv_wait(s, timeout_s), 0, "%s", s->err);
    cr_assert_eq(fdh_srv_leftovers(s), 0, "nothing left in the server's group");
    fdh_srv_free(s);
}

static inline void stop_term(struct fdh_srv *s)
{
    stop_with(s, SIGTERM, 30);
}

static inline void start_args(struct fdh_srv *s, const char *const *base, const char *const *extra)
{
    char *argv[32] = {(char *)bin()};
    int n = 1;
    for (; base && *base && n < 31; base++)
        argv[n++] = (char *)*base;
    for (; extra && *extra && n < 31; extra++)
        argv[n++] = (char *)*extra;
    argv[n] = NULL;
    cr_assert_eq(fdh_srv_start(s, bin(), argv, 30), 0, "start: %s", s->err);
}

static inline int rm_tree_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static inline void rm_tree(const char *dir)
{
    if (dir[0] != '\0')
        nftw(dir, rm_tree_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
