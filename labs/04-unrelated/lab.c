/* lab.c — lab 04: passing descriptors between UNRELATED processes.
 *
 * Usage: lab [-p 1|2|3] [-N requests]   (default: every part, 200 requests)
 *   Part 1  opensrv (a descriptor server on an abstract AF_UNIX socket) and openclnt
 *           (a separate program) — SCM_RIGHTS + SO_PEERCRED, UNP's privilege-separated
 *           open:  a. an unprivileged client gets an fd to a file it cannot open;
 *           b. a peer of the wrong uid is refused, with no fd;  c. a failed open comes
 *           back as an errno reply;  d. SO_PEERCRED is the credential of connect()
 *           time;  e. many requests leave no descriptor behind in the server;
 *           g. (only when not root: a, c and d need root) a second server with OUR
 *           uid on its allow-list grants a file, read through the received fd.
 *   Part 2  target + taker — pidfd_open + pidfd_getfd, and the ptrace access check.
 *   Part 3  peerpidfd — SO_PEERCRED's pid is reused by an impostor (clone3 set_tid in
 *           a PID namespace); SO_PEERPIDFD and SCM_PIDFD refuse it (Linux 6.5).
 * Both sides are separate exec'd programs started here with fork+exec; they share
 * nothing but the socket name (or a pid and an fd number). Scenarios that need root
 * (changing uid) print <scenario>.skipped=not-root otherwise.
 * Prints every result as key=value, then <claim>.shown=1|0 per claim and
 * claims_shown/claims_total. Exit 0 only when every claim of the run was shown.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "claim.h"
#include "err.h"
#include "kv.h"
#include "labpath.h"
#include "lib/child.h"
#include "lib/drop.h"
#include "spawn.h"

#define NOBODY "65534"
#define OTHER "65533" /* a uid that is not on the allow-list */

struct ctx {
    char dir[PATH_MAX];                   /* where our sibling programs live */
    char tmp[64];                         /* mkdtemp directory for the files */
    char secret[PATH_MAX], data[PATH_MAX], missing[PATH_MAX];
    char secret_text[64];
    int root;
    long yama; /* ptrace_scope, or -1 when Yama is absent */
    struct claims claims;
};

static const char DATA[] = "0123456789abcdefghijklmnopqrstuvwxyz";

/* A number the lab's programs printed, or -999 when absent (no valid value is). */
static long num(const char *text, const char *key)
{
    return kv_long_or(text, key, -999);
}

/* The server's line about the connection from pid: uid and verdict. 0 when found. */
static int find_conn(const char *srv, long pid, long *uid, char *verdict, size_t vlen)
{
    char want[32];
    snprintf(want, sizeof want, " pid=%ld ", pid);
    for (const char *l = srv; l && *l;) {
        const char *nl = strchr(l, '\n');
        const char *hit = strstr(l, want);
        if (strncmp(l, "srv.conn=", 9) == 0 && hit && (!nl || hit < nl)) {
            char v[48];
            if (sscanf(hit, " pid=%*d uid=%ld gid=%*d verdict=%47s", uid, v) == 2) {
                snprintf(verdict, vlen, "%s", v);
                return 0;
            }
        }
        l = nl ? nl + 1 : NULL;
    }
    return -1;
}

/* Runs a sibling program to completion (argv[0] is its name), fails loudly. */
static int run(struct ctx *c, struct run_result *r, char **argv)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/%s", c->dir, argv[0]);
    argv[0] = path;
    if (run_capture(argv, 60, r) < 0) {
        warn_errno("run %s", path);
        return -1;
    }
    if (r->err[0])
        fputs(r->err, stderr);
    return 0;
}

static int write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    int e = errno;
    close(fd);
    errno = e;
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

