/* lab 12 — fdhttpd changes itself under load: reload (SIGHUP), binary upgrade
 * (SIGUSR2), rollback, crash loops, systemd activation and notification.
 *
 *   lab [-s all|reload|invalid|upgrade|rollback|fds|nofile|stubborn|crashloop|systemd|load|migrate|multi]
 *       [-a MODE]
 *       [-r RELOADS] [-u UPGRADES]
 *
 * reload     a changed --config (another root, a smaller header limit) is served after
 *            SIGHUP; the workers are new, the listening sockets the same (inodes), the
 *            master's descriptors flat; an idle kept-alive connection of the old
 *            generation gets FIN (EOF), not RST; a SIGHUP during a reload is queued.
 * invalid    an invalid config, or one that would need other listening sockets:
 *            reload=failed reason=..., the old workers (same pids) go on serving.
 * upgrade    SIGUSR2: a new master takes the listening sockets and the statistics,
 *            the old one exits 0; twice in a row; same sockets throughout.
 * rollback   the binary on disk replaced by a script that exits 1, then a config the
 *            handed-over sockets do not match: upgrade=failed reason=..., the old
 *            master serves on; then a good upgrade still works.
 * fds        20 reloads, 5 upgrades, 3 rollbacks (exit 1, mismatch, a new master that
 *            never connects): every master keeps the descriptor count and the children
 *            (its workers, no zombie) it started with.
 * nofile     the master's RLIMIT_NOFILE lowered to what it holds: a SIGHUP and a
 *            SIGUSR2 fail with the reason, the master serves on; limit restored, a
 *            reload works.
 * stubborn   an old worker that ignores QUIT is SIGKILLed at --drain-timeout; the
 *            reload completes and /status's active count is still right.
 * crashloop  a worker that dies right after start: crashloop lines and /status.
 * systemd    sdactivate passes the listener(s) like systemd; a datagram socket in
 *            NOTIFY_SOCKET receives READY=1, RELOADING=1, READY=1, STOPPING=1.
 * load       fdload (kept-alive, Connection: close, and 4-deep pipelined clients)
 *            runs while the master does -r reloads and -u upgrades: failed requests
 *            are counted.
 * multi      two addresses, 127.0.0.1 and ::1 (127.0.0.2 without IPv6): sdactivate
 *            passes two named sockets (web4, web6), the master serves both and an
 *            upgrade hands both on with their names; then the load scenario with
 *            clients on both addresses: zero failed requests, /status counts both.
 *            Under reuseport also 8 addresses x 32 workers: 256 listeners, more than
 *            one SCM_RIGHTS message carries, handed over in two.
 * migrate    two listeners in one reuseport group, one closed with connections in its
 *            queue: all reset, then all served by the other with tcp_migrate_req=1
 *            (the program migrate, in a network namespace of its own; skipped with the
 *            reason without CAP_SYS_ADMIN).
 * Prints key=value lines; exits 0 only when every scenario showed what it claims.
 * The lab is a child subreaper (prctl): a new master, orphaned when the old one
 * exits, becomes OUR child, so it can be waited for and nothing is left behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "fdcount.h"
#include "fdsnap.h"
#include "kv.h"
#include "labpath.h"
#include "lib/rl.h"
#include "sock.h"
#include "spawn.h"

#define WAIT_S 30 /* bound of every wait for a line of the server */

struct ctx {
    char dir[PATH_MAX - 64]; /* the build's labs/ directory */
    char bin[PATH_MAX];    /* fdhttpd */
    char fdload[PATH_MAX];
    char sdact[PATH_MAX];
    char tmp[64];          /* scratch directory (/tmp/fdlab-12-XXXXXX), removed at the end */
    const char *mode;      /* accept strategy */
    int reloads, upgrades;
};

static void put_file(const char *path, const char *text, int mode)
{
    /* Written beside, then renamed over: a reader (or an exec) never sees half a file. */
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) < 0)
        die("write %s", tmp);
    if (rename(tmp, path) < 0)
        die("rename %s", path);
}

static void copy_file(const char *from, const char *to, int mode)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.new", to);
    int in = open(from, O_RDONLY | O_CLOEXEC), out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (in < 0 || out < 0)
        die("copy %s", from);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            die("write %s", tmp);
    if (n < 0 || close(in) < 0 || close(out) < 0 || rename(tmp, to) < 0)
        die("copy %s -> %s", from, to);
}

/* A signal the scenario depends on: failing to send it is a bug of the lab. */
static void sig(pid_t pid, int signo)
{
    if (pid <= 0 || kill(pid, signo) < 0)
        die("kill(%d, %s)", (int)pid, strsignal(signo));
}

static void mkdir_p(const char *dir)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        die("mkdir %s", dir);
}

static void path_in(const struct ctx *x, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", x->tmp, name);
}

static int start(struct ctx *x, struct fdh_srv *s, const char *bin, char **argv)
{
    if (fdh_srv_start(s, bin, argv, WAIT_S) < 0) {
        warn_errno("start %s (stderr: %s)", bin, s->err ? s->err : "");
        return -1;
    }
    (void)x;
    return 0;
}

/* SIGTERM to the current master; waits for it (and for the first master, when that
 * is another process); prints <p>.exit and <p>.leftovers; 1 when both are 0. */
static int stop(struct fdh_srv *s, const char *p)
{
    pid_t m = rl_master(s);
    if (m > 0 && kill(m, SIGTERM) < 0) /* (gone already: the wait below says how) */
        warn_errno("kill(%d, SIGTERM)", (int)m);
    int code = m > 0 ? rl_reap_wait(s, m, WAIT_S) : -1;
    if (code != 0) /* show why: the server's log */
        fprintf(stderr, "lab: %s: master %d exit %d; server stderr:\n%s\nstdout:\n%s\n", p, (int)m, code, s->err, s->out);
    if (s->pid > 0 && s->pid != m)
        rl_reap_wait(s, s->pid, WAIT_S);
    for (int i = 0; i < 50 && !fdh_srv_pump(s, 20); i++)
        ;
    rl_reap_all();
    int left = fdh_srv_leftovers(s);
    rl_reap_all();
    char k[64];
    snprintf(k, sizeof k, "%s.exit", p);
    kv_print(k, "%d", code);
    snprintf(k, sizeof k, "%s.leftovers", p);
    kv_print(k, "%d", left);
    return code == 0 && left == 0;
}

static long status(uint16_t port, const char *key)
{
    return rl_status_long(port, key);
}

/* "pid,pid,..." of the workers listed in /status. */
static void worker_pids(uint16_t port, int n, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        char k[32];
        snprintf(k, sizeof k, "worker.%d.pid", i);
        len += (size_t)snprintf(buf + len, cap - len, "%s%ld", i ? "," : "", status(port, k));
    }
}

/* A reason of the last "<key>=failed reason=..." line, for the output. */
static void echo_reason(const struct fdh_srv *s, const char *key, const char *p)
{
    char *v = kv_get(s->out, key);
    char k[64];
    snprintf(k, sizeof k, "%s.reason", p);
    kv_print(k, "%s", v && strncmp(v, "failed reason=", 14) == 0 ? v + 14 : "(none)");
    free(v);
}

static int has_reason(const struct fdh_srv *s, const char *key, const char *needle)
{
    char *v = kv_get(s->out, key);
    int ok = v && strncmp(v, "failed reason=", 14) == 0 && strstr(v, needle) != NULL;
    free(v);
    return ok;
}

/* ---------------------------------------------------------------- reload */

