/* Tests for lab 04: run the lab (or one of its programs) and assert on its key=value
 * output. Parts that change uid need root and are skipped otherwise; CI runs as root. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdcount.h"
#include "kv.h"
#include "labpath.h"
#include "spawn.h"

#define LAB "04-unrelated"
/* One timeout for every test of this binary (why: spawn.h, "Test timeouts"). */
#define TEST_TIMEOUT_S 200

static long num(const char *text, const char *key)
{
    return KV_LONG(text, key);
}

static void need_root(void)
{
    if (geteuid() != 0)
        cr_skip_test("needs root: changing uid (setuid) is the point of this test");
}

/* Runs the lab with arguments; asserts a clean run (exit 0, no timeout, nothing left). */
static void run_ok(struct run_result *r, const char *a1, const char *a2, const char *a3,
                   const char *a4)
{
    int before = fd_count();
    cr_assert_eq(run_lab(r, 120, LAB, "lab", a1, a2, a3, a4, NULL), 0);
    ASSERT_RUN(r, 0);
    cr_assert_eq(fd_count(), before, "running the lab leaked no fd into the test");
    cr_assert_eq(num(r->out, "claims_shown"), num(r->out, "claims_total"));
}

Test(unrelated, unprivileged_client_reads_file_through_received_fd, .timeout = TEST_TIMEOUT_S)
{
    need_root();
    struct run_result r;
    run_ok(&r, "-p", "1", "-N", "10");
    cr_assert(kv_is(r.out, "a.uid", "65534"), "the client really is nobody");
    cr_assert(kv_is(r.out, "a.self_open", "EACCES"), "its own open() is refused");
    cr_assert(kv_is(r.out, "a.reply", "ok"));
    cr_assert_eq(num(r.out, "a.fds_received"), 1);
    char *content = kv_get(r.out, "a.content");
    cr_assert_not_null(content);
    cr_assert(strncmp(content, "fdlab04-secret-", 15) == 0, "read through the fd: %s", content);
    free(content);
    cr_assert_eq(num(r.out, "a.fd_owner_uid"), 0);
    cr_assert(kv_is(r.out, "a.fd_mode", "0600"));
    cr_assert(kv_is(r.out, "a.fd_accmode", "r"));
    cr_assert_eq(num(r.out, "a.server_peer_uid"), 65534, "SO_PEERCRED named the client");
    cr_assert(kv_is(r.out, "a.server_verdict", "granted"));
    cr_assert(kv_is(r.out, "a.shown", "1"));
    run_result_free(&r);
}

Test(unrelated, peer_with_wrong_uid_is_refused_without_fd, .timeout = TEST_TIMEOUT_S)
{
    struct run_result r;
    run_ok(&r, "-p", "1", "-N", "10");
    cr_assert(kv_is(r.out, "b.reply", "EACCES"));
    cr_assert_eq(num(r.out, "b.fds_received"), 0);
    cr_assert(kv_is(r.out, "b.server_verdict", "refused"));
    cr_assert_eq(num(r.out, "b.server_peer_uid"), num(r.out, "b.uid"));
    if (geteuid() == 0)
        cr_assert(kv_is(r.out, "b.uid", "65533"));
    cr_assert(kv_is(r.out, "b.shown", "1"));
    run_result_free(&r);
}

Test(unrelated, failed_open_returns_errno_without_fd, .timeout = TEST_TIMEOUT_S)
{
    need_root();
    struct run_result r;
    run_ok(&r, "-p", "1", "-N", "10");
    cr_assert(kv_is(r.out, "c.reply", "ENOENT"));
    cr_assert_eq(num(r.out, "c.fds_received"), 0);
    cr_assert(kv_is(r.out, "c.server_verdict", "failed:ENOENT"));
    run_result_free(&r);
}

Test(unrelated, peercred_is_recorded_at_connect_time, .timeout = TEST_TIMEOUT_S)
{
    need_root();
    struct run_result r;
    run_ok(&r, "-p", "1", "-N", "10");
    cr_assert(kv_is(r.out, "d.connected_euid", "65534"));
    cr_assert(kv_is(r.out, "d.connected_ruid", "0"), "SO_PEERCRED reports the EFFECTIVE uid");
    cr_assert(kv_is(r.out, "d.uid", "65533"), "the request was sent as 65533");
    cr_assert(kv_is(r.out, "d.self_open", "EACCES"));
    cr_assert_eq(num(r.out, "d.server_peer_uid"), 65534, "the server saw connect()'s euid");
    cr_assert(kv_is(r.out, "d.reply", "ok"));
    cr_assert(kv_is(r.out, "d.server_verdict", "granted"));
    run_result_free(&r);
}