static void setup_files(struct ctx *c)
{
    snprintf(c->tmp, sizeof c->tmp, "/tmp/fdlab04-XXXXXX");
    if (!mkdtemp(c->tmp))
        die("mkdtemp");
    /* mkdtemp makes 0700; 0755 lets nobody reach the files, so a refused open()
     * below is about the FILE's mode, not the directory's. */
    if (chmod(c->tmp, 0755) < 0)
        die("chmod %s", c->tmp);
    snprintf(c->secret, sizeof c->secret, "%s/secret", c->tmp);
    snprintf(c->data, sizeof c->data, "%s/data", c->tmp);
    snprintf(c->missing, sizeof c->missing, "%s/missing", c->tmp);
    snprintf(c->secret_text, sizeof c->secret_text, "fdlab04-secret-%d", (int)getpid());
    if (write_file(c->secret, c->secret_text, 0600) < 0 || write_file(c->data, DATA, 0644) < 0)
        die("create files in %s", c->tmp);
    if (chmod(c->secret, 0600) < 0) /* whatever the umask */
        die("chmod secret");
}

static void cleanup_files(struct ctx *c)
{
    if (unlink(c->secret) < 0 || unlink(c->data) < 0 || rmdir(c->tmp) < 0)
        warn_errno("cleanup %s", c->tmp);
}

/* ------------------------------------------------------------------ part 1 */

struct part1 {
    struct run_result a, b, cc, d, e_ok, e_no;
    int ran_a, ran_b, ran_c, ran_d, ran_e_ok, ran_e_no;
};

/* Checks one client run against the server's record of it. */
static int server_saw(const char *srv, const struct run_result *r, const char *pfx, long want_uid,
                      const char *want_verdict)
{
    long uid = -1;
    char verdict[48] = "none", key[64];
    int found = find_conn(srv, num(r->out, "pid"), &uid, verdict, sizeof verdict) == 0;
    snprintf(key, sizeof key, "%s.server_peer_uid", pfx);
    kv_print(key, "%ld", uid);
    snprintf(key, sizeof key, "%s.server_verdict", pfx);
    kv_print(key, "%s", verdict);
    return found && uid == want_uid && strcmp(verdict, want_verdict) == 0;
}

static int client_ok(const struct run_result *r)
{
    return run_exit_code(r) == 0 && !r->timed_out && r->leftovers == 0;
}

/* Not root: a, c and d cannot run, yet a grant must still be shown. A second server
 * with our own uid on its allow-list (the first one refuses us: scenario b) opens
 * the data file for openclnt, which reads it through the descriptor it receives.
 * Its totals are printed as g.srv.* so that part 1's srv.* keep their meaning. */
static void own_grant(struct ctx *c)
{
    puts("\n# g. not root: a server whose allow-list holds OUR uid grants a file, and the");
    puts("client reads it through the descriptor it received (no uid change needed).");
    char uidbuf[16], path[PATH_MAX + 16];
    snprintf(uidbuf, sizeof uidbuf, "%u", (unsigned)getuid());
    snprintf(path, sizeof path, "%s/opensrv", c->dir);
    char *sargv[] = {path, "-u", uidbuf, NULL};
    struct child srv;
    if (child_start(&srv, sargv) < 0)
        die("start opensrv (g)");
    char *name = NULL;
    struct run_result r = {0};
    int ran = 0;
    if (child_wait_key(&srv, "srv.name", 20) == 0 && (name = kv_get(srv.text, "srv.name"))) {
        char *a[] = {"openclnt", "-s", name, "-f", c->data, NULL};
        ran = run(c, &r, a) == 0;
    } else {
        warn_errno("opensrv (g) did not come up");
    }
    int rc = child_finish(&srv, 20);
    const char *st = srv.text;
    kv_print("g.allowed_uid", "%s", uidbuf);
    int ok = 0;
    if (ran) {
        kv_forward("g.", r.out, NULL);
        int saw = server_saw(st, &r, "g", (long)getuid(), "granted");
        ok = client_ok(&r) && saw && kv_is(r.out, "reply", "ok") && num(r.out, "fds_received") == 1 &&
             kv_is(r.out, "content", DATA) && kv_is(r.out, "fd_accmode", "r");
    }
    kv_forward("g.", st, "srv.conn");
    claim(&c->claims, "g.shown", ok && rc == 0 && num(st, "srv.granted") == 1 &&
                                 num(st, "srv.fds_end") == num(st, "srv.fds_start"));
    run_result_free(&r);
    free(name);
    child_free(&srv);
}

