/* test_ops.c — fdhttpd's operator habits over real sockets: precompressed siblings
 * (--gzip-static, lib/precomp.h) seen by curl --compressed and Python's http.client,
 * a Range on the compressed bytes; --cache-control on file responses only; the
 * logrotate habit (mv the access log, SIGUSR1: new lines go to the new file, none is
 * lost, under fdload's load). Every test has the same .timeout (spawn.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "io.h"
#include "kv.h"
#include "labpath.h"
#include "spawn.h"
#include "srvharness.h"
#include "tests/srvtest.h"

#define TMO 120
#define LAB "11-fdhttpd"

static char tmp[64];
static char root[96];
static char logp[96];

/* root/page.txt (~9 KB of text) and root/page.txt.gz (gzip -9 of it), root/a.txt. */
static void setup(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/fdh-ops-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    /* Run as root, the workers drop to nobody (--user): after a rotation they reopen the
     * log by its path, so its directory must be one they can reach, as /var/log is. */
    cr_assert_eq(chmod(tmp, 0755), 0);
    snprintf(root, sizeof root, "%s/root", tmp);
    snprintf(logp, sizeof logp, "%s/access.log", tmp);
    cr_assert_eq(mkdir(root, 0755), 0);
    char p[160];
    snprintf(p, sizeof p, "%s/page.txt", root);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 1500; i++)
        fprintf(f, "line %d\n", i);
    fclose(f);
    snprintf(p, sizeof p, "%s/a.txt", root);
    f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs("0123456789abcdefghij\n", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/page.txt", root);
    struct run_result r = {0};
    char *gz[] = {"gzip", "-k", "-9", p, NULL};
    cr_assert_eq(run_capture(gz, 30, &r), 0);
    cr_assert_eq(run_exit_code(&r), 0, "gzip: %s", r.err);
    run_result_free(&r);
}

static void teardown(void)
{
    rm_tree(tmp);
}

TestSuite(ops, .init = setup, .fini = teardown, .timeout = TMO);

static void start(struct fdh_srv *s, const char *log, int gzip_static)
{
    char *argv[16] = {(char *)bin(), "-l", "127.0.0.1:0", "-w", "2", "--root", root, "--access-log",
                      (char *)log, "--cache-control", "public, max-age=60", NULL};
    if (gzip_static)
        argv[11] = "--gzip-static";
    cr_assert_eq(fdh_srv_start(s, bin(), argv, 30), 0, "start: %s", s->err);
}

static void stop(struct fdh_srv *s, int sig)
{
    stop_with(s, sig, 40);
}

static void run(struct run_result *r, ...)
{
    char *argv[40];
    int n = 0;
    va_list ap;
    va_start(ap, r);
    for (char *a; n < 39 && (a = va_arg(ap, char *)) != NULL;)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    *r = (struct run_result){0};
    cr_assert_eq(run_capture(argv, 60, r), 0, "cannot run %s", argv[0]);
    cr_assert_eq(r->timed_out, 0, "%s timed out", argv[0]);
    cr_assert_eq(run_exit_code(r), 0, "%s:\n%s\n%s", argv[0], r->out, r->err);
}

static char *url(const struct fdh_srv *s, const char *path)
{
    static char buf[2][128];
    static int i;
    i ^= 1;
    snprintf(buf[i], sizeof buf[i], "http://127.0.0.1:%u%s", (unsigned)s->port, path);
    return buf[i];
}

