/* srvtest.h — what lab 11's test files share (test-only: Criterion asserts, called in
 * the test process, never in a child it forked).
 *
 * bin(): the fdhttpd under test, $FDLAB_BUILD/labs/11-fdhttpd/fdhttpd (labpath.h).
 * stop_with(s, sig, timeout_s): sends sig to the server's master and asserts the suite's
 *   verdict on s (srvharness.h): the signal was delivered, the master exited within
 *   timeout_s, nothing was left in its process group; then frees s.
 */
#ifndef LAB11_SRVTEST_H
#define LAB11_SRVTEST_H

#include <criterion/criterion.h>
#include <signal.h>

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

#endif
