/* migrate — what happens to the connections queued in a SO_REUSEPORT listener when it
 * closes, without and with net.ipv4.tcp_migrate_req (Linux 5.14), counted at the
 * client and in the kernel's TcpExt counters.
 *
 *   migrate [-n CONNS]          (default 20, at most 100)
 *
 * The program moves into a network namespace of its own (unshare(CLONE_NEWNET), then
 * brings lo up), so the sysctl it sets and the counters it reads are that
 * namespace's: the host is never changed. Each trial, for sysctl = 0 then 1:
 *
 *   queued     listener A (SO_REUSEPORT, alone in its group) gets CONNS connections
 *              whose handshakes complete into its accept queue; nobody accepts. Then
 *              listener B joins the group, A closes, each client sends one byte and
 *              waits for B's answer.
 *   handshake  the same with TCP_DEFER_ACCEPT on A: the server side of each
 *              connection stays a request socket (SYN_RECV, the bare ACK dropped)
 *              until data arrives, which is after A has closed.
 *
 * Per trial: served (the client read B's answer), reset (ECONNRESET), other (EOF,
 * timeout), and every Tcp and TcpExt counter that changed (/proc/net/snmp and
 * /proc/net/netstat, named as nstat(8) names them).
 * Without CAP_SYS_ADMIN (no namespace) or without the sysctl (kernel < 5.14) it prints
 * skipped=yes and reason=... for what it could not run, and exits 0; exits 1 when a
 * trial that ran did not show the claim (claim.* lines), 2 for bad options.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "kv.h"
#include "lib/netns.h"
#include "sock.h"

#define MAX_CONNS 100
#define MAX_COUNTERS 256
#define SYSCTL NETNS_MIGRATE_SYSCTL

struct counters {
    int n;
    char name[MAX_COUNTERS][48];
    long long v[MAX_COUNTERS];
};

struct outcome {
    int conns, queued; /* queued: A's accept-queue length before it closed */
    int served, reset, other;
    long long migrated, out_rsts; /* TcpExtTCPMigrateReqSuccess, TcpOutRsts deltas */
};

/* Appends the `group` pair of lines of `path` (names, then values) to c, each name
 * prefixed with the group as nstat(8) writes it ("TcpExt" "ListenDrops"). */
static int read_group(struct counters *c, const char *path, const char *group)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char names[8192], values[8192];
    size_t gl = strlen(group);
    int found = 0;
    while (!found && fgets(names, sizeof names, f)) {
        if (strncmp(names, group, gl) != 0 || names[gl] != ':')
            continue;
        if (!fgets(values, sizeof values, f))
            break;
        found = 1;
        char *sn, *sv;
        char *a = strtok_r(names + gl + 1, " \n", &sn), *b = strtok_r(values + gl + 1, " \n", &sv);
        for (; a && b && c->n < MAX_COUNTERS; a = strtok_r(NULL, " \n", &sn), b = strtok_r(NULL, " \n", &sv)) {
            snprintf(c->name[c->n], sizeof c->name[0], "%s%s", group, a);
            c->v[c->n++] = atoll(b);
        }
    }
    fclose(f);
    if (!found) {
        errno = ENOENT;
        return -1;
    }
    return 0;
}

/* The counters of this namespace that matter here: Tcp (/proc/net/snmp: EstabResets,
 * OutRsts, ...) and TcpExt (/proc/net/netstat: ListenDrops, TCPMigrateReq*, ...). */
static int read_tcpext(struct counters *c)
{
    c->n = 0;
    if (read_group(c, "/proc/net/snmp", "Tcp") < 0)
        return -1;
    return read_group(c, "/proc/net/netstat", "TcpExt");
}