static int reload(struct ctx *x)
{
    char siteA[PATH_MAX], siteB[PATH_MAX], conf[PATH_MAX], f[PATH_MAX + 16], text[PATH_MAX + 200];
    path_in(x, "siteA", siteA, sizeof siteA);
    path_in(x, "siteB", siteB, sizeof siteB);
    path_in(x, "reload.conf", conf, sizeof conf);
    mkdir_p(siteA);
    mkdir_p(siteB);
    snprintf(f, sizeof f, "%s/a.txt", siteA);
    put_file(f, "A\n", 0644);
    snprintf(f, sizeof f, "%s/b.txt", siteB);
    put_file(f, "B\n", 0644);
    snprintf(text, sizeof text, "# generation 1\nroot %s\n", siteA);
    put_file(conf, text, 0644);
    struct fdh_srv s;
    char *argv[] = {"fdhttpd", "-l", "127.0.0.1:0", "-w", "2", "-a", (char *)x->mode, "--config", conf, NULL};
    if (start(x, &s, x->bin, argv) < 0)
        return 0;
    char ino1[1024], ino2[1024], pids1[256], pids2[256];
    rl_listen_inodes(s.port, ino1, sizeof ino1);
    worker_pids(s.port, 2, pids1, sizeof pids1);
    int a1 = rl_get(s.port, "/a.txt", NULL);
    int fds1 = fd_count_of(s.pid);
    /* An idle kept-alive connection, served by generation 1. */
    int idle = tcp_connect("127.0.0.1", s.port, SOCK_CLOEXEC);
    const char *req = "GET /a.txt HTTP/1.1\r\nHost: a\r\n\r\n";
    char resp[4096];
    if (idle < 0 || write(idle, req, strlen(req)) != (ssize_t)strlen(req) || read(idle, resp, sizeof resp) <= 0)
        die("idle connection");

    /* Generation 2: another root, a smaller header limit. */
    snprintf(text, sizeof text, "# generation 2\nroot %s\nmax-header-bytes=1024   # was 8192\n", siteB);
    put_file(conf, text, 0644);
    sig(s.pid, SIGHUP);
    int done = rl_wait(&s, "reload=done", 1, WAIT_S) == 0;
    kv_print("reload.done", "%d", done);
    char *g = kv_get(s.out, "reload");
    kv_print("reload.line", "%s", g ? g : "");
    free(g);
    int b2 = rl_get(s.port, "/b.txt", NULL), a2 = rl_get(s.port, "/a.txt", NULL);
    kv_print("reload.old_root_before", "%d", a1);
    kv_print("reload.new_root_served", "%d", b2 == 200);
    kv_print("reload.old_root_gone", "%d", a2 == 404);
    char big[3000];
    snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: %01800d\r\nConnection: close\r\n\r\n", 0);
    char r431[4096];
    ssize_t n431 = fdh_http(s.port, big, r431, sizeof r431, 5000);
    kv_print("reload.header_limit_applied", "%d", n431 > 0 && strncmp(r431, "HTTP/1.1 431", 12) == 0);
    /* The idle connection of generation 1: drained with a FIN (read returns 0). */
    struct timeval tv = {5, 0};
    if (setsockopt(idle, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
        die("SO_RCVTIMEO");
    ssize_t eof = read(idle, resp, sizeof resp);
    kv_print("reload.idle_got_fin", "%d", eof == 0);
    if (eof < 0)
        kv_print("reload.idle_errno", "%s", errno_name(errno));
    close(idle);
    rl_listen_inodes(s.port, ino2, sizeof ino2);
    worker_pids(s.port, 2, pids2, sizeof pids2);
    kv_print("reload.listeners_before", "%s", ino1);
    kv_print("reload.listeners_after", "%s", ino2);
    int same = ino1[0] && strcmp(ino1, ino2) == 0 && rl_holds(s.pid, ino2) == 1;
    kv_print("reload.listener_same", "%d", same);
    kv_print("reload.worker_pids_before", "%s", pids1);
    kv_print("reload.worker_pids_after", "%s", pids2);
    int renewed = strcmp(pids1, pids2) != 0 && strstr(pids2, "-1") == NULL;
    kv_print("reload.workers_renewed", "%d", renewed);
    kv_print("reload.status_generation", "%ld", status(s.port, "generation"));
    kv_print("reload.status_reloads", "%ld", status(s.port, "reloads"));

    /* Three reloads of an unchanged config; then one during another (queued). */
    for (int i = 2; i <= 4; i++) {
        sig(s.pid, SIGHUP);
        rl_wait(&s, "reload=done", i, WAIT_S);
    }
    int fds2 = fd_count_of(s.pid);
    kv_print("reload.master_fds_before", "%d", fds1);
    kv_print("reload.master_fds_after", "%d", fds2);
    /* Keep the old generation busy draining, so that the second SIGHUP surely arrives
     * during the reload: a connection with HALF a request is not idle, its worker
     * waits for the rest (bounded by the header timeout and --drain-timeout, 10 s).
     * (An idle one would only hold it 300 ms + up to 2 s of lingering: too little on
     * a loaded machine, where the lab may not run for that long.) */
    idle = tcp_connect("127.0.0.1", s.port, SOCK_CLOEXEC);
    const char *half = "GET /a.txt HTTP/1.1\r\n";
    if (idle < 0 || write(idle, req, strlen(req)) != (ssize_t)strlen(req) || read(idle, resp, sizeof resp) <= 0 ||
        write(idle, half, strlen(half)) != (ssize_t)strlen(half))
        die("busy connection");
    sig(s.pid, SIGHUP);
    rl_wait(&s, "reload=switched", 5, WAIT_S);
    sig(s.pid, SIGHUP);
    close(idle); /* (after the second SIGHUP: until then it kept the old generation busy) */
    int queued_done = rl_wait(&s, "reload=done", 6, WAIT_S) == 0;
    kv_print("reload.queued_seen", "%d", rl_count(s.out, "reload=queued"));
    kv_print("reload.queued_ran", "%d", queued_done);
    long gen = status(s.port, "generation");
    kv_print("reload.final_generation", "%ld", gen);
    int ok = stop(&s, "reload");
    int shown = done && a1 == 200 && b2 == 200 && a2 == 404 && n431 > 0 && eof == 0 && same && renewed &&
                fds1 == fds2 && queued_done && gen == 7 && ok;
    fdh_srv_free(&s);
    return shown;
}

/* ---------------------------------------------------------------- invalid */

static int invalid(struct ctx *x)
{
    char conf[PATH_MAX];
    path_in(x, "invalid.conf", conf, sizeof conf);
    put_file(conf, "# valid\nmax-conns 100\n", 0644);
    struct fdh_srv s;
    char *argv[] = {"fdhttpd", "-l", "127.0.0.1:0", "-w", "2", "-a", (char *)x->mode, "--config", conf, NULL};
    if (start(x, &s, x->bin, argv) < 0)
        return 0;
    char pids1[256], pids2[256];
    worker_pids(s.port, 2, pids1, sizeof pids1);
    static const struct { const char *conf, *needle, *key; } bad[] = {
        {"workers 0\n", "--workers", "invalid.bad_value"},
        {"root /nonexistent/fdlab\n", "--root", "invalid.missing_root"},
        {"bogus-option 1\n", "unknown option", "invalid.unknown_option"},
        {"listen 127.0.0.1:1\n", "--listen changed", "invalid.listen_refused"},
        {"accept passfd\naccept mutex\n", "--accept changed", "invalid.accept_refused"},
    };
    int shown = 1;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* (the accept case: passfd then mutex, so it differs from any -a) */
        const char *c = bad[i].conf;
        if (strstr(c, "accept") && strcmp(x->mode, "mutex") != 0)
            c = "accept mutex\n";
        else if (strstr(c, "accept"))
            c = "accept passfd\n";
        put_file(conf, c, 0644);
        sig(s.pid, SIGHUP);
        int failed = rl_wait(&s, "reload=failed", (int)i + 1, WAIT_S) == 0;
        int why = failed && has_reason(&s, "reload", bad[i].needle);
        kv_print(bad[i].key, "%d", why);
        echo_reason(&s, "reload", bad[i].key);
        shown &= why;
    }
    worker_pids(s.port, 2, pids2, sizeof pids2);
    kv_print("invalid.pids_before", "%s", pids1);
    kv_print("invalid.pids_after", "%s", pids2);
    int unchanged = strcmp(pids1, pids2) == 0 && strstr(pids1, "-1") == NULL;
    kv_print("invalid.pids_unchanged", "%d", unchanged);
    int serving = rl_get(s.port, "/", NULL) == 200;
    kv_print("invalid.still_serving", "%d", serving);
    long gen = status(s.port, "generation"), nf = status(s.port, "reloads_failed");
    kv_print("invalid.status_generation", "%ld", gen);
    kv_print("invalid.status_reloads_failed", "%ld", nf);
    /* Fixed again: the next reload goes through. */
    put_file(conf, "max-conns 200\n", 0644);
    sig(s.pid, SIGHUP);
    int after = rl_wait(&s, "reload=done", 1, WAIT_S) == 0;
    kv_print("invalid.fixed_reload_done", "%d", after);
    int ok = stop(&s, "invalid");
    fdh_srv_free(&s);
    return shown && unchanged && serving && gen == 1 && nf == 5 && after && ok;
}

/* ---------------------------------------------------------------- upgrade */

static int upgrade(struct ctx *x)
{
    struct fdh_srv s;
    char *argv[] = {"fdhttpd", "-l", "127.0.0.1:0", "-w", "2", "-a", (char *)x->mode, NULL};
    if (start(x, &s, x->bin, argv) < 0)
        return 0;
    char ino1[1024], ino2[1024], ino3[1024];
    rl_listen_inodes(s.port, ino1, sizeof ino1);
    for (int i = 0; i < 20; i++)
        rl_get(s.port, "/", NULL);
    long before = status(s.port, "total.requests");
    pid_t old = s.pid;
    sig(old, SIGUSR2);
    int done = rl_wait(&s, "upgrade=done", 1, WAIT_S) == 0;
    pid_t nm = rl_master(&s);
    int old_exit = rl_reap_wait(&s, old, WAIT_S); /* it exited already: reap it */
    kv_print("upgrade.done", "%d", done);
    kv_print("upgrade.old_master", "%d", (int)old);
    kv_print("upgrade.new_master", "%d", (int)nm);
    kv_print("upgrade.old_exit", "%d", old_exit);
    int served = rl_get(s.port, "/", NULL) == 200;
    kv_print("upgrade.served_after", "%d", served);
    long after = status(s.port, "total.requests");
    kv_print("upgrade.requests_before", "%ld", before);
    kv_print("upgrade.requests_after", "%ld", after);
    kv_print("upgrade.stats_continued", "%d", before >= 20 && after > before);
    kv_print("upgrade.status_upgrades", "%ld", status(s.port, "upgrades"));
    kv_print("upgrade.status_generation", "%ld", status(s.port, "generation"));
    rl_listen_inodes(s.port, ino2, sizeof ino2);
    int same = ino1[0] && strcmp(ino1, ino2) == 0 && rl_holds(nm, ino2) == 1;
    kv_print("upgrade.listeners_before", "%s", ino1);
    kv_print("upgrade.listeners_after", "%s", ino2);
    kv_print("upgrade.listener_same", "%d", same);
    /* Again, from the new master (now our child: we are the subreaper). */
    sig(nm, SIGUSR2);
    int done2 = rl_wait(&s, "upgrade=done", 2, WAIT_S) == 0;
    pid_t nm2 = rl_master(&s);
    int old2_exit = rl_reap_wait(&s, nm, WAIT_S);
    rl_listen_inodes(s.port, ino3, sizeof ino3);
    int same2 = strcmp(ino1, ino3) == 0 && rl_holds(nm2, ino3) == 1;
    long gen = status(s.port, "generation"), ups = status(s.port, "upgrades");
    kv_print("upgrade.second_done", "%d", done2);
    kv_print("upgrade.second_old_exit", "%d", old2_exit);
    kv_print("upgrade.second_listener_same", "%d", same2);
    kv_print("upgrade.final_generation", "%ld", gen);
    kv_print("upgrade.final_upgrades", "%ld", ups);
    int ok = stop(&s, "upgrade");
    fdh_srv_free(&s);
    return done && nm != old && old_exit == 0 && served && after > before && same && done2 && old2_exit == 0 &&
           same2 && gen == 3 && ups == 2 && ok;
}

/* ---------------------------------------------------------------- rollback */

/* A private copy of fdhttpd (bin, and keep = a good copy to restore) and an empty
 * config (conf) in the lab's directory `dir`, started from that copy with 2 workers:
 * the rollback scenarios replace the binary on disk under the running server.
 * Returns start()'s result. */
struct copied {
    char bin[PATH_MAX + 16], keep[PATH_MAX + 16], conf[PATH_MAX];
};

static int start_copied(struct ctx *x, struct fdh_srv *s, struct copied *c, const char *dir, const char *conf)
{
    char bindir[PATH_MAX];
    path_in(x, dir, bindir, sizeof bindir);
    mkdir_p(bindir);
    snprintf(c->bin, sizeof c->bin, "%s/fdhttpd", bindir);
    snprintf(c->keep, sizeof c->keep, "%s/fdhttpd.good", bindir);
    copy_file(x->bin, c->bin, 0755);
    copy_file(x->bin, c->keep, 0755);
    path_in(x, conf, c->conf, sizeof c->conf);
    put_file(c->conf, "# nothing yet\n", 0644);
    char *argv[] = {"fdhttpd", "-l", "127.0.0.1:0", "-w", "2", "-a", (char *)x->mode, "--config", c->conf, NULL};
    return start(x, s, c->bin, argv);
}

static int rollback(struct ctx *x)
{
    struct copied cp;
    struct fdh_srv s;
    if (start_copied(x, &s, &cp, "bin", "rollback.conf") < 0)
        return 0;
    const char *bin = cp.bin, *keep = cp.keep, *conf = cp.conf;
    pid_t m = s.pid;
    /* 1. The binary on disk is replaced by one that cannot start. */
    put_file(bin, "#!/bin/sh\necho 'broken fdhttpd: refusing to start' >&2\nexit 1\n", 0755);
    sig(m, SIGUSR2);
    int f1 = rl_wait(&s, "upgrade=failed", 1, WAIT_S) == 0;
    echo_reason(&s, "upgrade", "rollback.broken_binary");
    int why1 = has_reason(&s, "upgrade", "exited with status 1");
    int serving1 = rl_get(s.port, "/", NULL) == 200 && rl_master(&s) == m && kill(m, 0) == 0;
    kv_print("rollback.broken_binary_failed", "%d", f1 && why1);
    kv_print("rollback.old_serving", "%d", serving1);
    /* 2. A good binary, but its configuration does not match the sockets handed over
     * (it wants another accept strategy): the new master refuses them and says why. */
    copy_file(keep, bin, 0755);
    put_file(conf, strcmp(x->mode, "passfd") ? "accept passfd\n" : "accept mutex\n", 0644);
    sig(m, SIGUSR2);
    int f2 = rl_wait(&s, "upgrade=failed", 2, WAIT_S) == 0;
    echo_reason(&s, "upgrade", "rollback.verify");
    int why2 = has_reason(&s, "upgrade", "accept=");
    int serving2 = rl_get(s.port, "/", NULL) == 200 && rl_master(&s) == m;
    kv_print("rollback.verify_failed", "%d", f2 && why2);
    kv_print("rollback.old_serving_again", "%d", serving2);
    long nf = status(s.port, "upgrades_failed");
    kv_print("rollback.status_upgrades_failed", "%ld", nf);
    /* 3. Fixed: the upgrade goes through after two rollbacks. */
    put_file(conf, "# fixed\n", 0644);
    sig(m, SIGUSR2);
    int done = rl_wait(&s, "upgrade=done", 1, WAIT_S) == 0;
    if (done)
        rl_reap_wait(&s, m, WAIT_S);
    kv_print("rollback.then_upgrade_done", "%d", done);
    int ok = stop(&s, "rollback");
    fdh_srv_free(&s);
    return f1 && why1 && serving1 && f2 && why2 && serving2 && nf == 2 && done && ok;
}

/* ---------------------------------------------------------------- fds */

/* The master's descriptors and children after a step: the count must equal the first
 * master's (a new master of the same configuration holds the same set), and the
 * children must be exactly the workers, none of them a zombie. */
static int fds_check(const char *step, pid_t m, int want_fds, int workers)
{
    int z = -1, fds = fd_count_of(m), kids = rl_children(m, &z);
    char k[64];
    snprintf(k, sizeof k, "fds.%s", step);
    kv_print(k, "fds=%d children=%d zombies=%d", fds, kids, z);
    return fds == want_fds && kids == workers && z == 0;
}

/* 20 reloads, 5 upgrades and 3 rollbacks (a binary that exits 1, sockets that do not
 * match, a new master that never connects: bounded by FDH_READY_MAX_MS) leave every
 * master with the descriptors and children it started with. */
static int fds(struct ctx *x)
{
    struct copied cp;
    struct fdh_srv s;
    if (start_copied(x, &s, &cp, "fdsbin", "fds.conf") < 0)
        return 0;
    const char *bin = cp.bin, *keep = cp.keep, *conf = cp.conf;
    pid_t m = s.pid;
    int f0 = fd_count_of(m), ok = f0 > 0;
    kv_print("fds.start", "%d", f0);
    ok &= fds_check("start_check", m, f0, 2);
    int nrel = 0;
    for (int i = 1; i <= 20; i++) {
        sig(m, SIGHUP);
        nrel += rl_wait(&s, "reload=done", i, WAIT_S) == 0;
    }
    kv_print("fds.reloads_done", "%d", nrel);
    ok &= nrel == 20 && fds_check("after_20_reloads", m, f0, 2);
    int nup = 0;
    for (int i = 1; i <= 5; i++) {
        sig(m, SIGUSR2);
        int d = rl_wait(&s, "upgrade=done", i, WAIT_S) == 0;
        nup += d && rl_reap_wait(&s, m, WAIT_S) == 0;
        m = rl_master(&s);
        char step[32];
        snprintf(step, sizeof step, "after_upgrade_%d", i);
        ok &= fds_check(step, m, f0, 2);
    }
    kv_print("fds.upgrades_done", "%d", nup);
    ok &= nup == 5;
    /* Rollbacks, each checked on the master that stays. */
    static const char *const broken[] = {
        "#!/bin/sh\nexit 1\n",              /* dies before connecting */
        NULL,                               /* the good binary, a config it cannot serve */
        "#!/bin/sh\nexec sleep 60\n",       /* never connects: the old master's deadline */
    };
    int nfail = 0;
    for (int i = 0; i < 3; i++) {
        if (broken[i])
            put_file(bin, broken[i], 0755);
        else {
            copy_file(keep, bin, 0755);
            put_file(conf, strcmp(x->mode, "passfd") ? "accept passfd\n" : "accept mutex\n", 0644);
        }
        sig(m, SIGUSR2);
        double t0 = mono_s();
        nfail += rl_wait(&s, "upgrade=failed", i + 1, WAIT_S) == 0;
        char step[32];
        snprintf(step, sizeof step, "after_rollback_%d", i + 1);
        ok &= fds_check(step, m, f0, 2) && rl_master(&s) == m && rl_get(s.port, "/", NULL) == 200;
        if (i == 2) { /* bounded: the deadline, not our WAIT_S, ended it */
            echo_reason(&s, "upgrade", "fds.hang");
            ok &= has_reason(&s, "upgrade", "not ready within") && mono_s() - t0 < WAIT_S;
        }
        if (!broken[i])
            put_file(conf, "# nothing\n", 0644);
    }
    kv_print("fds.rollbacks_failed_as_expected", "%d", nfail);
    ok &= nfail == 3;
    copy_file(keep, bin, 0755);
    kv_print("fds.flat", "%d", ok);
    ok = stop(&s, "fds") && ok;
    fdh_srv_free(&s);
    return ok;
}

/* ---------------------------------------------------------------- nofile */

/* The lowest descriptor number process pid does NOT have open (the one its next
 * open would get), or -1. */
static int lowest_free_fd(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    static unsigned char used[4096];
    memset(used, 0, sizeof used);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int n = atoi(e->d_name);
        if (e->d_name[0] != '.' && n >= 0 && n < (int)sizeof used)
            used[n] = 1;
    }
    closedir(d);
    int f = 0;
    while (f < (int)sizeof used && used[f])
        f++;
    return f;
}

