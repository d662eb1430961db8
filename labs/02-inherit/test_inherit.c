/* Tests for lab 02: run the lab per scenario and assert on its key=value output. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kv.h"
#include "spawn.h"

#define LAB "02-inherit"

/* Run the lab with "-s scenario" (or no option when scenario is NULL) and check the
 * things every run must show: no timeout, nothing left behind, no fd leaked. */
static void run(struct run_result *r, const char *scenario, int want_exit)
{
    int rc = scenario ? run_lab(r, 30, LAB, "lab", "-s", scenario, NULL) : run_lab(r, 30, LAB, "lab", NULL);
    cr_assert_eq(rc, 0, "run_lab");
    ASSERT_RUN(r, want_exit);
}

static long num(const struct run_result *r, const char *key)
{
    return KV_LONG(r->out, key);
}

static void is(const struct run_result *r, const char *key, const char *want)
{
    ASSERT_KV(r->out, key, want);
}

Test(inherit, accepted_before_fork_is_usable_and_same_open_file, .timeout = 60)
{
    struct run_result r;
    run(&r, "before", 0);
    cr_assert_eq(num(&r, "before.child_fd_open"), 1);
    cr_assert_gt(num(&r, "before.child_wrote"), 0);
    cr_assert_eq(num(&r, "before.client_got_child_greeting"), 1, "the client read the child's bytes");
    cr_assert_eq(num(&r, "before.kcmp_file"), 0, "kcmp(KCMP_FILE) == 0: one open file description");
    cr_assert_gt(num(&r, "before.kcmp_other_file"), 0, "kcmp distinguishes other files");
    is(&r, "before.same_open_file_description", "yes");
    cr_assert_eq(num(&r, "before.status_flag_shared"), 1, "O_NONBLOCK lives in the open file description");
    cr_assert_eq(num(&r, "before.fd_flag_shared"), 0, "FD_CLOEXEC lives in each process's fd table");
    cr_assert_eq(num(&r, "before.child_exit"), 0);
    cr_assert_eq(num(&r, "fds.leaked"), 0);
    is(&r, "result", "PASS");
    run_result_free(&r);
}

Test(inherit, file_offset_is_shared_across_fork, .timeout = 60)
{
    struct run_result r;
    run(&r, "offset", 0);
    long before = num(&r, "offset.parent_before");
    long wrote = num(&r, "offset.child_wrote");
    long seeked = num(&r, "offset.child_seeked");
    cr_assert_eq(before, 0);
    cr_assert_eq(num(&r, "offset.parent_after"), before + wrote + seeked,
                 "the child's write and lseek moved the parent's offset");
    cr_assert_eq(num(&r, "offset.shared"), 1);
    cr_assert_eq(num(&r, "offset.kcmp_file"), 0);
    cr_assert_eq(num(&r, "offset.reopen_child_offset"), 50, "a fresh open() starts its own offset");
    cr_assert_gt(num(&r, "offset.reopen_kcmp_file"), 0, "a fresh open() is another open file description");
    is(&r, "offset.reopen_same_open_file_description", "no");
    cr_assert_eq(num(&r, "fds.leaked"), 0);
    run_result_free(&r);
}

Test(inherit, accepted_after_fork_is_not_in_child, .timeout = 60)
{
    struct run_result r;
    run(&r, "after", 0);
    /* The number alone: not open in the child. */
    is(&r, "after.ebadf.child_fcntl", "EBADF");
    is(&r, "after.ebadf.child_write", "EBADF");
    cr_assert_eq(num(&r, "after.ebadf.kcmp_file"), -1);
    is(&r, "after.ebadf.kcmp_errno", "EBADF");
    is(&r, "after.ebadf.client_first_line", "from parent");
    /* The number reused by the child: a different open file, written by mistake. */
    cr_assert_eq(num(&r, "after.reuse.child_own_fd"), num(&r, "after.reuse.parent_fd"),
                 "same number in both processes");
    is(&r, "after.reuse.child_fcntl", "ok");
    is(&r, "after.reuse.child_write", "ok");
    cr_assert_eq(num(&r, "after.reuse.unrelated_file_size"), 17, "the greeting landed in the child's own file");
    cr_assert_gt(num(&r, "after.reuse.kcmp_file"), 0, "kcmp != 0: not the same open file");
    is(&r, "after.reuse.same_open_file_description", "no");
    is(&r, "after.reuse.client_first_line", "from parent"); /* nothing from the child arrived */
    cr_assert_eq(num(&r, "fds.leaked"), 0);
    run_result_free(&r);
}

Test(inherit, whole_lab_passes_and_concludes, .timeout = 60)
{
    struct run_result r;
    run(&r, NULL, 0);
    is(&r, "result", "PASS");
    cr_assert_eq(num(&r, "fds.leaked"), 0);
    cr_assert(strstr(r.out, "must PASS each connection"), "the conclusion is printed");
    cr_assert_str_empty(r.err, "no warnings: %s", r.err);
    run_result_free(&r);
}

Test(inherit, unknown_scenario_is_refused, .timeout = 60)
{
    struct run_result r;
    run(&r, "nonsense", 1);
    cr_assert(strstr(r.err, "usage"), "usage on stderr");
    run_result_free(&r);
}

/* The whole DOT file a drawing run wrote into dir (malloc'd), or NULL. */
static char *picture_in(const char *dir, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s.dot", dir, name);
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char *text = calloc(1, 1 << 16);
    size_t n = text ? fread(text, 1, (1 << 16) - 1, f) : 0;
    fclose(f);
    unlink(path);
    if (text && n == 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* FDLAB_DRAW (make lab-2 DRAW=1): the picture is written, shows what the lab claims,
 * and is the same text on every run. */
Test(inherit, picture_is_drawn_and_deterministic, .timeout = 90)
{
    char dir[] = "/tmp/fdlab-02-draw-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(setenv("FDLAB_DRAW", dir, 1), 0);
    char *dot[2];
    for (int i = 0; i < 2; i++) {
        struct run_result r;
        run(&r, NULL, 0);
        cr_assert_not_null(strstr(r.out, "picture="), "the lab says where the picture went");
        run_result_free(&r);
        dot[i] = picture_in(dir, "02-inherit");
        cr_assert_not_null(dot[i], "no %s/02-inherit.dot", dir);
    }
    cr_assert_eq(rmdir(dir), 0, "nothing else written");
    cr_assert_str_eq(dot[0], dot[1], "same facts, same picture");
    cr_assert_not_null(strstr(dot[0], "fd table of the child"));
    cr_assert_not_null(strstr(dot[0], "O_RDWR | O_NONBLOCK"), "the child's O_NONBLOCK is in the shared description");
    cr_assert_not_null(strstr(dot[0], "not open"), "the connection accepted after fork() is in one table");
    free(dot[0]);
    free(dot[1]);
}