Test(unrelated, server_leaks_no_fd_after_many_requests, .timeout = TEST_TIMEOUT_S)
{
    struct run_result r;
    run_ok(&r, "-p", "1", "-N", "500");
    long start = num(r.out, "srv.fds_start");
    cr_assert_gt(start, 0);
    cr_assert_eq(num(r.out, "srv.fds_end"), start);
    cr_assert_eq(num(r.out, "srv.connections"), num(r.out, "e.expected_connections"));
    cr_assert_eq(num(r.out, "srv.exit"), 0);
    cr_assert_eq(num(r.out, "e.refused.fds_after"), num(r.out, "e.refused.fds_before"));
    if (geteuid() == 0) {
        cr_assert_eq(num(r.out, "e.granted.replies_ok"), 500);
        cr_assert_eq(num(r.out, "srv.granted"), 500 + 2, "500 + scenarios a and d");
        cr_assert_eq(num(r.out, "e.granted.fds_after"), num(r.out, "e.granted.fds_before"));
    }
    cr_assert(kv_is(r.out, "e.shown", "1"));
    run_result_free(&r);
}

Test(unrelated, pidfd_getfd_same_open_file_shared_offset, .timeout = TEST_TIMEOUT_S)
{
    struct run_result r;
    run_ok(&r, "-p", "2", NULL, NULL);
    cr_assert(kv_is(r.out, "pidfd.same.taker.getfd", "ok"));
    cr_assert(kv_is(r.out, "pidfd.same.taker.kcmp", "0"), "kcmp KCMP_FILE: same description");
    cr_assert_eq(num(r.out, "pidfd.same.taker.ino"), num(r.out, "pidfd.same.target.ino"));
    cr_assert_eq(num(r.out, "pidfd.same.taker.cloexec"), 1);
    cr_assert_eq(num(r.out, "pidfd.same.taker.offset_before"), 4, "starts where the target was");
    cr_assert(kv_is(r.out, "pidfd.same.taker.read", "4567"));
    cr_assert_eq(num(r.out, "pidfd.same.target.offset_after"), 8, "the target's offset moved");
    run_result_free(&r);
}

Test(unrelated, pidfd_getfd_other_uid_eperm, .timeout = TEST_TIMEOUT_S)
{
    need_root();
    struct run_result r;
    run_ok(&r, "-p", "2", NULL, NULL);
    cr_assert(kv_is(r.out, "pidfd.other_uid.taker.uid", "65534"));
    cr_assert(kv_is(r.out, "pidfd.other_uid.taker.pidfd_open", "ok"), "naming is not taking");
    cr_assert(kv_is(r.out, "pidfd.other_uid.taker.getfd", "EPERM"));
    cr_assert_eq(num(r.out, "pidfd.other_uid.target.offset_after"), 4, "nothing read");
    run_result_free(&r);
}

Test(unrelated, pidfd_nondumpable_target, .timeout = TEST_TIMEOUT_S)
{
    struct run_result r;
    run_ok(&r, "-p", "2", NULL, NULL);
    cr_assert(kv_is(r.out, "pidfd.nondump.target.dumpable", "0"));
    if (geteuid() == 0) {
        /* root keeps CAP_SYS_PTRACE, which overrides the dumpable check */
        cr_assert(kv_is(r.out, "pidfd.nondump.taker.cap_sys_ptrace", "1"));
        cr_assert(kv_is(r.out, "pidfd.nondump.taker.getfd", "ok"));
        if (kv_is(r.out, "fs.suid_dumpable", "0"))
            cr_assert(kv_is(r.out, "pidfd.nobody.target.dumpable_after_setuid", "0"),
                  "a credential change makes a process non-dumpable");
        cr_assert(kv_is(r.out, "pidfd.nobody.taker.getfd", "ok"));
        cr_assert(kv_is(r.out, "pidfd.nobody.taker.kcmp", "0"));
        cr_assert(kv_is(r.out, "pidfd.nobody_nondump.taker.cap_sys_ptrace", "0"));
        cr_assert(kv_is(r.out, "pidfd.nobody_nondump.target.dumpable", "0"));
        cr_assert(kv_is(r.out, "pidfd.nobody_nondump.taker.getfd", "EPERM"));
    } else {
        cr_assert(kv_is(r.out, "pidfd.nondump.taker.getfd", "EPERM"));
    }
    run_result_free(&r);
}