static void part1(struct ctx *c, unsigned nreq)
{
    puts("\n# Part 1: a descriptor server for unrelated clients (SCM_RIGHTS + SO_PEERCRED)");
    puts("opensrv listens on an abstract AF_UNIX name; openclnt is a separate program that");
    puts("asks it to open a file, and the server answers with the open descriptor attached.");
    char uidbuf[16];
    /* The allow-list: nobody when we are root; when not, any uid but ours. */
    snprintf(uidbuf, sizeof uidbuf, "%s", c->root || getuid() != 65534 ? NOBODY : OTHER);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/opensrv", c->dir);
    char *sargv[] = {path, "-u", uidbuf, NULL};
    struct child srv;
    if (child_start(&srv, sargv) < 0)
        die("start opensrv");
    if (child_wait_key(&srv, "srv.name", 20) < 0) {
        warn_errno("opensrv did not come up");
        child_finish(&srv, 5);
        child_free(&srv);
        claim(&c->claims, "part1.shown", 0);
        return;
    }
    char *name = kv_get(srv.text, "srv.name");
    if (!name)
        die("srv.name");
    kv_print("srv.name", "%s", name);
    kv_print("srv.allowed_uid", "%s", uidbuf);

    struct part1 p = {0};
    char nbuf[16], n4buf[16];
    snprintf(nbuf, sizeof nbuf, "%u", nreq);
    snprintf(n4buf, sizeof n4buf, "%u", nreq / 4 ? nreq / 4 : 1);
    if (c->root) {
        char *a[] = {"openclnt", "-s", name, "-f", c->secret, "-U", NOBODY, "-G", NOBODY, NULL};
        p.ran_a = run(c, &p.a, a) == 0;
        char *b[] = {"openclnt", "-s", name, "-f", c->secret, "-U", OTHER, "-G", OTHER, NULL};
        p.ran_b = run(c, &p.b, b) == 0;
        char *cc[] = {"openclnt", "-s", name, "-f", c->missing, "-U", NOBODY, "-G", NOBODY, NULL};
        p.ran_c = run(c, &p.cc, cc) == 0;
        char *d[] = {"openclnt", "-s", name, "-f", c->secret, "-C", NOBODY ":" NOBODY,
                     "-U", OTHER, "-G", OTHER, NULL};
        p.ran_d = run(c, &p.d, d) == 0;
        char *e1[] = {"openclnt", "-s", name, "-f", c->secret, "-U", NOBODY, "-G", NOBODY,
                      "-n", nbuf, NULL};
        p.ran_e_ok = run(c, &p.e_ok, e1) == 0;
        char *e2[] = {"openclnt", "-s", name, "-f", c->secret, "-U", OTHER, "-G", OTHER,
                      "-n", n4buf, NULL};
        p.ran_e_no = run(c, &p.e_no, e2) == 0;
    } else {
        /* Not root: we cannot become another uid, but we are not on the list. */
        char *b[] = {"openclnt", "-s", name, "-f", c->secret, NULL};
        p.ran_b = run(c, &p.b, b) == 0;
        char *e2[] = {"openclnt", "-s", name, "-f", c->secret, "-n", n4buf, NULL};
        p.ran_e_no = run(c, &p.e_no, e2) == 0;
    }
    int rc = child_finish(&srv, 20); /* EOF on its stdin: it prints its totals */
    const char *st = srv.text;
    kv_print("srv.exit", "%d", rc);

    puts("\n# a. nobody cannot open the 0600 root file itself, yet reads it through the fd");
    if (p.ran_a) {
        kv_forward("a.", p.a.out, NULL);
        int saw = server_saw(st, &p.a, "a", 65534, "granted");
        claim(&c->claims, "a.shown", client_ok(&p.a) && saw && kv_is(p.a.out, "uid", NOBODY) &&
                                     kv_is(p.a.out, "self_open", "EACCES") &&
                                     kv_is(p.a.out, "reply", "ok") && num(p.a.out, "fds_received") == 1 &&
                                     kv_is(p.a.out, "content", c->secret_text) &&
                                     num(p.a.out, "fd_owner_uid") == 0 && kv_is(p.a.out, "fd_mode", "0600"));
    } else {
        kv_print("a.skipped", "not-root");
    }

    puts("\n# b. a peer whose SO_PEERCRED uid is not on the allow-list gets EACCES, no fd");
    if (p.ran_b) {
        kv_forward("b.", p.b.out, NULL);
        int saw = server_saw(st, &p.b, "b", num(p.b.out, "uid"), "refused");
        claim(&c->claims, "b.shown", client_ok(&p.b) && saw && kv_is(p.b.out, "reply", "EACCES") &&
                                     num(p.b.out, "fds_received") == 0);
    }

    puts("\n# c. an allowed peer, a file that does not exist: the errno comes back, no fd");
    if (p.ran_c) {
        kv_forward("c.", p.cc.out, NULL);
        int saw = server_saw(st, &p.cc, "c", 65534, "failed:ENOENT");
        claim(&c->claims, "c.shown", client_ok(&p.cc) && saw && kv_is(p.cc.out, "reply", "ENOENT") &&
                                     num(p.cc.out, "fds_received") == 0);
    } else {
        kv_print("c.skipped", "not-root");
    }

    puts("\n# d. connect() with euid nobody, then become uid 65533, then send the request:");
    puts("the server still sees nobody (credentials are captured at connect time) and grants.");
    if (p.ran_d) {
        kv_forward("d.", p.d.out, NULL);
        int saw = server_saw(st, &p.d, "d", 65534, "granted");
        claim(&c->claims, "d.shown", client_ok(&p.d) && saw && kv_is(p.d.out, "connected_euid", NOBODY) &&
                                     kv_is(p.d.out, "connected_ruid", "0") &&
                                     kv_is(p.d.out, "uid", OTHER) && kv_is(p.d.out, "self_open", "EACCES") &&
                                     kv_is(p.d.out, "reply", "ok") &&
                                     kv_is(p.d.out, "content", c->secret_text));
    } else {
        kv_print("d.skipped", "not-root");
    }

    puts("\n# e. many requests, granted and refused: the server's fd count is unchanged");
    long want_conns = 0, ok = p.ran_e_no;
    if (p.ran_e_ok) {
        kv_forward("e.granted.", p.e_ok.out, NULL);
        want_conns += nreq;
        ok = ok && client_ok(&p.e_ok) && num(p.e_ok.out, "replies_ok") == (long)nreq &&
             num(p.e_ok.out, "fds_after") == num(p.e_ok.out, "fds_before");
    }
    if (p.ran_e_no) {
        kv_forward("e.refused.", p.e_no.out, NULL);
        want_conns += num(p.e_no.out, "requests");
        ok = ok && client_ok(&p.e_no) && num(p.e_no.out, "replies_err") == num(p.e_no.out, "requests") &&
             num(p.e_no.out, "fds_after") == num(p.e_no.out, "fds_before");
    }
    want_conns += p.ran_a + p.ran_b + p.ran_c + p.ran_d;
    kv_forward("", st, "srv.conn"); /* one line per connection: the totals suffice */
    kv_print("e.expected_connections", "%ld", want_conns);
    claim(&c->claims, "e.shown", ok && rc == 0 && num(st, "srv.connections") == want_conns &&
                                 num(st, "srv.fds_start") >= 0 &&
                                 num(st, "srv.fds_end") == num(st, "srv.fds_start"));

    run_result_free(&p.a), run_result_free(&p.b), run_result_free(&p.cc);
    run_result_free(&p.d), run_result_free(&p.e_ok), run_result_free(&p.e_no);
    free(name);
    child_free(&srv);
    if (!c->root)
        own_grant(c);
}

