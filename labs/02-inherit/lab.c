/* lab 02 — what fork() gives a child, and what it cannot.
 *
 * Three scenarios (-s before|offset|after|all, default all):
 *   before  a connection accepted BEFORE fork(): the child writes to it, the client
 *           receives it, and kcmp(KCMP_FILE) says parent and child hold the same open
 *           file description (status flags shared, descriptor flags not).
 *   offset  a regular file opened before fork(): the child writes and seeks, and the
 *           parent's offset moves; a fresh open() of the same file in the child does not.
 *   after   a connection accepted AFTER fork(): the same number in the child is either
 *           not open (EBADF) or, when the child has reused it, a different open file
 *           (kcmp != 0) — the child writes into an unrelated file, the client gets nothing.
 * Every result is a key=value line; the exit code is 0 only when every claim held.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "claim.h"
#include "err.h"
#include "fdcount.h"
#include "fdsnap.h"
#include "forkflush.h"
#include "io.h"
#include "kcmp.h"
#include "kv.h"
#include "sock.h"

/* Every wait in this lab is bounded by this; the lab finishes in well under a second. */
#define WAIT_MS 10000

/* The one per-process context: did every claim hold? */
struct lab {
    struct claims claims;
    struct fdsnap *snap; /* the picture (FDLAB_DRAW set), else NULL */
};

/* A connected pair over a loopback listener: *cli is the client end, the return
 * value the accepted server end. The listener is closed before returning. */
static int accept_pair(int *cli)
{
    uint16_t port;
    int lfd = tcp_listen_loopback(8, SOCK_CLOEXEC, &port);
    if (lfd < 0)
        die("tcp_listen_loopback");
    *cli = tcp_connect("127.0.0.1", port, SOCK_CLOEXEC);
    if (*cli < 0)
        die("tcp_connect 127.0.0.1:%u", port);
    int conn = accept(lfd, NULL, NULL); /* plain accept: FD_CLOEXEC starts clear */
    if (conn < 0)
        die("accept");
    close(lfd);
    return conn;
}

/* The child blocks here until the parent has inspected it (kcmp needs it alive):
 * the parent closes its end of the pipe, the child sees EOF. */
static void child_wait_release(int rd)
{
    char c;
    if (read_full(rd, &c, 1, WAIT_MS) != 0)
        die_msg("child: expected the parent to release me");
}

static void pipe_or_die(int p[2])
{
    if (pipe2(p, O_CLOEXEC) < 0)
        die("pipe2");
}

/* ------------------------------------------------------------------ before */
struct before_report {
    int fd_open;         /* fcntl(F_GETFD) worked in the child */
    ssize_t wrote;       /* write() of the greeting in the child */
    int write_errno;
};

static void before_child(int conn, int cli, int rel, int rep)
{
    close(cli); /* the child is the server side only */
    struct before_report r = {0};
    r.fd_open = fcntl(conn, F_GETFD) != -1;
    char msg[64];
    int n = snprintf(msg, sizeof msg, "hello from child %d\n", (int)getpid());
    r.wrote = write(conn, msg, (size_t)n);
    r.write_errno = r.wrote < 0 ? errno : 0;
    /* O_NONBLOCK is a file STATUS flag (kept in the open file description);
     * FD_CLOEXEC is a DESCRIPTOR flag (kept in this process's fd table entry). */
    int fl = fcntl(conn, F_GETFL);
    if (fl < 0 || fcntl(conn, F_SETFL, fl | O_NONBLOCK) < 0)
        die("child: F_SETFL O_NONBLOCK");
    if (fcntl(conn, F_SETFD, FD_CLOEXEC) < 0)
        die("child: F_SETFD FD_CLOEXEC");
    if (write(rep, &r, sizeof r) != (ssize_t)sizeof r)
        die("child: report");
    child_wait_release(rel);
    _exit(0);
}