Test(unrelated, yama_state_is_reported, .timeout = TEST_TIMEOUT_S)
{
    struct run_result r;
    run_ok(&r, "-p", "2", NULL, NULL);
    struct stat st;
    if (stat("/proc/sys/kernel/yama", &st) != 0)
        cr_assert(kv_is(r.out, "yama.ptrace_scope", "absent"));
    else
        cr_assert(!kv_is(r.out, "yama.ptrace_scope", "absent"));
    run_result_free(&r);
}

Test(unrelated, whole_lab_exits_0_and_skips_nothing_as_root, .timeout = TEST_TIMEOUT_S)
{
    struct run_result r;
    run_ok(&r, NULL, NULL, NULL, NULL);
    if (geteuid() == 0) {
        cr_assert_eq(num(r.out, "claims_total"), 12);
        cr_assert_null(strstr(r.out, "skipped="));
        cr_assert_null(kv_get(r.out, "g.shown"), "the own-uid grant is the non-root path only");
    } else {
        cr_assert(kv_is(r.out, "g.shown", "1"), "not root: a grant is still shown");
    }
    run_result_free(&r);
}

/* As root, run the whole lab again as nobody (setpriv) to check the fallback path. */
Test(unrelated, non_root_run_skips_and_still_exits_0, .timeout = TEST_TIMEOUT_S)
{
    need_root();
    char lab[4096];
    build_path(lab, sizeof lab, "labs/" LAB "/lab");
    if (access("/usr/bin/setpriv", X_OK) != 0)
        cr_skip_test("setpriv (util-linux) not installed");
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "test -x '%s' && exec '%s' -N 20", lab, lab);
    char *argv[] = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    "sh", "-c", cmd, NULL};
    struct run_result r;
    cr_assert_eq(run_capture(argv, 120, &r), 0);
    if (run_exit_code(&r) != 0 && strstr(r.out, "root=") == NULL)
        cr_skip_test("nobody cannot run %s (directory permissions)", lab);
    ASSERT_RUN(&r, 0);
    cr_assert(kv_is(r.out, "root", "0"));
    cr_assert(kv_is(r.out, "a.skipped", "not-root"));
    cr_assert(kv_is(r.out, "b.reply", "EACCES"), "our uid is left off the allow-list");
    /* ... but a grant is still shown: a second server that allows our own uid. */
    cr_assert(kv_is(r.out, "g.allowed_uid", "65534"));
    cr_assert(kv_is(r.out, "g.uid", "65534"));
    cr_assert(kv_is(r.out, "g.reply", "ok"));
    cr_assert_eq(num(r.out, "g.fds_received"), 1);
    cr_assert(kv_is(r.out, "g.content", "0123456789abcdefghijklmnopqrstuvwxyz"),
              "read through the received fd");
    cr_assert(kv_is(r.out, "g.fd_accmode", "r"));
    cr_assert_eq(num(r.out, "g.server_peer_uid"), 65534);
    cr_assert(kv_is(r.out, "g.server_verdict", "granted"));
    cr_assert_eq(num(r.out, "g.srv.granted"), 1);
    cr_assert_eq(num(r.out, "g.srv.fds_end"), num(r.out, "g.srv.fds_start"));
    cr_assert(kv_is(r.out, "g.shown", "1"));
    cr_assert(kv_is(r.out, "pidfd.same.taker.getfd", "ok"));
    cr_assert(kv_is(r.out, "pidfd.nondump.taker.getfd", "EPERM"));
    cr_assert(kv_is(r.out, "pidfd.other_uid.skipped", "not-root"));
    run_result_free(&r);
}

Test(unrelated, client_without_server_fails_cleanly, .timeout = TEST_TIMEOUT_S)
{
    struct run_result r;
    cr_assert_eq(run_lab(&r, 20, LAB, "openclnt", "-s", "@fdlab-04-nonexistent-test", "-f",
                         "/etc/hostname", NULL), 0);
    ASSERT_RUN(&r, 1);
    cr_assert_not_null(strstr(r.err, "ECONNREFUSED"), "stderr: %s", r.err);
    run_result_free(&r);
}

Test(unrelated, server_on_a_path_removes_its_socket_file, .timeout = TEST_TIMEOUT_S)
{
    char dir[] = "/tmp/fdlab04-test-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char sock[64];
    snprintf(sock, sizeof sock, "%s/srv.sock", dir);
    struct run_result r;
    /* stdin is /dev/null: the server sees EOF at once and stops after listening. */
    cr_assert_eq(run_lab(&r, 20, LAB, "opensrv", "-n", sock, "-u", "65534", NULL), 0);
    cr_assert_eq(run_exit_code(&r), 0, "stderr: %s", r.err);
    cr_assert(kv_is(r.out, "srv.name", sock));
    cr_assert_eq(num(r.out, "srv.connections"), 0);
    cr_assert_eq(num(r.out, "srv.fds_end"), num(r.out, "srv.fds_start"));
    struct stat st;
    cr_assert_neq(lstat(sock, &st), 0, "the socket file was unlinked");
    cr_assert_eq(rmdir(dir), 0);
    run_result_free(&r);
}