/* ------------------------------------------------------------------ part 2 */

struct pscen {
    const char *name;
    int target_nobody, target_nodump, taker_nobody;
    const char *say;
};

/* What the ptrace access check should answer (ptrace(2)); Yama, when present and
 * >= 1, only ever adds refusals for takers without CAP_SYS_PTRACE (all, at 3). */
static const char *expect(const struct ctx *c, const struct pscen *s)
{
    int taker_cap = c->root && !s->taker_nobody; /* root keeps CAP_SYS_PTRACE */
    if (c->yama >= 3 || (c->yama >= 1 && !taker_cap))
        return "EPERM";
    if (taker_cap)
        return "ok"; /* CAP_SYS_PTRACE overrides both uid and dumpable checks */
    int same_uid = (s->target_nobody && s->taker_nobody) || (!c->root && !s->taker_nobody);
    return same_uid && !s->target_nodump ? "ok" : "EPERM";
}

static void pidfd_scenario(struct ctx *c, const struct pscen *s)
{
    char pfx[64], key[96];
    printf("\n# pidfd.%s: %s\n", s->name, s->say);
    fflush(stdout);
    snprintf(pfx, sizeof pfx, "pidfd.%s.", s->name);
    if ((s->target_nobody || s->taker_nobody) && !c->root) {
        snprintf(key, sizeof key, "%sskipped", pfx);
        kv_print(key, "not-root");
        return;
    }
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/target", c->dir);
    char *targv[12] = {path, "-f", c->data, "-k", "4"};
    int ta = 5;
    if (s->target_nobody) {
        targv[ta++] = "-U";
        targv[ta++] = NOBODY;
        targv[ta++] = "-G";
        targv[ta++] = NOBODY;
    }
    if (s->target_nodump)
        targv[ta++] = "-D";
    struct child t;
    if (child_start(&t, targv) < 0)
        die("start target");
    struct run_result r = {0};
    int ran = 0;
    if (child_wait_key(&t, "ready", 20) == 0) {
        char *pid = kv_get(t.text, "pid"), *fd = kv_get(t.text, "fd");
        char *kargv[12] = {"taker", "-p", pid, "-f", fd, "-k", "4"};
        if (s->taker_nobody) {
            kargv[7] = "-U";
            kargv[8] = NOBODY;
            kargv[9] = "-G";
            kargv[10] = NOBODY;
        }
        if (pid && fd)
            ran = run(c, &r, kargv) == 0;
        free(pid), free(fd);
    } else {
        warn_errno("target did not come up");
    }
    int trc = child_finish(&t, 20);
    snprintf(key, sizeof key, "%starget.", pfx);
    kv_forward(key, t.text, NULL);
    snprintf(key, sizeof key, "%staker.", pfx);
    if (ran)
        kv_forward(key, r.out, NULL);
    const char *want = expect(c, s);
    snprintf(key, sizeof key, "%sexpected", pfx);
    kv_print(key, "%s", want);
    int ok = ran && trc == 0 && client_ok(&r) && kv_is(r.out, "getfd", want);
    if (ok && strcmp(want, "ok") == 0) {
        /* Same open file description: kcmp says equal, same inode, and ONE offset:
         * the taker starts where the target stopped, and moves the target's too. */
        long off = num(t.text, "offset");
        char *rd = kv_get(r.out, "read");
        ok = kv_is(r.out, "kcmp", "0") && num(r.out, "cloexec") == 1 &&
             num(r.out, "ino") == num(t.text, "ino") && num(r.out, "dev") == num(t.text, "dev") &&
             off >= 0 && off + 4 < (long)sizeof DATA && num(r.out, "offset_before") == off &&
             rd && strncmp(rd, DATA + off, 4) == 0 &&
             num(t.text, "offset_after") == off + 4;
        free(rd);
    }
    snprintf(key, sizeof key, "%sshown", pfx);
    claim(&c->claims, key, ok);
    run_result_free(&r);
    child_free(&t);
}