static void scenario_before(struct lab *lab)
{
    puts("# before: accept(), then fork(): the child inherits the connection");
    int cli;
    int conn = accept_pair(&cli);
    int rel[2], rep[2];
    pipe_or_die(rel);
    pipe_or_die(rep);
    if (lab->snap) { /* picture: the parent alone, before fork() */
        fdsnap_panel(lab->snap, "1. accept(), before fork(): one table");
        fdsnap_fds(lab->snap, fdsnap_proc(lab->snap, getpid(), "the parent"), conn, "the accepted connection", -1);
    }
    pid_t pid = fork_or_die();
    if (pid == 0) {
        close(rel[1]);
        close(rep[0]);
        before_child(conn, cli, rel[0], rep[1]);
    }
    close(rel[0]);
    close(rep[1]);
    struct before_report r;
    if (read_full(rep[0], &r, sizeof r, WAIT_MS) != (ssize_t)sizeof r)
        die("before: child report");
    char line[128];
    if (read_line(cli, line, sizeof line, WAIT_MS) < 0)
        die("before: client read");
    char want[64];
    snprintf(want, sizeof want, "hello from child %d", (int)pid);
    /* The child is still alive (blocked on rel): compare its fd with ours. */
    int k = kcmp_file(getpid(), pid, conn, conn);
    int k_errno = k < 0 ? errno : 0;
    int k_other = kcmp_file(getpid(), pid, conn, rel[0]); /* control: the child's pipe end */
    if (lab->snap) { /* picture: both tables while the child is alive */
        fdsnap_panel(lab->snap, "2. after fork(): two tables, one description (O_NONBLOCK set by the child)");
        fdsnap_fds(lab->snap, fdsnap_proc(lab->snap, getpid(), "the parent"), conn, "the accepted connection", -1);
        fdsnap_fds(lab->snap, fdsnap_proc(lab->snap, pid, "the child"), conn, "inherited", -1);
    }
    int fl = fcntl(conn, F_GETFL), fdfl = fcntl(conn, F_GETFD);
    if (fl < 0 || fdfl < 0)
        die("before: fcntl");
    close(rel[1]);
    int code = reap_bounded(pid, WAIT_MS);

    kv_print("before.parent_fd", "%d", conn);
    kv_print("before.child_fd_open", "%d", r.fd_open);
    kv_print("before.child_wrote", "%zd", r.wrote);
    kv_print("before.client_received", "%s", line);
    kv_print("before.client_got_child_greeting", "%d", strcmp(line, want) == 0);
    kv_print("before.kcmp_file", "%d", k);
    if (k < 0)
        kv_print("before.kcmp_errno", "%s", errno_name(k_errno));
    kv_print("before.kcmp_other_file", "%d", k_other);
    kv_print("before.same_open_file_description", "%s", k == 0 ? "yes" : "no");
    kv_print("before.status_flag_shared", "%d", (fl & O_NONBLOCK) != 0);
    kv_print("before.fd_flag_shared", "%d", (fdfl & FD_CLOEXEC) != 0);
    kv_print("before.child_exit", "%d", code);
    claim_quiet(&lab->claims, r.fd_open && r.wrote == (ssize_t)strlen(want) + 1,
                "child wrote on the inherited fd");
    claim_quiet(&lab->claims, strcmp(line, want) == 0, "client received the child's greeting");
    claim_quiet(&lab->claims, k == 0, "kcmp(KCMP_FILE) == 0 for the inherited fd");
    claim_quiet(&lab->claims, k_other > 0, "kcmp tells different open files apart");
    claim_quiet(&lab->claims, (fl & O_NONBLOCK) != 0, "O_NONBLOCK set by the child is seen by the parent");
    claim_quiet(&lab->claims, (fdfl & FD_CLOEXEC) == 0,
                "FD_CLOEXEC set by the child is not seen by the parent");
    claim_quiet(&lab->claims, code == 0, "before: child exited 0");
    close(conn);
    close(cli);
    close(rep[0]);
}

/* ------------------------------------------------------------------ offset */
enum { OFF_WRITE = 100, OFF_SEEK = 23, OFF_REOPEN_WRITE = 50 };

