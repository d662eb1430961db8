/* Tests for the test-support pieces: kv.h, spawn.h, err.h, fdcount.h. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "fdcount.h"
#include "kv.h"
#include "spawn.h"

/* The passing side of the test macros (their failing side fails the test). */
Test(kv, test_macros_read_and_compare_values, .timeout = 120)
{
    const char *t = "n=-12\nw=abc\n";
    int calls = 0;
    cr_assert_eq(KV_LONG((calls++, t), "n"), -12);
    cr_assert_eq(calls, 1, "text is evaluated once");
    ASSERT_KV(t, "w", "abc");
    ASSERT_KV(t, "n", "-12");
}

Test(kv, long_or_gives_the_default_for_missing_or_bad_values, .timeout = 120)
{
    const char *t = "n=12\nw=abc\n";
    cr_assert_eq(kv_long_or(t, "n", -999), 12);
    cr_assert_eq(kv_long_or(t, "w", -999), -999);
    cr_assert_eq(kv_long_or(t, "absent", -1), -1);
}

Test(kv, print_in_prefixes_the_key, .init = cr_redirect_stdout, .timeout = 120)
{
    kv_print_in("epoll.n4.", "conns", "%ld", 200L);
    kv_print_in("", "bare", "%s", "x");
    char longp[200];
    memset(longp, 'p', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    kv_print_in(longp, "name", "%d", 1); /* the key is cut at 127 bytes */
    char want[300];
    snprintf(want, sizeof want, "epoll.n4.conns=200\nbare=x\n%.127s=1\n", longp);
    cr_assert_stdout_eq_str(want);
}

Test(kv, forward_prefixes_keys_and_drops_the_rest, .init = cr_redirect_stdout, .timeout = 120)
{
    const char *t = "# an explanation\nport=80\nsrv.conn=1 uid=0\nBad=1\nfds=3\n=x\nlast=no newline";
    kv_forward("a.", t, "srv.conn");
    kv_forward("", "k=v\n", NULL);
    cr_assert_stdout_eq_str("a.port=80\na.fds=3\na.last=no newline\nk=v\n");
}

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

Test(spawn, run_check_names_the_first_failed_condition, .timeout = 120)
{
    struct run_result r = {0};
    char why[64];
    char *ok[] = {"sh", "-c", "echo a=1", NULL};
    cr_assert_eq(run_capture(ok, 10, &r), 0);
    cr_assert_eq(run_check(&r, 0, why, sizeof why), 0);
    cr_assert_str_eq(why, "");
    cr_assert_eq(run_check(&r, 1, why, sizeof why), -1);
    cr_assert_str_eq(why, "exit code 0, want 1");
    cr_assert_eq(run_check(&r, RUN_ANY_EXIT, NULL, 0), 0, "any exit code; why may be NULL");
    run_result_free(&r);

    char *three[] = {"sh", "-c", "exit 3", NULL};
    cr_assert_eq(run_capture(three, 10, &r), 0);
    cr_assert_eq(run_check(&r, 3, why, sizeof why), 0);
    cr_assert_eq(run_check(&r, RUN_ANY_EXIT, why, sizeof why), 0);
    run_result_free(&r);

    char *left[] = {"sh", "-c", "sleep 30 >/dev/null 2>&1 & exit 1", NULL};
    cr_assert_eq(run_capture(left, 10, &r), 0);
    cr_assert_eq(run_check(&r, 0, why, sizeof why), -1);
    cr_assert_str_eq(why, "left 1 process(es) behind", "leftovers come before the exit code");
    run_result_free(&r);

    char *slow[] = {"sh", "-c", "sleep 30", NULL};
    cr_assert_eq(run_capture(slow, 0.3, &r), 0);
    cr_assert_eq(run_check(&r, RUN_ANY_EXIT, why, 4), -1);
    cr_assert_str_eq(why, "tim", "truncated to whylen");
    run_result_free(&r);
}

Test(spawn, child_starts_with_exactly_three_fds, .timeout = 120)
{
    struct run_result r;
    /* What the child may see: 0, 1, 2, ls's own directory fd, and whatever this test
     * process itself holds without FD_CLOEXEC (Criterion's runner leaves some). */
    int inherited = 0;
    for (int fd = 3; fd < 1024; fd++) {
        int fl = fcntl(fd, F_GETFD);
        if (fl >= 0 && !(fl & FD_CLOEXEC))
            inherited++;
    }
    char *argv[] = {"sh", "-c", "ls /proc/self/fd | wc -l", NULL};
    cr_assert_eq(run_capture(argv, 10, &r), 0);
    cr_assert_eq(atoi(r.out), 4 + inherited, "fds seen by the child: %s (inherited %d)", r.out,
                 inherited);
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

/* Run fn in a child with stderr captured; returns what it wrote and its exit code. */
static char *capture_stderr(void (*fn)(void), int *code)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(p[1], STDERR_FILENO);
        fn();
        _exit(0);
    }
    close(p[1]);
    static char buf[512];
    ssize_t n, len = 0;
    while ((n = read(p[0], buf + len, sizeof buf - 1 - (size_t)len)) > 0)
        len += n;
    buf[len] = '\0';
    close(p[0]);
    /* Keep the first line: the message under test. A sanitizer runtime may add its
     * own lines when the child exits (LeakSanitizer under Criterion's threads). */
    char *nl = strchr(buf, '\n');
    if (nl)
        nl[1] = '\0';
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    *code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return buf;
}