static void part2(struct ctx *c)
{
    puts("\n# Part 2: pidfd_open + pidfd_getfd — take an fd out of another process's table");
    puts("The target opens a file and prints its pid and fd number; the taker duplicates");
    puts("that descriptor. The kernel asks ptrace's question: may the taker ATTACH to the target?");
    FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
    c->yama = -1;
    if (f) {
        if (fscanf(f, "%ld", &c->yama) != 1)
            c->yama = -1;
        fclose(f);
        kv_print("yama.ptrace_scope", "%ld", c->yama);
    } else {
        kv_print("yama.ptrace_scope", "absent");
    }
    kv_print("lab.euid", "%u", (unsigned)geteuid());
    f = fopen("/proc/sys/fs/suid_dumpable", "re");
    long sd = -1;
    if (f) {
        if (fscanf(f, "%ld", &sd) != 1)
            sd = -1;
        fclose(f);
    }
    kv_print("fs.suid_dumpable", "%ld", sd); /* what a setuid() sets "dumpable" to */
    const struct pscen sc[] = {
        {"same", 0, 0, 0, "same user: the copy is the same open file, with one shared offset"},
        {"other_uid", 0, 0, 1, "the taker as nobody, the target as root: refused (EPERM)"},
        {"nondump", 0, 1, 0, "target non-dumpable (prctl), taker is us: root's CAP_SYS_PTRACE "
                             "still succeeds, a plain user is refused"},
        {"nobody", 1, 0, 1, "both nobody, target dumpable again after its setuid: allowed"},
        {"nobody_nondump", 1, 1, 1, "both nobody, target non-dumpable: refused (no CAP_SYS_PTRACE)"},
    };
    for (size_t i = 0; i < sizeof sc / sizeof sc[0]; i++)
        pidfd_scenario(c, &sc[i]);
}