/* A master that runs out of descriptors (its RLIMIT_NOFILE lowered from outside, with
 * prlimit(2), to what it holds) must refuse a reload and an upgrade with the reason
 * and serve on — not die and take its workers with it. */
static int nofile(struct ctx *x)
{
    struct fdh_srv s;
    char *argv[] = {"fdhttpd", "-l", "127.0.0.1:0", "-w", "2", "-a", (char *)x->mode, "--access-log", "off", NULL};
    if (start(x, &s, x->bin, argv) < 0)
        return 0;
    pid_t m = s.pid;
    struct rlimit old, tight;
    int lf = lowest_free_fd(m);
    if (lf < 0 || prlimit(m, RLIMIT_NOFILE, NULL, &old) < 0)
        die("prlimit(%d) get", (int)m);
    tight = old;
    /* One more descriptor than it holds: a reload's docroot (site_open) still opens,
     * the worker channel (socketpair: two) does not. */
    tight.rlim_cur = (rlim_t)lf + 1;
    if (prlimit(m, RLIMIT_NOFILE, &tight, NULL) < 0)
        die("prlimit(%d) set", (int)m);
    kv_print("nofile.limit", "%d", lf + 1);
    sig(m, SIGHUP);
    int rf = rl_wait(&s, "reload=failed", 1, WAIT_S) == 0;
    echo_reason(&s, "reload", "nofile.reload");
    sig(m, SIGUSR2);
    int uf = rl_wait(&s, "upgrade=failed", 1, WAIT_S) == 0;
    echo_reason(&s, "upgrade", "nofile.upgrade");
    int alive = kill(m, 0) == 0 && rl_master(&s) == m;
    if (prlimit(m, RLIMIT_NOFILE, &old, NULL) < 0)
        die("prlimit(%d) restore", (int)m);
    int serving = rl_get(s.port, "/", NULL) == 200;
    sig(m, SIGHUP);
    int rd = rl_wait(&s, "reload=done", 1, WAIT_S) == 0;
    kv_print("nofile.reload_failed", "%d", rf);
    kv_print("nofile.upgrade_failed", "%d", uf);
    kv_print("nofile.master_alive", "%d", alive);
    kv_print("nofile.serving", "%d", serving);
    kv_print("nofile.reload_done_after", "%d", rd);
    int ok = stop(&s, "nofile");
    fdh_srv_free(&s);
    return rf && uf && alive && serving && rd && ok;
}