Test(ops, curl_compressed_gets_the_precompressed_body)
{
    struct fdh_srv s;
    start(&s, "off", 1);
    char out[160], hdr[160], page[160];
    snprintf(out, sizeof out, "%s/curl.out", tmp);
    snprintf(hdr, sizeof hdr, "%s/curl.hdr", tmp);
    snprintf(page, sizeof page, "%s/page.txt", root);
    struct run_result r;
    run(&r, "curl", "-sS", "--compressed", "-D", hdr, "-o", out, "-w", "%{http_code} %{size_download}",
        url(&s, "/page.txt"), NULL);
    struct stat gz;
    char gzp[192];
    snprintf(gzp, sizeof gzp, "%s.gz", page);
    cr_assert_eq(stat(gzp, &gz), 0);
    char want[64];
    snprintf(want, sizeof want, "200 %lld", (long long)gz.st_size);
    cr_assert_str_eq(r.out, want, "the compressed bytes went over the wire");
    run_result_free(&r);
    size_t n1, n2;
    char *a = read_file(out, &n1), *b = read_file(page, &n2), *h = read_file(hdr, NULL);
    cr_assert(a && b && h);
    cr_assert(n1 == n2 && memcmp(a, b, n1) == 0, "curl decompressed it to page.txt");
    cr_assert_not_null(strstr(h, "Content-Encoding: gzip\r\n"), "%s", h);
    cr_assert_not_null(strstr(h, "Vary: Accept-Encoding\r\n"), "%s", h);
    cr_assert_not_null(strstr(h, "-gzip\"\r\n"), "the ETag of the .gz: %s", h);
    free(a), free(b), free(h);
    /* Without --compressed: the identity file, and Vary all the same. */
    run(&r, "curl", "-sS", "-D", "-", "-o", "/dev/null", url(&s, "/page.txt"), NULL);
    cr_assert_null(strstr(r.out, "Content-Encoding"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "Vary: Accept-Encoding\r\n"), "%s", r.out);
    run_result_free(&r);
    /* No sibling: the file as it is, even to a gzip client. */
    run(&r, "curl", "-sS", "--compressed", "-D", "-", "-o", "/dev/null", url(&s, "/a.txt"), NULL);
    cr_assert_null(strstr(r.out, "Content-Encoding"), "%s", r.out);
    run_result_free(&r);
    stop(&s, SIGTERM);
}

Test(ops, python_http_client_gzip_range_conditional_identity)
{
    struct fdh_srv s;
    start(&s, "off", 1);
    char port[16];
    snprintf(port, sizeof port, "%u", (unsigned)s.port);
    struct run_result r;
    run(&r, "python3", "labs/" LAB "/tests/gzip_client.py", port, root, NULL);
    cr_assert(kv_is(r.out, "ok", "1"), "%s\n%s", r.out, r.err);
    run_result_free(&r);
    stop(&s, SIGTERM);
}

Test(ops, gzip_static_off_serves_identity_without_vary)
{
    struct fdh_srv s;
    start(&s, "off", 0);
    struct run_result r;
    run(&r, "curl", "-sS", "-H", "Accept-Encoding: gzip", "-D", "-", "-o", "/dev/null", url(&s, "/page.txt"), NULL);
    cr_assert_null(strstr(r.out, "Content-Encoding"), "%s", r.out);
    cr_assert_null(strstr(r.out, "Vary:"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "Cache-Control: public, max-age=60\r\n"), "%s", r.out);
    run_result_free(&r);
    stop(&s, SIGTERM);
}

