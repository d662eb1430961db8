/* limits.c — passing many times, and the kernel's limits.
 *   churn   `passes` passes to a worker, each a fresh pipe's write end that the worker
 *           writes one byte into and closes; /proc/self/fd counts of sender and
 *           receiver are compared before and after.
 *   limits  SCM_MAX_FD: 253 descriptors in one message pass, 254 are EINVAL.
 *           ETOOMANYREFS: descriptors in flight are charged to the sending user;
 *           when that count exceeds the sender's RLIMIT_NOFILE, sendmsg() fails.
 *           Root is exempt (CAP_SYS_RESOURCE/CAP_SYS_ADMIN), so a child first
 *           becomes an otherwise unused uid (that also gives it its own count).
 *           Where it cannot (root in a user namespace: that uid is not mapped,
 *           setresuid() says EINVAL) the sub-check is skipped and says why
 *           (limits.etoomanyrefs.skipped=<call>:<ERRNO>) instead of failing.
 */
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "fdcount.h"
#include "fdpass.h"
#include "kv.h"
#include "lab03.h"

/* ------------------------------------------------------------------ churn */
enum { PASS = 1, BYE, COUNTS };

static void churn_worker(int ch)
{
    int before = fd_count();
    for (;;) {
        struct chmsg m;
        int fd;
        if (ch_recv(ch, &m, &fd, WAIT_MS) != 1)
            die("churn worker: recv");
        if (m.type == BYE)
            break;
        if (fd < 0 || write(fd, "k", 1) != 1)
            die("churn worker: pass %d", m.a);
        close(fd);
    }
    if (ch_send(ch, &(struct chmsg){COUNTS, before, fd_count()}, -1) < 0)
        die("churn worker: counts");
    close(ch);
    _exit(0);
}

void scn_churn(struct lab *lab, int passes)
{
    puts("# churn: many passes, /proc/self/fd counted in sender and receiver");
    int sv[2];
    seqpair_or_die(sv);
    pid_t pid = fork_or_die();
    if (pid == 0) {
        close(sv[0]);
        churn_worker(sv[1]);
    }
    close(sv[1]);
    int before = fd_count(), ok = 0;
    for (int i = 0; i < passes; i++) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
            die("pipe2");
        if (ch_send(sv[0], &(struct chmsg){PASS, i, 0}, p[1]) < 0)
            die("pass %d", i);
        close(p[1]);
        char c[2];
        /* The byte, then EOF: the worker wrote through the passed fd and closed it. */
        if (read_full(p[0], c, 2, WAIT_MS) == 1 && c[0] == 'k')
            ok++;
        close(p[0]);
    }
    int after = fd_count();
    struct chmsg m;
    if (ch_send(sv[0], &(struct chmsg){BYE, 0, 0}, -1) < 0 || ch_recv(sv[0], &m, NULL, WAIT_MS) != 1 ||
        m.type != COUNTS)
        die("churn: counts");
    int code = reap_bounded(pid, WAIT_MS);
    close(sv[0]);
    kv_print("churn.passes", "%d", passes);
    kv_print("churn.ok", "%d", ok);
    kv_print("churn.sender_fds_before", "%d", before);
    kv_print("churn.sender_fds_after", "%d", after);
    kv_print("churn.receiver_fds_before", "%d", m.a);
    kv_print("churn.receiver_fds_after", "%d", m.b);
    claim_quiet(&lab->claims, ok == passes && code == 0, "every pass reached the worker, which closed it");
    claim_quiet(&lab->claims, after == before && m.a == m.b, "counts unchanged in sender and receiver");
}