/* ---------------------------------------------------------------- stubborn */

/* An old worker that ignores QUIT is SIGKILLed at --drain-timeout, the reload still
 * completes, and /status's active count is right afterwards (the dead worker's
 * connections are subtracted from its own bank only). */
static int stubborn(struct ctx *x)
{
    struct fdh_srv s;
    /* passfd: the master deals the connections round robin, so the stubborn worker
     * surely holds some of them when it is killed. */
    char *argv[] = {"fdhttpd", "-l", "127.0.0.1:0", "-w", "2", "-a", "passfd", "--stubborn-slot", "0",
                    "--drain-timeout", "0.5", NULL};
    (void)x;
    if (start(x, &s, x->bin, argv) < 0)
        return 0;
    int fds[8], held = 0, on_stubborn = 0;
    const char *req = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    for (int i = 0; i < 8; i++) {
        char resp[4096];
        fds[i] = tcp_connect("127.0.0.1", s.port, SOCK_CLOEXEC);
        ssize_t n = -1;
        if (fds[i] >= 0 && write(fds[i], req, strlen(req)) == (ssize_t)strlen(req) &&
            (n = read(fds[i], resp, sizeof resp - 1)) > 0) {
            resp[n] = '\0';
            held++;
            on_stubborn += strstr(resp, "\r\nX-Worker: 0\r\n") != NULL;
        }
    }
    long active_before = status(s.port, "total.active");
    sig(s.pid, SIGHUP);
    int done = rl_wait(&s, "reload=done", 1, WAIT_S) == 0;
    int killed = strstr(s.err, "did not finish draining in time: SIGKILL") != NULL;
    long active_after = status(s.port, "total.active"); /* this request itself: 1 */
    for (int i = 0; i < 8; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    kv_print("stubborn.held", "%d", held);
    kv_print("stubborn.on_stubborn_worker", "%d", on_stubborn);
    kv_print("stubborn.active_before", "%ld", active_before);
    kv_print("stubborn.reload_done", "%d", done);
    kv_print("stubborn.sigkilled", "%d", killed);
    kv_print("stubborn.active_after", "%ld", active_after);
    /* The same after an upgrade: the old master's stubborn worker is SIGKILLed at
     * --drain-timeout too (0.5 s; a SIGQUIT's drain bound is 30 s), so the old master
     * is gone well within 20 s. */
    int held2 = 0;
    for (int i = 0; i < 8; i++) {
        char resp[4096];
        fds[i] = tcp_connect("127.0.0.1", s.port, SOCK_CLOEXEC);
        held2 += fds[i] >= 0 && write(fds[i], req, strlen(req)) == (ssize_t)strlen(req) &&
                 read(fds[i], resp, sizeof resp) > 0;
    }
    pid_t old = s.pid;
    sig(old, SIGUSR2);
    int handed = rl_wait(&s, "upgrade=handed_over", 1, WAIT_S) == 0;
    int old_exit = handed ? rl_reap_wait(&s, old, 20) : -1;
    int up_done = rl_wait(&s, "upgrade=done", 1, WAIT_S) == 0;
    for (int i = 0; i < 8; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    kv_print("stubborn.upgrade_held", "%d", held2);
    kv_print("stubborn.upgrade_old_exit", "%d", old_exit);
    kv_print("stubborn.upgrade_done", "%d", up_done);
    int ok = stop(&s, "stubborn");
    fdh_srv_free(&s);
    return held == 8 && on_stubborn > 0 && active_before == 9 && done && killed && active_after == 1 &&
           held2 == 8 && old_exit == 0 && up_done && ok;
}

/* ---------------------------------------------------------------- crashloop */

static int crashloop(struct ctx *x)
{
    struct fdh_srv s;
    /* exclusive, whatever -a says: with reuseport the connections the kernel hashes to
     * the looping slot's own queue would wait there for a worker that never accepts. */
    char *argv[] = {"fdhttpd", "-l", "127.0.0.1:0", "-w", "2", "-a", "exclusive", "--crash-slot", "1", NULL};
    if (start(x, &s, x->bin, argv) < 0)
        return 0;
    int seen = rl_wait(&s, "crashloop=slot=1 backoff_ms=400", 1, WAIT_S) == 0;
    char *l = kv_get(s.out, "crashloop");
    kv_print("crashloop.line", "%s", l ? l : "");
    free(l);
    kv_print("crashloop.reported", "%d", seen);
    long cl = status(s.port, "crashloop"), bo = status(s.port, "worker.1.backoff_ms"),
         rs = status(s.port, "respawns"), b0 = status(s.port, "worker.0.backoff_ms");
    kv_print("crashloop.status_crashloop", "%ld", cl);
    kv_print("crashloop.status_backoff_ms", "%ld", bo);
    kv_print("crashloop.status_respawns", "%ld", rs);
    int serving = rl_get(s.port, "/", NULL) == 200; /* slot 0 serves */
    kv_print("crashloop.still_serving", "%d", serving);
    int ok = stop(&s, "crashloop");
    fdh_srv_free(&s);
    return seen && cl == 1 && bo >= 400 && b0 == 0 && rs >= 3 && serving && ok;
}

/* ---------------------------------------------------------------- systemd */

static int notify_recv(int fd, char *buf, size_t cap, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, ms) <= 0)
        return -1;
    ssize_t n = recv(fd, buf, cap - 1, MSG_DONTWAIT);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return 0;
}