/* Prints every counter that changed as "<pre>nstat.<Name>=<delta>". */
static void print_deltas(const char *pre, const struct counters *a, const struct counters *b)
{
    for (int i = 0; i < a->n && i < b->n; i++) {
        long long d = b->v[i] - a->v[i];
        if (d != 0 && strcmp(a->name[i], "TcpCurrEstab") != 0) /* a gauge, not events */
            printf("%snstat.%s=%lld\n", pre, a->name[i], d);
    }
}

/* The change of counter `name` from a to b; 0 when it does not exist. */
static long long delta(const struct counters *a, const struct counters *b, const char *name)
{
    for (int i = 0; i < a->n && i < b->n; i++)
        if (strcmp(a->name[i], name) == 0)
            return b->v[i] - a->v[i];
    return 0;
}

/* For a listener, tcpi_unacked is its accept-queue length (tcp_get_info). */
static int accept_queue_len(int lfd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    if (getsockopt(lfd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
        return -1;
    return (int)ti.tcpi_unacked;
}

/* B's side: accept what arrives for up to `ms`, answer each one byte with "ok". */
static int serve_from(int lfd, int want, int ms)
{
    int done = 0;
    double end = mono_s() + ms / 1000.0;
    while (done < want && mono_s() < end) {
        struct pollfd p = {lfd, POLLIN, 0};
        int r = poll(&p, 1, 50);
        if (r < 0 && errno != EINTR)
            return -1;
        if (r <= 0)
            continue;
        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue; /* EAGAIN, ECONNABORTED: nothing to serve */
        char b;
        struct pollfd q = {c, POLLIN, 0};
        if (poll(&q, 1, 1000) == 1 && read(c, &b, 1) == 1 && send(c, "ok", 2, MSG_NOSIGNAL) == 2)
            done++;
        close(c);
    }
    return done;
}

/* One client's end: sends a byte, then reads. 1 served, 2 reset, 0 anything else. */
static int client_fate(int fd)
{
    if (send(fd, "x", 1, MSG_NOSIGNAL) != 1)
        return errno == ECONNRESET || errno == EPIPE ? 2 : 0;
    return 0;
}

static int client_read(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, ms) != 1)
        return 0;
    char buf[4];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n == 2 && memcmp(buf, "ok", 2) == 0)
        return 1;
    return n < 0 && errno == ECONNRESET ? 2 : 0;
}

static int trial(const char *pre, int conns, int defer, struct outcome *o)
{
    memset(o, 0, sizeof *o);
    o->conns = conns;
    struct counters before, after;
    if (read_tcpext(&before) < 0)
        die("read /proc/net/netstat");
    uint16_t port = 0;
    int a = tcp_listen("127.0.0.1", 0, MAX_CONNS, SOCK_CLOEXEC | SOCK_NONBLOCK | SOCK_REUSEPORT, &port);
    if (a < 0)
        die("listen A");
    int secs = 5;
    if (defer && setsockopt(a, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof secs) < 0)
        die("TCP_DEFER_ACCEPT");
    int cl[MAX_CONNS];
    for (int i = 0; i < conns; i++)
        if ((cl[i] = tcp_connect("127.0.0.1", port, SOCK_CLOEXEC)) < 0)
            die("connect %d", i);
    /* Loopback completes each handshake before connect() returns; the queue is full
     * now (or, with defer, empty: the sockets are still request sockets). */
    o->queued = accept_queue_len(a);
    int b = tcp_listen("127.0.0.1", port, MAX_CONNS, SOCK_CLOEXEC | SOCK_NONBLOCK | SOCK_REUSEPORT, NULL);
    if (b < 0)
        die("listen B on the same port");
    close(a); /* inet_csk_listen_stop(): migrate each queued child, or reset it */
    int fate[MAX_CONNS];
    for (int i = 0; i < conns; i++)
        fate[i] = client_fate(cl[i]) == 2 ? 2 : -1;
    serve_from(b, conns, 1500);
    for (int i = 0; i < conns; i++) {
        if (fate[i] < 0)
            fate[i] = client_read(cl[i], 500);
        o->served += fate[i] == 1;
        o->reset += fate[i] == 2;
        o->other += fate[i] == 0;
        close(cl[i]);
    }
    close(b);
    if (read_tcpext(&after) < 0)
        die("read /proc/net/netstat");
    char k[64];
    snprintf(k, sizeof k, "%sconnections", pre);
    kv_print(k, "%d", conns);
    snprintf(k, sizeof k, "%sin_accept_queue", pre);
    kv_print(k, "%d", o->queued);
    snprintf(k, sizeof k, "%sserved", pre);
    kv_print(k, "%d", o->served);
    snprintf(k, sizeof k, "%sreset", pre);
    kv_print(k, "%d", o->reset);
    snprintf(k, sizeof k, "%sother", pre);
    kv_print(k, "%d", o->other);
    print_deltas(pre, &before, &after);
    o->migrated = delta(&before, &after, "TcpExtTCPMigrateReqSuccess");
    o->out_rsts = delta(&before, &after, "TcpOutRsts");
    return 0;
}

