/* test_fdhttpd.c — lab 11's process model: accept strategies, respawn, signals, fds,
 * back-off, option checking. Most tests run the lab driver for one scenario and
 * assert on its key=value lines; the option and HTTP tests run fdhttpd itself.
 * Every test has the same .timeout: Criterion 2.4's runner drops the pending timeouts
 * that sort after a shorter new one (labs/01-naive/test_naive.c says how). */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "kv.h"
#include "labpath.h"
#include "srvharness.h"
#include "tests/srvtest.h"
#include "sock.h"
#include "spawn.h"

#define LAB "11-fdhttpd"

static long val(const struct run_result *r, const char *key)
{
    long v;
    cr_assert_eq(kv_long(r->out, key, &v), 0, "missing %s in:\n%s\nstderr:\n%s", key, r->out, r->err);
    return v;
}

static void clean_run(const struct run_result *r)
{
    cr_assert_eq(r->timed_out, 0, "timed out:\n%s\n%s", r->out, r->err);
    cr_assert_eq(r->leftovers, 0, "processes left behind");
    cr_assert_eq(run_exit_code(r), 0, "lab failed:\n%s\nstderr:\n%s", r->out, r->err);
    cr_assert(kv_is(r->out, "shown", "1"));
}

static void split(const char *mode)
{
    struct run_result r = {0};
    cr_assert_eq(run_lab(&r, 100, LAB, "lab", "-s", "split", "-a", mode, "-w", "3", "-n", "1000", NULL), 0);
    clean_run(&r);
    char k[64];
    snprintf(k, sizeof k, "%s.ok", mode);
    cr_assert_eq(val(&r, k), 1000);
    snprintf(k, sizeof k, "%s.errors", mode);
    cr_assert_eq(val(&r, k), 0);
    snprintf(k, sizeof k, "%s.status_workers", mode);
    cr_assert_eq(val(&r, k), 3, "every worker is listed in /status");
    snprintf(k, sizeof k, "%s.status_requests", mode);
    cr_assert_geq(val(&r, k), 1000, "/status sums the slots");
    snprintf(k, sizeof k, "split.%s.exit", mode);
    cr_assert_eq(val(&r, k), 0);
    snprintf(k, sizeof k, "split.%s.leftovers", mode);
    cr_assert_eq(val(&r, k), 0);
    run_result_free(&r);
}

Test(fdhttpd, reuseport_serves_all_with_every_worker_listed, .timeout = 120) { split("reuseport"); }
Test(fdhttpd, exclusive_serves_all_with_every_worker_listed, .timeout = 120) { split("exclusive"); }
Test(fdhttpd, mutex_serves_all_with_every_worker_listed, .timeout = 120) { split("mutex"); }
Test(fdhttpd, passfd_serves_all_with_every_worker_listed, .timeout = 120) { split("passfd"); }

static void kill_worker(const char *mode)
{
    struct run_result r = {0};
    cr_assert_eq(run_lab(&r, 100, LAB, "lab", "-s", "kill", "-a", mode, "-w", "3", "-c", "16", NULL), 0);
    clean_run(&r);
    char k[64];
    snprintf(k, sizeof k, "kill.%s.respawned", mode);
    cr_assert_eq(val(&r, k), 1);
    snprintf(k, sizeof k, "kill.%s.old_pid", mode);
    long old = val(&r, k);
    snprintf(k, sizeof k, "kill.%s.new_pid", mode);
    cr_assert_neq(val(&r, k), old, "a new pid in the same slot");
    snprintf(k, sizeof k, "kill.%s.during_load", mode);
    cr_assert_eq(val(&r, k), 1, "the worker died under load");
    snprintf(k, sizeof k, "kill.%s.ok", mode);
    cr_assert_gt(val(&r, k), 0);
    /* Only what the dead worker held can fail: at most one request per connection.
     * passfd adds one window: until the kernel has closed the dead worker's end of its
     * channel, the master's send of CHANNEL_NEW_CONN still succeeds, and a connection
     * queued there dies unread — the client's next connection can meet the same slot
     * once more before the master sees EPIPE or the end of file (seen under ASan, whose
     * process teardown is slow: 19 errors for 16 connections). Bounded at two per
     * connection. */
    snprintf(k, sizeof k, "kill.%s.errors", mode);
    cr_assert_leq(val(&r, k), strcmp(mode, "passfd") == 0 ? 32 : 16);
    snprintf(k, sizeof k, "kill.%s.logged", mode);
    cr_assert_eq(val(&r, k), 1, "the master logs the death");
    snprintf(k, sizeof k, "kill.%s.respawn_delay_ms", mode);
    cr_assert_eq(val(&r, k), 0, "a worker older than the crash window is respawned at once");
    run_result_free(&r);
}