static int systemd(struct ctx *x)
{
    char sock[PATH_MAX];
    path_in(x, "notify.sock", sock, sizeof sock);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(sock) >= sizeof sa.sun_path)
        die_msg("%s: path too long", sock);
    strcpy(sa.sun_path, sock);
    int nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (nfd < 0 || bind(nfd, (struct sockaddr *)&sa, sizeof sa) < 0)
        die("notify socket %s", sock);
    if (setenv("NOTIFY_SOCKET", sock, 1) < 0)
        die("setenv");
    /* 1. One socket, accept=exclusive. */
    struct fdh_srv s;
    char *argv[] = {"sdactivate", "-l", "127.0.0.1:0", "--", x->bin, "-w", "2", "-a", "exclusive", NULL};
    int started = start(x, &s, x->sdact, argv) == 0;
    unsetenv("NOTIFY_SOCKET");
    if (!started) {
        close(nfd);
        return 0;
    }
    char m1[256] = "", m2[256] = "", m3[256] = "", m4[256] = "", want[64];
    notify_recv(nfd, m1, sizeof m1, WAIT_S * 1000);
    long act = -1;
    kv_long(s.out, "socket_activation", &act);
    kv_print("systemd.socket_activation", "%ld", act);
    char ino[1024];
    rl_listen_inodes(s.port, ino, sizeof ino);
    int held = rl_holds(s.pid, ino) == 1 && rl_get(s.port, "/", NULL) == 200;
    kv_print("systemd.serves_activated_socket", "%d", held);
    snprintf(want, sizeof want, "MAINPID=%d", (int)s.pid);
    int ready = strstr(m1, "READY=1") != NULL && strstr(m1, want) != NULL;
    sig(s.pid, SIGHUP);
    rl_wait(&s, "reload=done", 1, WAIT_S);
    notify_recv(nfd, m2, sizeof m2, WAIT_S * 1000);
    notify_recv(nfd, m3, sizeof m3, WAIT_S * 1000);
    int reloading = strstr(m2, "RELOADING=1") != NULL && strstr(m2, "MONOTONIC_USEC=") != NULL &&
                    strstr(m3, "READY=1") != NULL;
    int ok = stop(&s, "systemd");
    notify_recv(nfd, m4, sizeof m4, WAIT_S * 1000);
    int stopping = strcmp(m4, "STOPPING=1") == 0;
    for (char *p = m1; *p; p++) *p = *p == '\n' ? ' ' : *p;
    for (char *p = m2; *p; p++) *p = *p == '\n' ? ' ' : *p;
    for (char *p = m3; *p; p++) *p = *p == '\n' ? ' ' : *p;
    kv_print("systemd.msg1", "%s", m1);
    kv_print("systemd.msg2", "%s", m2);
    kv_print("systemd.msg3", "%s", m3);
    kv_print("systemd.msg4", "%s", m4);
    kv_print("systemd.ready", "%d", ready);
    kv_print("systemd.reloading", "%d", reloading);
    kv_print("systemd.stopping", "%d", stopping);
    fdh_srv_free(&s);
    close(nfd);
    if (unlink(sock) < 0)
        warn_errno("unlink %s", sock);
    /* 2. reuseport: one activated socket per worker. */
    char *argv2[] = {"sdactivate", "-n", "2", "--", x->bin, "-w", "2", "-a", "reuseport", NULL};
    int rp = start(x, &s, x->sdact, argv2) == 0 && rl_listen_inodes(s.port, ino, sizeof ino) == 2 &&
             rl_holds(s.pid, ino) == 1 && rl_get(s.port, "/", NULL) == 200;
    /* ... and an upgrade hands the activated sockets on like any others. */
    char ino2[1024] = "";
    pid_t first = s.pid;
    if (rp) {
        sig(first, SIGUSR2);
        rp = rl_wait(&s, "upgrade=done", 1, WAIT_S) == 0 && rl_reap_wait(&s, first, WAIT_S) == 0 &&
             rl_listen_inodes(s.port, ino2, sizeof ino2) == 2 && strcmp(ino, ino2) == 0 &&
             rl_holds(rl_master(&s), ino2) == 1 && rl_get(s.port, "/", NULL) == 200;
        kv_print("systemd.upgrade_kept_sockets", "%d", rp);
    }
    rp = stop(&s, "systemd_reuseport") && rp;
    fdh_srv_free(&s);
    kv_print("systemd.reuseport_ok", "%d", rp);
    /* 3. reuseport with 2 workers but one socket: refused with a reason. */
    char *argv3[] = {x->sdact, "-n", "1", "--", x->bin, "-w", "2", "-a", "reuseport", NULL};
    struct run_result r = {0};
    int refused = run_capture(argv3, WAIT_S, &r) == 0 && run_exit_code(&r) == 1 && r.leftovers == 0 &&
                  strstr(r.err, "socket activation passed 1 sockets") != NULL;
    kv_print("systemd.mismatch_refused", "%d", refused);
    char *nl = r.err ? strchr(r.err, '\n') : NULL;
    if (nl)
        *nl = '\0';
    kv_print("systemd.mismatch_reason", "%s", r.err ? r.err : "");
    run_result_free(&r);
    return act == 1 && held && ready && reloading && stopping && ok && rp && refused;
}