static void call_warn(void) { errno = EBADF; warn_errno("ctx %d", 1); }
static void call_die(void) { errno = ENOENT; die("open %s", "x"); }
static void call_die_msg(void) { die_msg("bad option %c", 'q'); }

Test(err, messages_carry_program_context_and_errno, .timeout = 120)
{
    int code;
    char *s = capture_stderr(call_warn, &code);
    char want[256];
    /* Criterion's worker process renames itself: use whatever name the child has. */
    snprintf(want, sizeof want, "%s: ctx 1: Bad file descriptor (EBADF)\n", program_invocation_short_name);
    cr_assert_str_eq(s, want);
    cr_assert_eq(code, 0);
    s = capture_stderr(call_die, &code);
    snprintf(want, sizeof want, "%s: open x: No such file or directory (ENOENT)\n", program_invocation_short_name);
    cr_assert_str_eq(s, want);
    cr_assert_eq(code, 1, "die() exits with EXIT_FAILURE");
    s = capture_stderr(call_die_msg, &code);
    snprintf(want, sizeof want, "%s: bad option q\n", program_invocation_short_name);
    cr_assert_str_eq(s, want);
    cr_assert_eq(code, 1);
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

/* Another process's count, read from outside: a child holding one descriptor more
 * than it inherited, then gone. */
Test(fdcount, counts_another_process, .timeout = 120)
{
    int p[2];
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    pid_t c = fork();
    cr_assert_geq(c, 0);
    if (c == 0) {
        alarm(30);
        close(p[1]);
        char b;
        (void)!read(p[0], &b, 1); /* until the parent closes its end */
        _exit(0);
    }
    close(p[0]);
    /* The child has what we had at fork() minus p[1], we have it minus p[0]: the same
     * count once the child has closed p[1] (polled for). */
    int want = fd_count(), got = -1;
    for (int i = 0; i < 2000 && (got = fd_count_of(c)) != want; i++)
        usleep(1000);
    cr_assert_eq(got, want);
    close(p[1]);
    cr_assert_eq(waitpid(c, NULL, 0), c);
    errno = 0;
    cr_assert_eq(fd_count_of(c), -1, "reaped: no such process");
    cr_assert_eq(errno, ENOENT);
}

/* run_lab and run_lab_exit find programs under $FDLAB_BUILD/labs/<lab>/. */
static void script(const char *dir, const char *name, const char *body)
{
    char path[256];
    snprintf(path, sizeof path, "%s/labs/t/%s", dir, name);
    FILE *f = fopen(path, "we");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fprintf(f, "#!/bin/sh\n%s\n", body);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(chmod(path, 0755), 0);
}

Test(spawn, run_lab_exit_gives_the_code_of_a_clean_run_only, .timeout = 120)
{
    char dir[] = "/tmp/fdlab-runlab-XXXXXX", sub[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/labs", dir);
    cr_assert_eq(mkdir(sub, 0700), 0);
    snprintf(sub, sizeof sub, "%s/labs/t", dir);
    cr_assert_eq(mkdir(sub, 0700), 0);
    script(dir, "three", "exit 3");
    script(dir, "leaves", "sleep 30 & exit 0");
    cr_assert_eq(setenv("FDLAB_BUILD", dir, 1), 0);
    cr_assert_eq(run_lab_exit(20, "t", "three", "ignored", NULL), 3);
    cr_assert_eq(run_lab_exit(20, "t", "leaves", NULL), -1, "a process left behind");
    cr_assert_eq(run_lab_exit(20, "t", "absent", NULL), 127, "exec failed in the child");
    const char *made[] = {"labs/t/three", "labs/t/leaves", "labs/t", "labs", ""};
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, made[i]);
        cr_assert_eq(remove(path), 0, "%s: %s", path, strerror(errno));
    }
}