Test(fdhttpd, reuseport_kill9_respawns_and_loses_only_held, .timeout = 120) { kill_worker("reuseport"); }
Test(fdhttpd, exclusive_kill9_respawns_and_loses_only_held, .timeout = 120) { kill_worker("exclusive"); }
Test(fdhttpd, mutex_kill9_respawns_and_loses_only_held, .timeout = 120) { kill_worker("mutex"); }
Test(fdhttpd, passfd_kill9_respawns_and_loses_only_held, .timeout = 120) { kill_worker("passfd"); }

Test(fdhttpd, sigterm_stops_everything_and_leaves_nothing, .timeout = 120)
{
    struct run_result r = {0};
    cr_assert_eq(run_lab(&r, 100, LAB, "lab", "-s", "term", NULL), 0);
    clean_run(&r);
    cr_assert_eq(val(&r, "term.exit"), 0);
    cr_assert_eq(val(&r, "term.leftovers"), 0);
    cr_assert_eq(val(&r, "term.connections_closed"), 1);
    cr_assert_eq(val(&r, "term_stubborn.sigkilled"), 1, "the straggler was SIGKILLed");
    cr_assert_eq(val(&r, "term_stubborn.exit"), 0);
    cr_assert_eq(val(&r, "term_stubborn.leftovers"), 0);
    run_result_free(&r);
}

Test(fdhttpd, sigquit_finishes_the_request_in_flight, .timeout = 120)
{
    struct run_result r = {0};
    cr_assert_eq(run_lab(&r, 100, LAB, "lab", "-s", "quit", NULL), 0);
    clean_run(&r);
    cr_assert_eq(val(&r, "quit.accepted_before"), 1);
    cr_assert_eq(val(&r, "quit.new_refused"), 1, "the drain stops accepting");
    cr_assert_eq(val(&r, "quit.inflight_answered"), 1, "the half-sent request is answered");
    cr_assert_eq(val(&r, "quit.inflight_connection_close"), 1);
    cr_assert_eq(val(&r, "quit.exit"), 0);
    cr_assert_eq(val(&r, "quit.leftovers"), 0);
    run_result_free(&r);
}

static void fds_flat(const char *mode)
{
    struct run_result r = {0};
    cr_assert_eq(run_lab(&r, 100, LAB, "lab", "-s", "fds", "-a", mode, "-w", "2", "-n", "1000", NULL), 0);
    clean_run(&r);
    char k[64], k2[64];
    snprintf(k, sizeof k, "fds.%s.requests", mode);
    cr_assert_eq(val(&r, k), 2000);
    snprintf(k, sizeof k, "fds.%s.master_before", mode);
    snprintf(k2, sizeof k2, "fds.%s.master_after", mode);
    cr_assert_eq(val(&r, k), val(&r, k2), "master's fd count is flat");
    snprintf(k, sizeof k, "fds.%s.workers_before", mode);
    snprintf(k2, sizeof k2, "fds.%s.workers_after", mode);
    cr_assert_eq(val(&r, k), val(&r, k2), "workers' fd counts are flat");
    run_result_free(&r);
}