/* ---------------------------------------------------------------- load */

/* A load client process: runs fdload against host:port in rounds of 2 s until stop_fd
 * reaches end of file, then writes "ok errors rounds" totals to out_fd and exits. */
static void load_child(const struct ctx *x, const char *host, uint16_t port, int kind, int stop_fd, int out_fd)
{
    char p[16];
    snprintf(p, sizeof p, "%u", port);
    long ok = 0, errors = 0, rounds = 0;
    for (;;) {
        /* kind 0: kept alive; 1: Connection: close; 2: kept alive, 4 requests pipelined */
        char *av[] = {(char *)x->fdload, "-H", (char *)host, "-p", p, "-c", kind == 1 ? "6" : "8", "-t", "1", "-d",
                      "2", "--kv", kind == 0 ? "-k" : kind == 2 ? "--pipeline" : NULL, "4", NULL};
        if (kind == 0)
            av[13] = NULL;
        struct run_result r = {0};
        long v;
        /* exit 1 with a summary: every request of the round failed, counted below */
        if (run_capture(av, 60, &r) == 0 && run_exit_code(&r) <= 1 && kv_long(r.out, "ok", &v) == 0) {
            if (kv_long(r.out, "ok", &v) == 0)
                ok += v;
            if (kv_long(r.out, "errors.transport", &v) == 0)
                errors += v;
            /* an answer other than 2xx counts as failed too (a 503 from a full worker) */
            for (const char *k = "status.1xx"; k; k = strcmp(k, "status.1xx") == 0 ? "status.3xx"
                                                   : strcmp(k, "status.3xx") == 0 ? "status.4xx"
                                                   : strcmp(k, "status.4xx") == 0 ? "status.5xx" : NULL)
                if (kv_long(r.out, k, &v) == 0)
                    errors += v;
        } else {
            errors += 1000000; /* the run itself failed: make it visible */
        }
        run_result_free(&r);
        rounds++;
        struct pollfd pf = {.fd = stop_fd, .events = POLLIN};
        if (poll(&pf, 1, 0) > 0)
            break;
    }
    dprintf(out_fd, "%ld %ld %ld\n", ok, errors, rounds);
    _exit(0);
}

enum { NLOAD = 3 };

/* One run of the three load clients (kind k against host[k]:port[k]) while the master
 * does x->reloads reloads and x->upgrades upgrades (one after every second reload). */
struct loadrun {
    long ok[NLOAD], err[NLOAD], rounds[NLOAD];
    int reloads, upgrades, ops_ok;
};

static void load_churn(struct ctx *x, struct fdh_srv *s, const char *const host[NLOAD], const uint16_t port[NLOAD],
                       struct loadrun *lr)
{
    int stop_p[2], out_p[NLOAD][2];
    pid_t kid[NLOAD];
    if (pipe2(stop_p, O_CLOEXEC) < 0)
        die("pipe");
    for (int k = 0; k < NLOAD; k++) {
        if (pipe2(out_p[k], O_CLOEXEC) < 0)
            die("pipe");
        fflush(NULL);
        if ((kid[k] = fork()) < 0)
            die("fork");
        if (kid[k] == 0) {
            close(stop_p[1]);
            load_child(x, host[k], port[k], k, stop_p[0], out_p[k][1]);
        }
        close(out_p[k][1]);
    }
    close(stop_p[0]);
    sleep_ms(300); /* the clients are connected and busy before the first change */
    *lr = (struct loadrun){.ops_ok = 1, .err = {-1, -1, -1}};
    for (int i = 0; i < x->reloads || lr->upgrades < x->upgrades; i++) {
        if (i < x->reloads) {
            sig(rl_master(s), SIGHUP);
            lr->ops_ok &= rl_wait(s, "reload=done", ++lr->reloads, WAIT_S) == 0;
        }
        /* an upgrade after every second reload */
        if (lr->upgrades < x->upgrades && (i % 2 == 1 || i >= x->reloads)) {
            pid_t m = rl_master(s);
            sig(m, SIGUSR2);
            lr->ops_ok &= rl_wait(s, "upgrade=done", ++lr->upgrades, WAIT_S) == 0;
            rl_reap_wait(s, m, WAIT_S);
        }
        if (!lr->ops_ok)
            break;
    }
    close(stop_p[1]); /* the clients finish their round and report */
    for (int k = 0; k < NLOAD; k++) {
        char buf[128] = "";
        ssize_t n = 0, r;
        while ((r = read(out_p[k][0], buf + n, sizeof buf - 1 - (size_t)n)) > 0)
            n += r;
        buf[n > 0 ? n : 0] = '\0';
        sscanf(buf, "%ld %ld %ld", &lr->ok[k], &lr->err[k], &lr->rounds[k]);
        close(out_p[k][0]);
        while (waitpid(kid[k], NULL, 0) < 0 && errno == EINTR)
            ;
    }
}

/* prefix.name=v */
static void pkv(const char *prefix, const char *name, long v)
{
    char k[64];
    snprintf(k, sizeof k, "%s.%s", prefix, name);
    kv_print(k, "%ld", v);
}