Test(ops, cache_control_on_file_responses_only)
{
    struct fdh_srv s;
    start(&s, "off", 0);
    char resp[8192];
    cr_assert_gt(fdh_http(s.port, "GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", resp, sizeof resp,
                          10000), 0);
    cr_assert_not_null(strstr(resp, "\r\nCache-Control: public, max-age=60\r\n"), "%s", resp);
    char *etag = strstr(resp, "ETag: ");
    cr_assert_not_null(etag);
    char tag[80], req[256];
    cr_assert_eq(sscanf(etag, "ETag: %79s", tag), 1);
    snprintf(req, sizeof req, "GET /a.txt HTTP/1.1\r\nHost: t\r\nIf-None-Match: %s\r\nConnection: close\r\n\r\n", tag);
    cr_assert_gt(fdh_http(s.port, req, resp, sizeof resp, 10000), 0);
    cr_assert_eq(strncmp(resp, "HTTP/1.1 304", 12), 0, "%s", resp);
    cr_assert_not_null(strstr(resp, "\r\nCache-Control: public, max-age=60\r\n"), "a 304 keeps it: %s", resp);
    cr_assert_gt(fdh_http(s.port, "GET /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", resp, sizeof resp,
                          10000), 0);
    cr_assert_null(strstr(resp, "Cache-Control"), "not on a 404: %s", resp);
    cr_assert_gt(fdh_http(s.port, "GET /status HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", resp, sizeof resp,
                          10000), 0);
    cr_assert_null(strstr(resp, "Cache-Control"), "not on /status: %s", resp);
    stop(&s, SIGTERM);
    struct run_result r = {0};
    cr_assert_eq(run_lab(&r, 30, LAB, "fdhttpd", "-t", "--cache-control", "a\rb", NULL), 0);
    cr_assert_eq(run_exit_code(&r), 1, "a CR in the value is refused");
    run_result_free(&r);
}

static long count_lines(const char *p)
{
    size_t n = 0;
    char *b = read_file(p, &n);
    if (b == NULL)
        return errno == ENOENT ? 0 : -1;
    long lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += b[i] == '\n';
    free(b);
    return lines;
}

/* fdload in the background, its output into file `out`. Its pid. */
static pid_t fdload_bg(const char *port, const char *out)
{
    char path[512];
    build_path(path, sizeof path, "labs/" LAB "/fdload");
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) { /* no cr_* here */
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || dup2(fd, 1) < 0)
            _exit(126);
        execl(path, "fdload", "--kv", "-p", port, "-c", "8", "-t", "2", "-n", "40000", "-k", "--path", "/a.txt",
              (char *)NULL);
        _exit(127);
    }
    return pid;
}

Test(ops, logrotate_move_then_sigusr1_loses_no_line)
{
    struct fdh_srv s;
    start(&s, logp, 0);
    char port[16], rotated[128], loadout[128];
    snprintf(port, sizeof port, "%u", (unsigned)s.port);
    snprintf(rotated, sizeof rotated, "%s.1", logp);
    snprintf(loadout, sizeof loadout, "%s/fdload.out", tmp);
    pid_t load = fdload_bg(port, loadout);
    /* Rotate while the load runs: logrotate's "mv, then signal". */
    for (int i = 0; i < 200 && count_lines(logp) == 0; i++) /* lines are out (1 s timer or 64 KiB) */
        sleep_ms(20);
    cr_assert_eq(rename(logp, rotated), 0);
    cr_assert_eq(kill(s.pid, SIGUSR1), 0);
    cr_assert_eq(reap_bounded(load, 90000), 0, "fdload failed");
    for (int i = 0; i < 200 && !strstr(s.out, "reopen=workers=2"); i++)
        fdh_srv_pump(&s, 20);
    cr_assert_not_null(strstr(s.out, "reopen=workers=2"), "%s", s.out);
    /* Some more after the signal surely arrived: they must be in the new file. */
    char resp[4096];
    for (int i = 0; i < 10; i++)
        cr_assert_gt(fdh_http(s.port, "GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", resp,
                              sizeof resp, 10000), 0);
    stop(&s, SIGTERM); /* the workers write what they buffered */
    char *lo = read_file(loadout, NULL);
    cr_assert_not_null(lo);
    long ok = kv_long_or(lo, "ok", -1);
    free(lo);
    cr_assert_eq(ok, 40000, "fdload: every request answered");
    long old = count_lines(rotated), now = count_lines(logp);
    cr_assert_geq(now, 10, "the new file has the lines after the signal (old %ld, new %ld)", old, now);
    cr_assert_gt(old, 0, "the renamed file has the lines before it");
    cr_assert_eq(old + now, ok + 10, "no line lost or doubled: old %ld + new %ld", old, now);
}