Test(fdhttpd, fd_counts_flat_reuseport, .timeout = 120) { fds_flat("reuseport"); }
Test(fdhttpd, fd_counts_flat_passfd, .timeout = 120) { fds_flat("passfd"); }

Test(fdhttpd, crashing_worker_backs_off_exponentially, .timeout = 120)
{
    struct run_result r = {0};
    cr_assert_eq(run_lab(&r, 100, LAB, "lab", "-s", "backoff", NULL), 0);
    clean_run(&r);
    cr_assert_eq(val(&r, "backoff.doubling"), 1, "%s", r.out);
    char *d = kv_get(r.out, "backoff.delays_ms");
    cr_assert(d && strncmp(d, "100,200,400,800", 15) == 0, "%s", r.out);
    free(d);
    run_result_free(&r);
}

/* ---------------------------------------------------------------- fdhttpd itself */

static int check(const char *a1, const char *a2, struct run_result *r)
{
    char *argv[] = {(char *)bin(), "-t", (char *)a1, (char *)a2, NULL};
    cr_assert_eq(run_capture(argv, 30, r), 0);
    cr_assert_eq(r->leftovers, 0);
    return run_exit_code(r);
}

Test(fdhttpd, dash_t_rejects_bad_options_with_a_reason, .timeout = 120)
{
    const char *bad[][2] = {{"-w", "0"},          {"-w", "65"},        {"--accept", "bogus"},
                            {"--listen", "nope"}, {"--listen", "127.0.0.1:70000"},
                            {"--root", "/nonexistent/fdlab"}, {"--root", "/dev/null"},
                            {"--bogus", NULL},    {"--crash-slot", "9"}, {"--stubborn-slot", "x"},
                            {"--max-body", "-1"}, {"--max-header-bytes", "100"}, {"--max-headers", "0"},
                            {"--max-conns", "0"}, {"--header-timeout", "0"}, {"--keepalive-timeout", "x"},
                            {"--io-timeout", "-2"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct run_result r = {0};
        cr_assert_eq(check(bad[i][0], bad[i][1], &r), 1, "%s %s accepted", bad[i][0], bad[i][1] ?: "");
        cr_assert(strstr(r.err, "fdhttpd: ") != NULL && strlen(r.err) > 12, "a reason: %s", r.err);
        run_result_free(&r);
    }
    struct run_result r = {0};
    cr_assert_eq(check("--accept=passfd", "--root=/tmp", &r), 0, "%s", r.err);
    cr_assert(strstr(r.out, "configuration ok") != NULL);
    run_result_free(&r);
    /* Without --root the bundled site is found (the tests run from the repo root). */
    cr_assert_eq(check("-w", "1", &r), 0, "%s", r.err);
    cr_assert(strstr(r.out, "labs/11-fdhttpd/site") != NULL, "%s", r.out);
    run_result_free(&r);
}

Test(fdhttpd, help_documents_every_flag, .timeout = 120)
{
    char *argv[] = {(char *)bin(), "--help", NULL};
    struct run_result r = {0};
    cr_assert_eq(run_capture(argv, 30, &r), 0);
    cr_assert_eq(run_exit_code(&r), 0);
    const char *want[] = {"--listen", "--workers", "--accept", "--root", "--test-config", "--crash-slot",
                          "--max-body", "--max-header-bytes", "--max-headers", "--max-conns", "--header-timeout",
                          "--keepalive-timeout", "--io-timeout",
                          "--stubborn-slot", "--help", "reuseport", "exclusive", "mutex", "passfd", "SIGQUIT", "SIGTERM"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert(strstr(r.out, want[i]) != NULL, "--help lacks %s", want[i]);
    run_result_free(&r);
}

Test(fdhttpd, answers_status_head_errors_and_keeps_alive, .timeout = 120)
{
    struct fdh_srv s;
    char *argv[] = {(char *)bin(), "-l", "127.0.0.1:0", "-w", "2", NULL};
    cr_assert_eq(fdh_srv_start(&s, bin(), argv, 30), 0, "%s", s.err);
    char resp[32768];
    cr_assert_gt(fdh_http(s.port, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", resp, sizeof resp, 5000), 0);
    cr_assert(strncmp(resp, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", resp);
    cr_assert(strstr(resp, "\r\nX-Worker: ") != NULL);
    cr_assert(strstr(resp, "\r\n\r\n<!DOCTYPE html>") != NULL, "/ is the bundled site's index.html: %s", resp);
    cr_assert_gt(fdh_http(s.port, "HEAD / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", resp, sizeof resp, 5000), 0);
    cr_assert(strstr(resp, "Content-Length: ") != NULL && strstr(resp, "\r\n\r\n")[4] == '\0',
              "HEAD: no body: %s", resp);
    cr_assert_gt(fdh_http(s.port, "GARBAGE\r\n\r\n", resp, sizeof resp, 5000), 0);
    cr_assert(strncmp(resp, "HTTP/1.1 400 ", 13) == 0, "%s", resp);
    cr_assert(strstr(resp, "Connection: close") != NULL);
    cr_assert_gt(fdh_http(s.port, "DELETE / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", resp, sizeof resp, 5000), 0);
    cr_assert(strncmp(resp, "HTTP/1.1 405 ", 13) == 0, "%s", resp);
    /* Two pipelined requests on one kept-alive connection, the second closing it. */
    cr_assert_gt(fdh_http(s.port,
                          "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /status HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                          resp, sizeof resp, 5000), 0);
    char *second = strstr(resp + 1, "HTTP/1.1 200 OK");
    cr_assert(strncmp(resp, "HTTP/1.1 200 OK", 15) == 0 && second != NULL, "%s", resp);
    char *close1 = strstr(resp, "Connection: close");
    cr_assert(close1 == NULL || close1 > second, "the first stays open");
    cr_assert(strstr(second, "worker.1.pid=") != NULL, "the second is /status: %s", second);
    /* A client that half-closes after its request still gets the answer. */
    int fd = tcp_connect("127.0.0.1", s.port, SOCK_CLOEXEC);
    cr_assert_geq(fd, 0);
    const char *req = "GET /status HTTP/1.1\r\nHost: a\r\n\r\n";
    cr_assert_eq(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
    cr_assert_eq(shutdown(fd, SHUT_WR), 0);
    struct timeval tv = {10, 0};
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0, "%s", strerror(errno));
    size_t got = 0;
    ssize_t n;
    while (got < sizeof resp - 1 && (n = read(fd, resp + got, sizeof resp - 1 - got)) > 0)
        got += (size_t)n;
    resp[got] = '\0';
    close(fd);
    /* (Connection: close or keep-alive, depending on whether the worker saw the end
     * of file before answering; either way the answer is complete and then EOF.) */
    cr_assert(strncmp(resp, "HTTP/1.1 200 OK", 15) == 0 && strstr(resp, "total.requests="), "%s", resp);
    kill(s.pid, SIGTERM);
    cr_assert_eq(fdh_srv_wait(&s, 30), 0);
    cr_assert_eq(fdh_srv_leftovers(&s), 0);
    cr_assert(kv_is(s.out, "stopped", "1"));
    fdh_srv_free(&s);
}

/* A --config file mixes options with and without values in any order: an option
 * without a value ("no-handover") must not take the next option's place. */
Test(fdhttpd, config_file_mixes_flags_and_valued_options, .timeout = 120)
{
    char path[] = "/tmp/fdhttpd-conf-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    const char text[] = "no-handover\nworkers 2\n--accept=passfd\nno-handover\nroot /tmp\n";
    cr_assert_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    struct run_result r = {0};
    int rc = check("--config", path, &r);
    unlink(path);
    cr_assert_eq(rc, 0, "config rejected: %s", r.err);
    cr_assert(strstr(r.out, "configuration ok") != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "workers=2") != NULL || strstr(r.out, "2 workers") != NULL, "%s", r.out);
    run_result_free(&r);
}