struct offset_report {
    int reopen_fd;       /* the child's own open() of the same file */
    off_t reopen_offset; /* its offset after writing OFF_REOPEN_WRITE bytes */
};

static void offset_child(int fd, int rel, int rep)
{
    char buf[OFF_WRITE];
    memset(buf, 'c', sizeof buf);
    if (write(fd, buf, OFF_WRITE) != OFF_WRITE)
        die("child: write shared fd");
    if (lseek(fd, OFF_SEEK, SEEK_CUR) < 0)
        die("child: lseek shared fd");
    /* open() creates a NEW open file description, even for the same inode; the
     * /proc/self/fd link reaches the (already unlinked) file. */
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    struct offset_report r;
    r.reopen_fd = open(path, O_WRONLY | O_CLOEXEC);
    if (r.reopen_fd < 0)
        die("child: open %s", path);
    if (write(r.reopen_fd, buf, OFF_REOPEN_WRITE) != OFF_REOPEN_WRITE)
        die("child: write reopened fd");
    if ((r.reopen_offset = lseek(r.reopen_fd, 0, SEEK_CUR)) < 0)
        die("child: lseek reopened fd");
    if (write(rep, &r, sizeof r) != (ssize_t)sizeof r)
        die("child: report");
    child_wait_release(rel);
    _exit(0);
}

static void scenario_offset(struct lab *lab)
{
    puts("# offset: a file opened before fork() shares ONE offset with the child");
    char path[] = "/tmp/fdlab-02-XXXXXX";
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        die("mkostemp");
    if (unlink(path) < 0) /* nothing to clean up later, whatever happens */
        die("unlink %s", path);
    off_t before = lseek(fd, 0, SEEK_CUR);
    if (before < 0)
        die("offset: lseek");
    int rel[2], rep[2];
    pipe_or_die(rel);
    pipe_or_die(rep);
    pid_t pid = fork_or_die();
    if (pid == 0) {
        close(rel[1]);
        close(rep[0]);
        offset_child(fd, rel[0], rep[1]);
    }
    close(rel[0]);
    close(rep[1]);
    struct offset_report r;
    if (read_full(rep[0], &r, sizeof r, WAIT_MS) != (ssize_t)sizeof r)
        die("offset: child report");
    off_t after = lseek(fd, 0, SEEK_CUR);
    if (after < 0)
        die("offset: lseek after the child");
    int k_same = kcmp_file(getpid(), pid, fd, fd);
    int k_reopen = kcmp_file(getpid(), pid, fd, r.reopen_fd);
    close(rel[1]);
    int code = reap_bounded(pid, WAIT_MS);

    kv_print("offset.parent_before", "%lld", (long long)before);
    kv_print("offset.child_wrote", "%d", OFF_WRITE);
    kv_print("offset.child_seeked", "%d", OFF_SEEK);
    kv_print("offset.parent_after", "%lld", (long long)after);
    kv_print("offset.shared", "%d", after == before + OFF_WRITE + OFF_SEEK);
    kv_print("offset.kcmp_file", "%d", k_same);
    kv_print("offset.reopen_child_offset", "%lld", (long long)r.reopen_offset);
    kv_print("offset.reopen_kcmp_file", "%d", k_reopen);
    kv_print("offset.reopen_same_open_file_description", "%s", k_reopen == 0 ? "yes" : "no");
    claim_quiet(&lab->claims, before == 0 && after == OFF_WRITE + OFF_SEEK,
                "the child moved the parent's offset");
    claim_quiet(&lab->claims, k_same == 0, "kcmp == 0 for the inherited file");
    claim_quiet(&lab->claims, r.reopen_offset == OFF_REOPEN_WRITE && k_reopen > 0,
          "a fresh open() has its own offset and is another open file description");
    claim_quiet(&lab->claims, code == 0, "offset: child exited 0");
    close(fd);
    close(rep[0]);
}

/* ------------------------------------------------------------------ after */
struct after_report {
    int fd;           /* reuse mode: the number the child's own file got */
    int fcntl_errno;  /* 0 when fcntl(F_GETFD) on the parent's number worked */
    ssize_t wrote;    /* write() of a greeting to the parent's number */
    int write_errno;
    long long unrelated_size; /* reuse mode: size of the child's own file afterwards */
};

