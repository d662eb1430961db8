/* test_listen.c — fdhttpd on several addresses, IPv4 and IPv6 at once (--listen given
 * twice, lib/listeners.h): every accept strategy serves both over real loopback
 * sockets, /status counts the connections per address, the access log names the
 * address each came in on; the parsing rules of --listen (brackets, wildcards,
 * duplicates, the --config list replacing argv's). Wildcards are parsed, never bound
 * here: the tests stay on loopback. Tests needing an IPv6 loopback skip,
 * saying so, on a machine without one. Every test has the same .timeout (spawn.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "kv.h"
#include "labpath.h"
#include "sock.h"
#include "spawn.h"
#include "srvharness.h"
#include "tests/srvtest.h"

#define TMO 120
#define LAB "11-fdhttpd"
#define N_EACH 6 /* requests per address */

static char tmp[64];
static char logp[96];

static void setup(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/fdh-listen-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    snprintf(logp, sizeof logp, "%s/access.log", tmp);
}

static void teardown(void)
{
    rm_tree(tmp);
}

TestSuite(listen, .init = setup, .fini = teardown, .timeout = TMO);

/* 1 when ::1 can be bound here (a container may have IPv6 off). */
static int have_ipv6_loopback(void)
{
    uint16_t port;
    int fd = tcp_listen("::1", 0, 1, SOCK_CLOEXEC, &port);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

#define NEED_IPV6()                                                                                                  \
    do {                                                                                                             \
        if (!have_ipv6_loopback())                                                                                   \
            cr_skip_test("no IPv6 loopback on this machine (binding [::1]:0 failed): the IPv6 half is not tested");  \
    } while (0)

/* One GET on a fresh connection to ip:port; the status, the whole response in resp. */
static int get(const char *ip, uint16_t port, const char *path, char *resp, size_t cap)
{
    int fd = tcp_connect(ip, port, SOCK_CLOEXEC);
    cr_assert_geq(fd, 0, "connect %s port %u: %s", ip, port, strerror(errno));
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);
    cr_assert_eq(write(fd, req, (size_t)n), n);
    ssize_t got = read_full(fd, resp, cap - 1, 10000); /* until the server closes */
    close(fd);
    cr_assert_gt(got, 0, "no answer from %s port %u", ip, port);
    resp[got] = '\0';
    int status = 0;
    cr_assert_eq(sscanf(resp, "HTTP/1.1 %d", &status), 1, "%s", resp);
    return status;
}

/* The port of listen.N=ADDR sockets=K in the master's output. */
static uint16_t port_of(const struct fdh_srv *s, int n)
{
    char key[24];
    snprintf(key, sizeof key, "listen.%d", n);
    char *v = kv_get(s->out, key);
    cr_assert_not_null(v, "no %s in:\n%s", key, s->out);
    char *sp = strchr(v, ' ');
    if (sp)
        *sp = '\0';
    long p = strtol(strrchr(v, ':') + 1, NULL, 10);
    free(v);
    return (uint16_t)p;
}

static void stop(struct fdh_srv *s)
{
    stop_with(s, SIGTERM, 40);
}

/* Lines of the log ending in " ADDR\n". */
static long lines_ending(const char *log, const char *addr)
{
    char want[96];
    snprintf(want, sizeof want, " %s\n", addr);
    long n = 0;
    for (const char *p = log; (p = strstr(p, want)) != NULL; p += strlen(want))
        n++;
    return n;
}

static void both_families(const char *mode)
{
    NEED_IPV6();
    struct fdh_srv s;
    char *argv[] = {(char *)bin(), "-w", "2", "-a", (char *)mode, "-l", "127.0.0.1:0", "-l", "[::1]:0",
                    "--access-log", logp, NULL};
    cr_assert_eq(fdh_srv_start(&s, bin(), argv, 30), 0, "start: %s", s.err);
    char *l1 = kv_get(s.out, "listen.1");
    cr_assert_not_null(l1);
    long want_sockets = strcmp(mode, "reuseport") == 0 ? 2 : 1; /* one per worker per address */
    char ws[32];
    snprintf(ws, sizeof ws, "sockets=%ld", want_sockets);
    cr_assert_not_null(strstr(l1, ws), "listen.1=%s", l1);
    free(l1);
    uint16_t p4 = port_of(&s, 0), p6 = port_of(&s, 1);
    char resp[8192];
    for (int i = 0; i < N_EACH; i++) {
        cr_assert_eq(get("127.0.0.1", p4, "/", resp, sizeof resp), 200);
        cr_assert_eq(get("::1", p6, "/", resp, sizeof resp), 200);
    }
    cr_assert_eq(get("::1", p6, "/status", resp, sizeof resp), 200);
    char *body = strstr(resp, "\r\n\r\n");
    cr_assert_not_null(body);
    char a0[64], a1[64];
    snprintf(a0, sizeof a0, "127.0.0.1:%u", p4);
    snprintf(a1, sizeof a1, "[::1]:%u", p6);
    cr_assert(kv_is(body, "listen.0", a0), "%s", body);
    cr_assert(kv_is(body, "listen.1", a1), "%s", body);
    cr_assert_eq(kv_long_or(body, "listen.0.accepted", -1), N_EACH, "%s", body);
    cr_assert_eq(kv_long_or(body, "listen.1.accepted", -1), N_EACH + 1, "(+ this /status) %s", body);
    cr_assert(kv_is(body, "this.local", a1), "/status names the address it came in on: %s", body);
    stop(&s);
    char *log = read_file(logp, NULL);
    cr_assert_not_null(log);
    cr_assert_eq(lines_ending(log, a0), N_EACH, "the log names the IPv4 address:\n%s", log);
    cr_assert_eq(lines_ending(log, a1), N_EACH + 1, "the log names the IPv6 address:\n%s", log);
    cr_assert_not_null(strstr(log, "\n::1 - - ["), "the IPv6 peer is logged as ::1, not v4-mapped");
    free(log);
}