/* ------------------------------------------------------------------ part 3 */

/* peerpidfd runs the race in a PID namespace of its own and prints race.* / fix.*;
 * "skipped=" when it cannot (no CAP_SYS_ADMIN nor user namespaces, kernel < 6.5). */
static void part3(struct ctx *c)
{
    puts("\n# Part 3: who is my peer? SO_PEERCRED's pid can be reused; a pidfd cannot");
    puts("A server checks its peer (pid 300 in a PID namespace of its own), the peer dies and is");
    puts("reaped, an impostor is created at pid 300; then the server acts on what it checked.");
    struct run_result r = {0};
    char *argv[] = {"peerpidfd", "-P", "300", NULL};
    int ran = run(c, &r, argv) == 0;
    if (ran)
        kv_forward("peerpidfd.", r.out, NULL);
    char *skip = ran ? kv_get(r.out, "skipped") : NULL;
    if (skip) {
        printf("skipped: %s\n", skip);
        free(skip);
    } else {
        const char *o = ran ? r.out : "";
        claim(&c->claims, "peerpidfd.race.shown",
              ran && client_ok(&r) && num(o, "race.check.peercred_pid") == 300 &&
                  kv_is(o, "race.check.proc_comm", "victim") && num(o, "race.impostor_pid") == 300 &&
                  kv_is(o, "race.act.proc_comm", "impostor") && kv_is(o, "race.act.kill", "delivered") &&
                  num(o, "race.impostor.got_sigusr1") == 1);
        claim(&c->claims, "peerpidfd.fix.shown",
              ran && client_ok(&r) && kv_is(o, "fix.so_peerpidfd.send_signal", "ESRCH") &&
                  kv_is(o, "fix.scm_pidfd.send_signal", "ESRCH") &&
                  num(o, "fix.so_peerpidfd.pid") == -1 && num(o, "fix.scm_pidfd.pid") == -1 &&
                  num(o, "fix.impostor.got_sigusr2") == 0);
        puts("The number named the impostor (/proc, pidfd_open, kill all reached it); the pidfds");
        puts("taken at check time refer to the dead victim: ESRCH, and the impostor got nothing.");
    }
    run_result_free(&r);
}

int main(int argc, char **argv)
{
    struct ctx c = {0};
    unsigned part = 0, nreq = 200;
    int opt;
    while ((opt = getopt(argc, argv, "p:N:")) != -1) {
        if (opt == 'p' && parse_uint(optarg, &part) == 0 && part <= 3)
            ;
        else if (opt == 'N' && parse_uint(optarg, &nreq) == 0 && nreq > 0 && nreq <= 100000)
            ;
        else
            die_msg("usage: lab [-p 1|2|3] [-N requests]");
    }
    if (self_dir(c.dir, sizeof c.dir) < 0)
        die("find my directory");
    c.root = geteuid() == 0;
    puts("Lab 04: handing open files to UNRELATED processes.");
    kv_print("root", "%d", c.root);
    setup_files(&c);
    if (part == 0 || part == 1)
        part1(&c, nreq);
    if (part == 0 || part == 2)
        part2(&c);
    if (part == 0 || part == 3)
        part3(&c);
    cleanup_files(&c);
    kv_print("claims_shown", "%d", c.claims.held);
    kv_print("claims_total", "%d", c.claims.made);
    return claims_held(&c.claims) && c.claims.made > 0 ? 0 : 1;
}