static void after_child(int reuse, const int numpipe[2], const int relpipe[2], const int reppipe[2])
{
    struct after_report r = {.fd = -1};
    if (reuse) {
        /* Right after fork() the child's table equals the parent's, so the lowest
         * free number here is the one the parent's accept() is about to get. This
         * must come before the child closes anything. */
        char path[] = "/tmp/fdlab-02-XXXXXX";
        r.fd = mkostemp(path, O_CLOEXEC);
        if (r.fd < 0)
            die("child: mkostemp");
        if (unlink(path) < 0)
            die("child: unlink %s", path);
    }
    close(numpipe[1]);
    close(relpipe[1]);
    close(reppipe[0]);
    int num = numpipe[0], rel = relpipe[0], rep = reppipe[1];
    int n; /* the seed's mistake: the parent hands over a NUMBER */
    if (read_full(num, &n, sizeof n, WAIT_MS) != (ssize_t)sizeof n)
        die("child: read the fd number");
    r.fcntl_errno = fcntl(n, F_GETFD) < 0 ? errno : 0;
    static const char msg[] = "hello from child\n";
    r.wrote = write(n, msg, sizeof msg - 1);
    r.write_errno = r.wrote < 0 ? errno : 0;
    if (reuse) {
        struct stat st;
        if (fstat(r.fd, &st) < 0)
            die("child: fstat");
        r.unrelated_size = (long long)st.st_size;
    }
    if (write(rep, &r, sizeof r) != (ssize_t)sizeof r)
        die("child: report");
    child_wait_release(rel);
    _exit(0);
}

static void after_mode(struct lab *lab, int reuse)
{
    const char *m = reuse ? "after.reuse" : "after.ebadf";
    char key[64];
    uint16_t port;
    int lfd = tcp_listen_loopback(8, SOCK_CLOEXEC, &port);
    if (lfd < 0)
        die("tcp_listen_loopback");
    int cli = tcp_connect("127.0.0.1", port, SOCK_CLOEXEC); /* queued, not yet accepted */
    if (cli < 0)
        die("tcp_connect");
    int num[2], rel[2], rep[2];
    pipe_or_die(num);
    pipe_or_die(rel);
    pipe_or_die(rep);
    pid_t pid = fork_or_die();
    if (pid == 0)
        after_child(reuse, num, rel, rep);
    /* Nothing may be opened between fork() and accept(): see after_child. */
    int conn = accept(lfd, NULL, NULL);
    if (conn < 0)
        die("accept");
    close(num[0]);
    close(rel[0]);
    close(rep[1]);
    if (write(num[1], &conn, sizeof conn) != (ssize_t)sizeof conn)
        die("%s: send the number", m);
    struct after_report r;
    if (read_full(rep[0], &r, sizeof r, WAIT_MS) != (ssize_t)sizeof r)
        die("%s: child report", m);
    int k = kcmp_file(getpid(), pid, conn, conn);
    int k_errno = k < 0 ? errno : 0;
    if (lab->snap && !reuse) { /* picture: a connection accepted after fork() */
        fdsnap_panel(lab->snap, "3. fork(), then accept(): the new connection is in one table only");
        fdsnap_fds(lab->snap, fdsnap_proc(lab->snap, getpid(), "the parent"), lfd, "listener, opened before fork()",
                   conn, "accepted after fork()", -1);
        fdsnap_fds(lab->snap, fdsnap_proc(lab->snap, pid, "the child"), lfd, "listener, inherited", conn,
                   "the parent's number: nothing here", -1);
    }
    close(rel[1]);
    int code = reap_bounded(pid, WAIT_MS);
    /* If the child's bytes had reached this connection they would come before ours:
     * the child's write() returned before we write. */
    static const char mark[] = "from parent\n";
    if (write(conn, mark, sizeof mark - 1) != (ssize_t)sizeof mark - 1)
        die("%s: parent write", m);
    char line[128];
    if (read_line(cli, line, sizeof line, WAIT_MS) < 0)
        die("%s: client read", m);

#define KV(suffix, ...) (snprintf(key, sizeof key, "%s.%s", m, suffix), kv_print(key, __VA_ARGS__))
    KV("parent_fd", "%d", conn);
    if (reuse)
        KV("child_own_fd", "%d", r.fd);
    KV("child_fcntl", "%s", r.fcntl_errno ? errno_name(r.fcntl_errno) : "ok");
    KV("child_write", "%s", r.wrote < 0 ? errno_name(r.write_errno) : "ok");
    if (reuse)
        KV("unrelated_file_size", "%lld", r.unrelated_size);
    KV("kcmp_file", "%d", k);
    if (k < 0)
        KV("kcmp_errno", "%s", errno_name(k_errno));
    KV("same_open_file_description", "%s", k == 0 ? "yes" : "no");
    KV("client_first_line", "%s", line);
#undef KV
    if (reuse) {
        claim_quiet(&lab->claims, r.fd == conn, "the child's own file got the parent's number");
        claim_quiet(&lab->claims, r.fcntl_errno == 0 && r.wrote == 17 && r.unrelated_size == 17,
              "the child's write went into its unrelated file");
        claim_quiet(&lab->claims, k > 0, "kcmp != 0: same number, different open file");
    } else {
        claim_quiet(&lab->claims, r.fcntl_errno == EBADF && r.write_errno == EBADF,
                    "the number is not open in the child");
        claim_quiet(&lab->claims, k < 0 && k_errno == EBADF, "kcmp fails with EBADF");
    }
    claim_quiet(&lab->claims, strcmp(line, "from parent") == 0, "the client got nothing from the child");
    claim_quiet(&lab->claims, code == 0, "after: child exited 0");
    close(conn);
    close(cli);
    close(lfd);
    close(num[1]);
    close(rep[0]);
}