Test(listen, ipv4_and_ipv6_at_once_reuseport) { both_families("reuseport"); }
Test(listen, ipv4_and_ipv6_at_once_exclusive) { both_families("exclusive"); }
Test(listen, ipv4_and_ipv6_at_once_mutex) { both_families("mutex"); }
Test(listen, ipv4_and_ipv6_at_once_passfd) { both_families("passfd"); }

static int check_config(const char *a, const char *b, const char *c, struct run_result *r)
{
    cr_assert_eq(run_lab(r, 30, LAB, "fdhttpd", "-t", "-l", a, "-l", b, c ? "-l" : NULL, c, NULL), 0);
    return run_exit_code(r);
}

Test(listen, listen_syntax_brackets_wildcards_duplicates)
{
    struct run_result r = {0};
    cr_assert_eq(check_config("[::1]:8080", "127.0.0.1:8080", "*:0", &r), 0, "%s", r.err);
    cr_assert_not_null(strstr(r.out, "listen=[::1]:8080,127.0.0.1:8080,0.0.0.0:0"), "%s", r.out);
    run_result_free(&r);
    memset(&r, 0, sizeof r);
    cr_assert_eq(check_config("::1:8080", "127.0.0.1:1", NULL, &r), 1, "a bare IPv6 address is refused");
    cr_assert_not_null(strstr(r.err, "[IPv6]:PORT"), "%s", r.err);
    run_result_free(&r);
    memset(&r, 0, sizeof r);
    cr_assert_eq(check_config("127.0.0.1:80", "127.0.0.1:80", NULL, &r), 1, "the same address twice");
    cr_assert_not_null(strstr(r.err, "given twice"), "%s", r.err);
    run_result_free(&r);
    memset(&r, 0, sizeof r);
    cr_assert_eq(check_config("localhost:80", "127.0.0.1:1", NULL, &r), 1, "a host name is no address to bind");
    run_result_free(&r);
}

Test(listen, config_file_list_replaces_the_command_line)
{
    char cf[128];
    snprintf(cf, sizeof cf, "%s/fdhttpd.conf", tmp);
    FILE *f = fopen(cf, "w");
    cr_assert_not_null(f);
    fprintf(f, "listen 127.0.0.2:81\nlisten=[::1]:82\n");
    fclose(f);
    struct run_result r = {0};
    cr_assert_eq(run_lab(&r, 30, LAB, "fdhttpd", "-t", "-l", "127.0.0.1:80", "--config", cf, NULL), 0);
    cr_assert_eq(run_exit_code(&r), 0, "%s", r.err);
    cr_assert_not_null(strstr(r.out, "listen=127.0.0.2:81,[::1]:82 "), "%s", r.out);
    run_result_free(&r);
}

Test(listen, at_most_eight_addresses)
{
    struct run_result r = {0};
    cr_assert_eq(run_lab(&r, 30, LAB, "fdhttpd", "-t", "-l", "127.0.0.1:1", "-l", "127.0.0.1:2", "-l", "127.0.0.1:3",
                         "-l", "127.0.0.1:4", "-l", "127.0.0.1:5", "-l", "127.0.0.1:6", "-l", "127.0.0.1:7", "-l",
                         "127.0.0.1:8", "-l", "127.0.0.1:9", NULL),
                 0);
    cr_assert_eq(run_exit_code(&r), 1);
    cr_assert_not_null(strstr(r.err, "at most 8"), "%s", r.err);
    run_result_free(&r);
}