static const char *yes_no(int b) { return b ? "yes" : "no"; }

int main(int argc, char **argv)
{
    int conns = 20, c;
    while ((c = getopt(argc, argv, "n:")) != -1) {
        if (c != 'n' || (conns = atoi(optarg)) < 1 || conns > MAX_CONNS) {
            fprintf(stderr, "usage: migrate [-n CONNS (1..%d)]\n", MAX_CONNS);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "usage: migrate [-n CONNS (1..%d)]\n", MAX_CONNS);
        return 2;
    }
    if (netns_enter() < 0) {
        if (errno != EPERM)
            die("a network namespace of our own, lo up");
        kv_print("skipped", "yes");
        kv_print("reason", "unshare(CLONE_NEWNET): %s: a network namespace of our own needs CAP_SYS_ADMIN",
                 errno_name(EPERM));
        return 0;
    }
    kv_print("netns", "own");
    int pass = 1;
    struct outcome q0, h0, q1, h1;
    if (access(SYSCTL, F_OK) == 0 && netns_migrate_sysctl(0) < 0)
        die("write 0 to %s", SYSCTL);
    puts("# tcp_migrate_req=0: the closing listener's queue is reset");
    trial("off.queued.", conns, 0, &q0);
    trial("off.handshake.", conns, 1, &h0);
    /* Every client saw ECONNRESET, and the kernel counted the resets it sent. */
    int c1 = q0.queued == conns && q0.reset == conns && q0.served == 0 && q0.out_rsts >= conns;
    int c2 = h0.reset == conns && h0.served == 0 && h0.out_rsts >= conns;
    kv_print("claim.queued_reset_without_migration", "%s", yes_no(c1));
    kv_print("claim.handshake_reset_without_migration", "%s", yes_no(c2));
    pass = c1 && c2;
    if (access(SYSCTL, F_OK) < 0) {
        kv_print("on.skipped", "yes");
        kv_print("on.reason", "%s: %s (the sysctl is Linux 5.14+)", SYSCTL, errno_name(errno));
    } else {
        if (netns_migrate_sysctl(1) < 0)
            die("write 1 to %s", SYSCTL);
        puts("# tcp_migrate_req=1: the queue moves to the surviving listener");
        trial("on.queued.", conns, 0, &q1);
        trial("on.handshake.", conns, 1, &h1);
        int c3 = q1.queued == conns && q1.served == conns && q1.reset == 0 && q1.out_rsts == 0 &&
                 q1.migrated >= conns;
        int c4 = h1.served == conns && h1.reset == 0 && h1.out_rsts == 0 && h1.migrated >= conns;
        kv_print("claim.queued_migrated", "%s", yes_no(c3));
        kv_print("claim.handshake_migrated", "%s", yes_no(c4));
        pass = pass && c3 && c4;
    }
    kv_print("result", "%s", pass ? "ok" : "failed");
    return pass ? 0 : 1;
}