static void scenario_after(struct lab *lab)
{
    puts("# after: fork(), then accept(): the child never had this connection");
    after_mode(lab, 0);
    after_mode(lab, 1);
}

static void usage(void)
{
    die_msg("usage: lab [-s before|offset|after|all]");
}

int main(int argc, char **argv)
{
    const char *which = "all";
    int c;
    while ((c = getopt(argc, argv, "s:")) != -1) {
        if (c == 's')
            which = optarg;
        else
            usage();
    }
    int all = strcmp(which, "all") == 0;
    if (!all && strcmp(which, "before") && strcmp(which, "offset") && strcmp(which, "after"))
        usage();

    puts("Lab 02: what a child inherits across fork() - and what it cannot.");
    puts("A descriptor open at fork() is copied into the child and points at the SAME");
    puts("open file description (socket, offset, status flags). One opened later exists");
    puts("only in the process that opened it: its number means nothing elsewhere.");
    struct lab lab = {0};
    if (fdsnap_drawing())
        lab.snap = fdsnap_new("Lab 02: what a child inherits across fork()");
    int fds_before = fd_count();
    if (all || !strcmp(which, "before"))
        scenario_before(&lab);
    if (all || !strcmp(which, "offset"))
        scenario_offset(&lab);
    if (all || !strcmp(which, "after"))
        scenario_after(&lab);
    int fds_after = fd_count();
    if (fdsnap_draw(lab.snap, "02-inherit") < 0)
        warn_errno("picture 02-inherit");
    fdsnap_free(lab.snap);
    kv_print("fds.leaked", "%d", fds_after - fds_before);
    claim_quiet(&lab.claims, fds_before >= 0 && fds_after == fds_before,
                "no descriptor leaked in the parent");
    if (all) {
        puts("Conclusion: inheritance only covers what was open at fork(). A server that");
        puts("accepts after forking its workers must PASS each connection (SCM_RIGHTS, lab 03).");
    }
    kv_print("result", "%s", claims_held(&lab.claims) ? "PASS" : "FAIL");
    return claims_held(&lab.claims) ? 0 : 1;
}