/* ------------------------------------------------------------------ limits */
/* sendmsg() with n copies of fd, bypassing send_fds()' own FDPASS_MAX check. */
static int raw_send_n(int sock, int fd, int n)
{
    union {
        char buf[CMSG_SPACE((FDPASS_MAX + 1) * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    if (n < 1 || n > FDPASS_MAX + 1) {
        errno = EINVAL;
        return -1;
    }
    memset(&ctl, 0, sizeof ctl);
    char c = 'n';
    struct iovec iov = {.iov_base = &c, .iov_len = 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                         .msg_controllen = CMSG_SPACE((size_t)n * sizeof(int))};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++)
        memcpy(CMSG_DATA(cm) + (size_t)i * sizeof(int), &fd, sizeof fd);
    return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

static void scm_max_fd(struct lab *lab)
{
    int base = fd_count();
    int sv[2];
    seqpair_or_die(sv);
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die("open /dev/null");
    int ok253 = raw_send_n(sv[0], fd, FDPASS_MAX) == 0;
    int e254 = raw_send_n(sv[0], fd, FDPASS_MAX + 1) == 0 ? 0 : errno;
    int got[FDPASS_MAX];
    size_t n = FDPASS_MAX;
    char c;
    if (ok253 && recv_fds(sv[1], got, &n, &c, 1) != 1)
        die("recv 253");
    close_fds(got, ok253 ? (int)n : 0);
    close(fd);
    close(sv[0]);
    close(sv[1]);
    kv_print("limits.scm_max_fd_253", "%s", ok253 ? "ok" : "failed");
    kv_print("limits.scm_max_fd_253_received", "%zu", ok253 ? n : 0);
    kv_print("limits.scm_max_fd_254", "%s", e254 ? errno_name(e254) : "ok");
    claim_quiet(&lab->claims, ok253 && n == FDPASS_MAX, "253 descriptors in one message");
    claim_quiet(&lab->claims, e254 == EINVAL, "254 descriptors in one message are EINVAL");
    claim_quiet(&lab->claims, fd_count() == base, "scm_max_fd: no descriptor leaked");
}

enum { NOFILE = 16 };

struct refs_report {
    int private_uid; /* 1 when the child runs as its own unused uid */
    int skip_call;   /* 0, or which call failed becoming that uid (skip_calls[]) */
    int skip_errno;        /* ... and its errno */
    int sent_ok;     /* one-fd messages accepted before the first failure */
    int err;         /* errno of that failure */
    int resend_ok;   /* a send after the receiver took one descriptor */
};

static void refs_child(int rep)
{
    struct refs_report r = {0};
    int sv[2];
    seqpair_or_die(sv);
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die("open /dev/null");
    if (geteuid() == 0) {
        /* Leaving uid 0 for good drops every capability; an unused uid has its
         * own in-flight count, untouched by anything else on the machine. */
        uid_t uid = (uid_t)(2000000000u + (unsigned)getpid() % 1000000u);
        if (setgroups(0, NULL) < 0)
            r.skip_call = 1;
        else if (setresgid(uid, uid, uid) < 0)
            r.skip_call = 2;
        else if (setresuid(uid, uid, uid) < 0)
            r.skip_call = 3;
        if (r.skip_call) {
            /* Root of a user namespace: uid 2000000000+ is not mapped (EINVAL), or
             * setgroups is denied (EPERM). Still "root" here, exempt or not depending
             * on the namespace: nothing to measure. Report, do not fail. */
            r.skip_errno = errno;
            goto out;
        }
        r.private_uid = 1;
    }
    struct rlimit rl = {NOFILE, NOFILE};
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        die("setrlimit");
    /* Nobody receives: every descriptor stays in flight. Bounded by the limit. */
    for (int i = 0; i < 4 * NOFILE; i++) {
        if (send_fds(sv[0], &fd, 1, "r", 1) != 1) {
            r.err = errno;
            break;
        }
        r.sent_ok++;
    }
    int got;
    size_t n = 1;
    char c;
    if (recv_fds(sv[1], &got, &n, &c, 1) == 1 && n == 1) {
        close(got);
        r.resend_ok = send_fds(sv[0], &fd, 1, "r", 1) == 1;
    }
out:
    /* Closing both ends frees every queued descriptor. */
    close(sv[0]);
    close(sv[1]);
    close(fd);
    if (write(rep, &r, sizeof r) != (ssize_t)sizeof r)
        die("report");
    _exit(0);
}

static void too_many_refs(struct lab *lab)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        die("pipe2");
    pid_t pid = fork_or_die();
    if (pid == 0) {
        close(p[0]);
        refs_child(p[1]);
    }
    close(p[1]);
    struct refs_report r;
    if (read_full(p[0], &r, sizeof r, WAIT_MS) != (ssize_t)sizeof r)
        die("etoomanyrefs: report");
    close(p[0]);
    int code = reap_bounded(pid, WAIT_MS);
    if (r.skip_call < 0 || r.skip_call > 3)
        die_msg("etoomanyrefs: malformed report");
    if (r.skip_call) {
        static const char *const skip_calls[] = {"", "setgroups", "setresgid", "setresuid"};
        kv_print("limits.etoomanyrefs.skipped", "%s:%s", skip_calls[r.skip_call], errno_name(r.skip_errno));
        claim_quiet(&lab->claims, code == 0, "etoomanyrefs: child exited 0");
        return;
    }
    kv_print("limits.etoomanyrefs.private_uid", "%d", r.private_uid);
    kv_print("limits.etoomanyrefs.rlimit_nofile", "%d", NOFILE);
    kv_print("limits.etoomanyrefs.sent_before_error", "%d", r.sent_ok);
    kv_print("limits.etoomanyrefs.errno", "%s", r.err ? errno_name(r.err) : "none");
    kv_print("limits.etoomanyrefs.send_after_one_received", "%s", r.resend_ok ? "ok" : "failed");
    claim_quiet(&lab->claims, r.err == ETOOMANYREFS && code == 0,
                "ETOOMANYREFS past RLIMIT_NOFILE in flight");
    /* The check is "in flight > limit" BEFORE adding: 0..NOFILE pass, one more fails. */
    claim_quiet(&lab->claims, r.private_uid ? r.sent_ok == NOFILE + 1 : r.sent_ok <= NOFILE + 1,
                "the limit is RLIMIT_NOFILE");
    claim_quiet(&lab->claims, r.resend_ok, "receiving one makes room for one more");
}

void scn_limits(struct lab *lab)
{
    puts("# limits: SCM_MAX_FD per message, RLIMIT_NOFILE in flight (ETOOMANYREFS)");
    scm_max_fd(lab);
    too_many_refs(lab);
}