/* The counts of a load run under prefix (load., multi.); 1 when nothing failed. */
static int load_report(const struct ctx *x, const char *prefix, const struct loadrun *lr, long gen)
{
    static const char *const kind[NLOAD][2] = {{"keepalive_ok", "keepalive_errors"}, {"close_ok", "close_errors"},
                                               {"pipelined_ok", "pipelined_errors"}};
    pkv(prefix, "reloads", lr->reloads);
    pkv(prefix, "upgrades", lr->upgrades);
    pkv(prefix, "ops_done", lr->ops_ok);
    int clean = 1;
    for (int i = 0; i < NLOAD; i++) {
        pkv(prefix, kind[i][0], lr->ok[i]);
        pkv(prefix, kind[i][1], lr->err[i]);
        clean &= lr->ok[i] > 0 && lr->err[i] == 0;
    }
    pkv(prefix, "rounds", lr->rounds[0] + lr->rounds[1] + lr->rounds[2]);
    pkv(prefix, "final_generation", gen);
    return clean && lr->ops_ok && lr->reloads == x->reloads && lr->upgrades == x->upgrades &&
           gen == 1 + x->reloads + x->upgrades;
}

static int load(struct ctx *x)
{
    struct fdh_srv s;
    char *argv[] = {"fdhttpd", "-l", "127.0.0.1:0", "-w", "2", "-a", (char *)x->mode, NULL};
    if (start(x, &s, x->bin, argv) < 0)
        return 0;
    const char *host[NLOAD] = {"127.0.0.1", "127.0.0.1", "127.0.0.1"};
    const uint16_t port[NLOAD] = {s.port, s.port, s.port};
    struct loadrun lr;
    load_churn(x, &s, host, port, &lr);
    int clean = load_report(x, "load", &lr, status(s.port, "generation"));
    kv_print("load.status_reloads", "%ld", status(s.port, "reloads"));
    kv_print("load.status_upgrades", "%ld", status(s.port, "upgrades"));
    int stopped = stop(&s, "load");
    fdh_srv_free(&s);
    kv_print("load.failed_requests", "%ld", lr.err[0] + lr.err[1] + lr.err[2]);
    return clean && stopped;
}

/* ---------------------------------------------------------------- multi */

/* The second address of the multi scenario: the IPv6 loopback when this machine has
 * one, else 127.0.0.2 (all of 127/8 is loopback on Linux): two addresses either way. */
static const char *second_host(void)
{
    uint16_t p;
    int fd = tcp_listen("::1", 0, 1, SOCK_CLOEXEC, &p);
    if (fd < 0)
        return "127.0.0.2";
    close(fd);
    return "::1";
}

/* The port of listen.N=ADDR ... in the master's output, 0 when missing. */
static uint16_t listen_port(const char *out, int n)
{
    char key[24];
    snprintf(key, sizeof key, "listen.%d", n);
    char *v = kv_get(out, key);
    if (v == NULL)
        return 0;
    char *sp = strchr(v, ' ');
    if (sp)
        *sp = '\0';
    long p = strrchr(v, ':') ? strtol(strrchr(v, ':') + 1, NULL, 10) : 0;
    free(v);
    return (uint16_t)p;
}

/* Both addresses answer 200, and listen.N of the output says name=NAME (NULL: no check). */
static int serves_both(const struct fdh_srv *s, const char *host2, const char *n0, const char *n1)
{
    uint16_t p0 = listen_port(s->out, 0), p1 = listen_port(s->out, 1);
    char *l0 = kv_get(s->out, "listen.0"), *l1 = kv_get(s->out, "listen.1");
    char w0[48], w1[48];
    snprintf(w0, sizeof w0, "name=%s", n0 ? n0 : "");
    snprintf(w1, sizeof w1, "name=%s", n1 ? n1 : "");
    int ok = p0 && p1 && rl_get_on("127.0.0.1", p0, "/") == 200 && rl_get_on(host2, p1, "/") == 200 && l0 && l1 &&
             (!n0 || strstr(l0, w0)) && (!n1 || strstr(l1, w1));
    free(l0);
    free(l1);
    return ok;
}

/* More listeners than one SCM_RIGHTS message carries (SCM_MAX_FD = 253): 8 addresses
 * (127.0.0.1..8) x 32 reuseport workers = 256 sockets + the stats page. The upgrade
 * sends them in two messages; the new master serves every address. 1 when shown. */
static int many_listeners(struct ctx *x)
{
    char *argv[24] = {"fdhttpd", "-w", "32", "-a", "reuseport", "--access-log", "off"};
    char addr[8][32];
    int n = 7;
    for (int a = 0; a < 8; a++) {
        snprintf(addr[a], sizeof addr[a], "127.0.0.%d:0", a + 1);
        argv[n++] = "-l", argv[n++] = addr[a];
    }
    argv[n] = NULL;
    struct fdh_srv s;
    if (start(x, &s, x->bin, argv) < 0)
        return 0;
    pid_t first = s.pid;
    sig(first, SIGUSR2);
    int ok = rl_wait(&s, "upgrade=done", 1, WAIT_S) == 0 && rl_reap_wait(&s, first, WAIT_S) == 0 &&
             strstr(s.out, "handover=listeners=256 addresses=8 messages=2") != NULL;
    for (int a = 0; ok && a < 8; a++) {
        char h[32];
        snprintf(h, sizeof h, "127.0.0.%d", a + 1);
        ok = rl_get_on(h, listen_port(s.out, a), "/") == 200;
    }
    kv_print("multi.handover_two_messages", "%d", ok);
    ok = stop(&s, "multi_many") && ok;
    fdh_srv_free(&s);
    return ok;
}

/* multi: two addresses. Socket activation with two named sockets (per address: one,
 * or one per worker under reuseport), handed on by an upgrade; then the load scenario
 * with clients on both addresses. */
static int multi(struct ctx *x)
{
    const char *host2 = second_host();
    char second[64];
    snprintf(second, sizeof second, strchr(host2, ':') ? "[%s]:0" : "%s:0", host2);
    kv_print("multi.second_address", "%s", second);
    int rp = strcmp(x->mode, "reuseport") == 0;
    struct fdh_srv s;
    char *sd[] = {"sdactivate", "-n", rp ? "2" : "1", "-l", "127.0.0.1:0", "--name", "web4", "-l", second, "--name",
                  "web6", "--", x->bin, "-w", "2", "-a", (char *)x->mode, "--access-log", "off", NULL};
    int named = start(x, &s, x->sdact, sd) == 0;
    named = named && kv_is(s.out, "socket_activation", rp ? "4" : "2") && serves_both(&s, host2, "web4", "web6");
    kv_print("multi.systemd_two_named_sockets", "%d", named);
    int handed = 0;
    if (named) {
        pid_t first = s.pid;
        sig(first, SIGUSR2);
        /* the new master prints its own listen.N lines: the last ones in s.out */
        handed = rl_wait(&s, "upgrade=done", 1, WAIT_S) == 0 && rl_reap_wait(&s, first, WAIT_S) == 0 &&
                 rl_count(s.out, "listen.0=") == 2 && serves_both(&s, host2, NULL, NULL);
        char *last = strstr(s.out, "upgrade=started");
        handed = handed && last && strstr(last, "name=web4") && strstr(last, "name=web6") &&
                 strstr(last, rp ? "handover=listeners=4 addresses=2 messages=1" :
                                   "handover=listeners=2 addresses=2 messages=1");
        kv_print("multi.systemd_upgrade_kept_both", "%d", handed);
        named = stop(&s, "multi_systemd") && named;
    }
    fdh_srv_free(&s);
    int many = !rp || many_listeners(x);
    char *argv[] = {"fdhttpd", "-l", "127.0.0.1:0", "-l", second, "-w", "2", "-a", (char *)x->mode, NULL};
    if (start(x, &s, x->bin, argv) < 0)
        return 0;
    uint16_t p0 = listen_port(s.out, 0), p1 = listen_port(s.out, 1);
    /* kept-alive clients on the first address, Connection: close and pipelined on the second */
    const char *host[NLOAD] = {"127.0.0.1", host2, host2};
    const uint16_t port[NLOAD] = {p0, p1, p1};
    struct loadrun lr;
    load_churn(x, &s, host, port, &lr);
    int clean = load_report(x, "multi", &lr, status(s.port, "generation"));
    long a0 = status(s.port, "listen.0.accepted"), a1 = status(s.port, "listen.1.accepted");
    kv_print("multi.accepted_first", "%ld", a0);
    kv_print("multi.accepted_second", "%ld", a1);
    int stopped = stop(&s, "multi");
    fdh_srv_free(&s);
    kv_print("multi.failed_requests", "%ld", lr.err[0] + lr.err[1] + lr.err[2]);
    return named && handed && many && clean && a0 > 0 && a1 > 0 && stopped;
}

