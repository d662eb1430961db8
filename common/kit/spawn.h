/* spawn.h — run a program to completion with a time limit and capture its output.
 *
 * Used by the tests, which check a lab by running its binary and reading the
 * key=value lines it prints (kv.h), and by lab runners that start a paired program.
 *
 * run_capture(argv, timeout_s, r):
 *   forks, puts the child in a new process group, execs argv[0] (PATH is searched)
 *   with stdin on /dev/null, and captures stdout and stderr separately until the child
 *   has exited and both pipes are closed. On return, every process of that group is
 *   gone: the child is reaped, and anything it left running in its group is killed
 *   with SIGKILL and counted in r->leftovers (a well-behaved lab leaves 0).
 *   When timeout_s passes first, the whole group is killed and r->timed_out = 1.
 *   Returns 0 with *r filled (r->status as from waitpid), -1 with errno when the
 *   run could not be made (pipe, fork, pidfd or allocation failed). An exec failure
 *   shows as exit status 127 with the reason on r->err.
 * run_lab(r, timeout_s, lab, prog, arg...NULL):
 *   run_capture of build_path("labs/<lab>/<prog>") (labpath.h), with the arguments
 *   given (at most 62). -1 with ENAMETOOLONG when the path does not fit.
 * run_lab_exit(timeout_s, lab, prog, arg...NULL): run_lab for a run whose output does
 *   not matter (a usage error, say): returns its exit code (run_exit_code) when it ended
 *   on its own and left no process behind, -1 otherwise (not run, timed out, leftovers).
 * run_exit_code(r): the exit code, or 128+signal when killed by a signal, or -1.
 * run_check(r, want_exit, why, whylen): the verdict every lab test asserts first on a
 *   finished run. Returns 0 when the run ended on its own (not timed_out), left no
 *   process behind (leftovers == 0) and exited with want_exit (run_exit_code; pass
 *   RUN_ANY_EXIT to leave the exit code to the caller). Otherwise returns -1 and writes
 *   the first failed condition, in that order, as one line into why (truncated to
 *   whylen; why may be NULL when whylen is 0): "timed out", "left N process(es) behind"
 *   or "exit code X, want Y".
 * run_result_free(r): frees r->out and r->err (safe on a zeroed struct).
 *
 * Test timeouts: every Test() of one test binary carries the same .timeout. Criterion
 * 2.4's runner (boxfort's bxfi_push_timeout) keeps pending timeouts in a list sorted by
 * deadline, but when a new deadline sorts BEFORE an existing one it drops the rest of
 * the list: those tests lose their timeout, and LeakSanitizer reports the dropped
 * entries (exit 1 under V=asan). Equal timeouts give deadlines in start order, which
 * are always appended.
 */
#ifndef FDLAB_SPAWN_H
#define FDLAB_SPAWN_H

#include <stddef.h>

struct run_result {
    int status;    /* waitpid() status of the child */
    int timed_out; /* 1 when the time limit killed the group */
    int leftovers; /* processes of the group still alive after the child exited */
    char *out;     /* captured stdout, NUL-terminated, malloc'd */
    char *err;     /* captured stderr, NUL-terminated, malloc'd */
};

int run_capture(char *const argv[], double timeout_s, struct run_result *r);
__attribute__((sentinel)) int run_lab(struct run_result *r, double timeout_s, const char *lab,
                                      const char *prog, ...);
__attribute__((sentinel)) int run_lab_exit(double timeout_s, const char *lab, const char *prog, ...);
int run_exit_code(const struct run_result *r);
#define RUN_ANY_EXIT (-1000) /* run_check: any exit code is fine */
int run_check(const struct run_result *r, int want_exit, char *why, size_t whylen);

/* ASSERT_RUN(r, want_exit): for Criterion tests only (it expands to cr_assert_eq, so
 * the file must include criterion.h; never use it in a forked child). Asserts
 * run_check(r, want_exit) == 0 and, when it fails, prints the reason with the run's
 * stdout and stderr. */
#define ASSERT_RUN(r, want_exit)                                                                   \
    do {                                                                                           \
        char run_why_[128];                                                                        \
        cr_assert_eq(run_check((r), (want_exit), run_why_, sizeof run_why_), 0,                    \
                     "%s; stdout:\n%s\nstderr:\n%s", run_why_, (r)->out, (r)->err);                \
    } while (0)
void run_result_free(struct run_result *r);

#endif