/* Part 3 runs in a PID namespace of its own; without CAP_SYS_ADMIN or user namespaces,
 * or before Linux 6.5, the program says "skipped=" and so do these tests. */
static void run_part3(struct run_result *r)
{
    run_ok(r, "-p", "3", NULL, NULL);
    char *why = kv_get(r->out, "peerpidfd.skipped");
    if (why)
        cr_skip_test("peerpidfd skipped: %s", why);
}

Test(unrelated, peercred_pid_is_reused_by_an_impostor, .timeout = TEST_TIMEOUT_S)
{
    struct run_result r;
    run_part3(&r);
    cr_assert_eq(num(r.out, "peerpidfd.race.check.peercred_pid"), 300);
    cr_assert(kv_is(r.out, "peerpidfd.race.check.proc_comm", "victim"), "checked: the victim");
    cr_assert_eq(num(r.out, "peerpidfd.race.victim_reaped"), 1);
    cr_assert_eq(num(r.out, "peerpidfd.race.impostor_pid"), 300, "the same number, reused");
    cr_assert(kv_is(r.out, "peerpidfd.race.act.proc_comm", "impostor"), "/proc/300 is the impostor");
    cr_assert(kv_is(r.out, "peerpidfd.race.act.pidfd_open", "ok"), "pidfd_open(300) opens it");
    cr_assert(kv_is(r.out, "peerpidfd.race.act.kill", "delivered"));
    cr_assert_eq(num(r.out, "peerpidfd.race.impostor.got_sigusr1"), 1, "the impostor got the signal");
    cr_assert(kv_is(r.out, "peerpidfd.race.shown", "1"));
    run_result_free(&r);
}

/* Part 3's server listens on an abstract name, which every run in this network namespace
 * shares: two runs at once (two tests in parallel, two checkouts) must not collide. */
Test(unrelated, two_part3_runs_at_once_both_succeed, .timeout = TEST_TIMEOUT_S)
{
    struct run_result probe;
    run_part3(&probe);
    run_result_free(&probe);
    char lab[4096];
    build_path(lab, sizeof lab, "labs/" LAB "/lab");
    char *argv[] = {"sh", "-c", "\"$0\" -p 3 & a=$!; \"$0\" -p 3; b=$?; wait $a; exit $((b | $?))",
                    lab, NULL};
    struct run_result r;
    cr_assert_eq(run_capture(argv, 120, &r), 0);
    cr_assert_eq(run_exit_code(&r), 0, "stderr: %s", r.err);
    cr_assert_null(strstr(r.err, "EADDRINUSE"), "%s", r.err);
    int shown = 0;
    for (const char *p = r.out; (p = strstr(p, "peerpidfd.fix.shown=1")) != NULL; p++)
        shown++;
    cr_assert_eq(shown, 2, "both runs showed the fix; stdout:\n%s", r.out);
    run_result_free(&r);
}

Test(unrelated, peer_pidfd_refuses_the_impostor, .timeout = TEST_TIMEOUT_S)
{
    struct run_result r;
    run_part3(&r);
    cr_assert_eq(num(r.out, "peerpidfd.race.check.peer_pidfd_pid"), 300, "SO_PEERPIDFD: the victim");
    cr_assert_eq(num(r.out, "peerpidfd.race.check.scm_pidfd_pid"), 300, "SCM_PIDFD: the victim");
    cr_assert(kv_is(r.out, "peerpidfd.fix.so_peerpidfd.send_signal", "ESRCH"));
    cr_assert(kv_is(r.out, "peerpidfd.fix.scm_pidfd.send_signal", "ESRCH"));
    cr_assert_eq(num(r.out, "peerpidfd.fix.so_peerpidfd.pid"), -1, "fdinfo: the process is gone");
    cr_assert_eq(num(r.out, "peerpidfd.fix.scm_pidfd.pid"), -1);
    cr_assert_eq(num(r.out, "peerpidfd.fix.impostor.got_sigusr2"), 0, "no pidfd signal reached it");
    cr_assert(kv_is(r.out, "peerpidfd.fix.shown", "1"));
    run_result_free(&r);
}