/* ---------------------------------------------------------------- main */

/* migrate: the connections queued in a closing SO_REUSEPORT listener, reset and then
 * moved with tcp_migrate_req=1 (the program migrate, in a network namespace of its
 * own). Its lines are printed under "migrate."; 1 shown, 0 not, -1 skipped (it could
 * not create the namespace: the reason is printed). */
static int migrate(struct ctx *x)
{
    char prog[PATH_MAX];
    snprintf(prog, sizeof prog, "%s/12-reload/migrate", x->dir);
    char *av[] = {prog, NULL};
    struct run_result r = {0};
    if (run_capture(av, 60, &r) < 0)
        die("run %s", prog);
    for (const char *l = r.out; l && *l;) {
        const char *nl = strchr(l, '\n');
        int len = nl ? (int)(nl - l) : (int)strlen(l);
        printf(l[0] == '#' ? "%.*s\n" : "migrate.%.*s\n", len, l);
        l = nl ? nl + 1 : NULL;
    }
    if (r.err && r.err[0])
        fputs(r.err, stderr);
    int shown = kv_is(r.out, "skipped", "yes") ? -1
                : run_exit_code(&r) == 0 && kv_is(r.out, "result", "ok");
    run_result_free(&r);
    return shown;
}

static void rm_tree(const char *dir)
{
    char *av[] = {"rm", "-rf", (char *)dir, NULL};
    struct run_result r = {0};
    if (run_capture(av, 30, &r) < 0 || run_exit_code(&r) != 0)
        warn_msg("could not remove %s", dir);
    run_result_free(&r);
}

int main(int argc, char **argv)
{
    struct ctx x = {.mode = "reuseport", .reloads = 4, .upgrades = 2};
    const char *scen = "all";
    int c;
    while ((c = getopt(argc, argv, "s:a:r:u:")) != -1) {
        switch (c) {
        case 's': scen = optarg; break;
        case 'a': x.mode = optarg; break;
        case 'r': x.reloads = atoi(optarg); break;
        case 'u': x.upgrades = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: lab [-s all|reload|invalid|upgrade|rollback|fds|nofile|stubborn|crashloop|systemd|load|migrate|multi] [-a MODE] "
                            "[-r RELOADS] [-u UPGRADES]\n");
            return 2;
        }
    }
    if (strcmp(x.mode, "reuseport") && strcmp(x.mode, "exclusive") && strcmp(x.mode, "mutex") &&
        strcmp(x.mode, "passfd"))
        die_msg("-a %s: want reuseport, exclusive, mutex or passfd", x.mode);
    if (x.reloads < 0 || x.upgrades < 0 || x.reloads > 1000 || x.upgrades > 1000)
        die_msg("bad -r/-u");
    char self[PATH_MAX];
    if (self_dir(self, sizeof self) < 0)
        die("self_dir");
    char *d = dirname(self); /* $BUILD/labs */
    snprintf(x.dir, sizeof x.dir, "%s", d);
    snprintf(x.bin, sizeof x.bin, "%s/11-fdhttpd/fdhttpd", x.dir);
    snprintf(x.fdload, sizeof x.fdload, "%s/11-fdhttpd/fdload", x.dir);
    snprintf(x.sdact, sizeof x.sdact, "%s/12-reload/sdactivate", x.dir);
    if (access(x.bin, X_OK) < 0 || access(x.fdload, X_OK) < 0 || access(x.sdact, X_OK) < 0)
        die("lab 12 needs %s, %s and %s (make build-lab-12)", x.bin, x.fdload, x.sdact);
    snprintf(x.tmp, sizeof x.tmp, "/tmp/fdlab-12-XXXXXX");
    if (mkdtemp(x.tmp) == NULL)
        die("mkdtemp");
    /* Orphaned new masters (upgrade) become our children: see the top. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        die("prctl(PR_SET_CHILD_SUBREAPER)");
    puts("# fdhttpd changes itself while clients keep sending: a reload (SIGHUP) starts new\n"
         "# workers on the same listening sockets, an upgrade (SIGUSR2) passes them to a new\n"
         "# binary, a broken change rolls back. accept= is the strategy every scenario runs (-a).");
    kv_print("accept", "%s", x.mode);

    static const struct { const char *name, *title; int (*fn)(struct ctx *); } scen_tab[] = {
        {"reload", "# reload: SIGHUP with a changed --config; same sockets, new workers", reload},
        {"invalid", "# invalid: a config that is wrong, or needs other sockets, changes nothing", invalid},
        {"upgrade", "# upgrade: SIGUSR2 hands the sockets and the statistics to a new master", upgrade},
        {"rollback", "# rollback: a new binary that fails leaves the old master serving", rollback},
        {"fds", "# fds: 20 reloads, 5 upgrades, 3 rollbacks; every master's descriptors and children", fds},
        {"nofile", "# nofile: out of descriptors, a reload and an upgrade fail and the master serves on", nofile},
        {"stubborn", "# stubborn: an old worker that ignores QUIT is killed at --drain-timeout", stubborn},
        {"crashloop", "# crashloop: a worker that dies at once is reported", crashloop},
        {"systemd", "# systemd: socket activation and READY/RELOADING/STOPPING", systemd},
        {"load", "# load: fdload runs while the server reloads and upgrades itself", load},
        {"migrate", "# migrate: a closing reuseport listener's queue, reset or moved (tcp_migrate_req)", migrate},
        {"multi", "# multi: two addresses (IPv4 + IPv6): two named activated sockets, load while reloading", multi},
    };
    int all = strcmp(scen, "all") == 0, shown = 1, ran = 0;
    char draw[PATH_MAX] = ""; /* the picture (FDLAB_DRAW): drawn by the upgrade scenario's servers only */
    if (fdsnap_drawing())
        snprintf(draw, sizeof draw, "%s", fdsnap_drawing());
    for (size_t i = 0; i < sizeof scen_tab / sizeof scen_tab[0]; i++) {
        if (!all && strcmp(scen, scen_tab[i].name) != 0)
            continue;
        if (draw[0] && (strcmp(scen_tab[i].name, "upgrade") == 0 ? setenv("FDLAB_DRAW", draw, 1)
                                                                 : unsetenv("FDLAB_DRAW")) < 0)
            die("FDLAB_DRAW");
        puts(scen_tab[i].title);
        fflush(stdout);
        int r = scen_tab[i].fn(&x);
        char k[48];
        snprintf(k, sizeof k, "%s.shown", scen_tab[i].name);
        if (r < 0) { /* skipped, with its reason printed: not a pass, not a failure */
            kv_print(k, "skipped");
            ran++;
            continue;
        }
        kv_print(k, "%d", r);
        shown &= r;
        ran++;
    }
    rm_tree(x.tmp);
    if (ran == 0)
        die_msg("-s %s: unknown scenario", scen);
    kv_print("shown", "%d", shown);
    return shown ? 0 : 1;
}
