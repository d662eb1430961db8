/* peerpidfd — lab 04, part 3: the PID-reuse race of SO_PEERCRED, and its fix.
 *
 * Usage: peerpidfd [-P PID]   (the PID to recycle, default 300)
 *
 * A server that checks its peer with SO_PEERCRED gets a NUMBER. If it later acts on
 * that number (kill, pidfd_open, /proc/PID) and the peer has died and been reaped
 * meanwhile, the number may name another process. To make that happen every time,
 * everything runs in a new PID (and mount) namespace, whose init is this program's
 * child and the server; with clone3(2)'s set_tid (Linux 5.5) it creates its peer
 * ("victim") AT PID P, then, after the victim died and was reaped, an "impostor" at
 * the same P. The window is not narrowed by chance: it is the order of events.
 *
 * The server records, at check time (the victim alive, connected, its message read):
 *   SO_PEERCRED   the pid (a number)
 *   SO_PEERPIDFD  a pidfd for the peer (Linux 6.5): a reference to THAT process
 *   SCM_PIDFD     a pidfd per message (SO_PASSPIDFD on the socket, Linux 6.5)
 * and later acts on each: the number reaches the impostor (/proc/P names it, kill
 * delivers SIGUSR1 to it); the pidfds refuse (pidfd_send_signal: ESRCH; fdinfo Pid:
 * -1), and the impostor reports that no SIGUSR2 reached it.
 *
 * Prints key=value lines (race.*, fix.*); "skipped=<reason>" and exit 0 when the
 * namespace cannot be made (needs CAP_SYS_ADMIN, or unprivileged user namespaces)
 * or the kernel lacks a feature (the reason names the call and the kernel version);
 * exit 1 on a failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "io.h"
#include "kv.h"
#include "lib/drop.h"

#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76 /* Linux 6.5, include/uapi/asm-generic/socket.h */
#endif
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif

/* clone3 with set_tid = {pid}: the child gets exactly that PID in our namespace. */
static pid_t spawn_at(pid_t pid)
{
    pid_t tid[1] = {pid};
    struct clone_args a = {.exit_signal = SIGCHLD, .set_tid = (uint64_t)(uintptr_t)tid,
                           .set_tid_size = 1};
    fflush(stdout);
    return (pid_t)syscall(SYS_clone3, &a, sizeof a);
}

/* The "Pid:" field of a pidfd's fdinfo: the process it refers to, -1 once it is gone. */
static long pidfd_pid(int pidfd)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0 && close(fd) < 0)
        die("close");
    if (n <= 0)
        return -999;
    buf[n] = '\0';
    char *p = strstr(buf, "\nPid:");
    return p ? strtol(p + 5, NULL, 10) : -999;
}

static void comm_of(pid_t pid, char *out, size_t len)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, out, len - 1);
    if (fd >= 0 && close(fd) < 0)
        die("close");
    if (n <= 0) {
        snprintf(out, len, "%s", fd < 0 ? errno_name(errno) : "empty");
        return;
    }
    out[n] = '\0';
    out[strcspn(out, "\n")] = '\0';
}

/* An abstract name unique to this run: abstract names belong to the network namespace,
 * which the run shares with any other run of the lab, so it carries `tag`, the PID of
 * peerpidfd itself outside the new PID namespace (inside it, getppid() is 0 for all). */
static int listen_abstract(struct sockaddr_un *sa, socklen_t *len, pid_t tag)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    int n = snprintf(sa->sun_path + 1, sizeof sa->sun_path - 1, "fdlab04-peerpidfd-%d",
                     (int)tag);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    if (fd < 0 || bind(fd, (struct sockaddr *)sa, *len) < 0 || listen(fd, 4) < 0)
        die("listen on the abstract name");
    /* Accepted sockets inherit it: every message then carries the sender's pidfd. */
    if (setsockopt(fd, SOL_SOCKET, SO_PASSPIDFD, &one, sizeof one) < 0)
        die("setsockopt SO_PASSPIDFD");
    return fd;
}

/* The victim: connect, say hello, wait until told to die (EOF on cmd). */
static void victim(const struct sockaddr_un *sa, socklen_t len, int cmd)
{
    if (prctl(PR_SET_NAME, "victim") < 0)
        die("prctl");
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)sa, len) < 0 || write(fd, "hello", 5) != 5)
        die("victim: connect and send");
    char b;
    if (wait_readable(cmd, 10000) <= 0 || read(cmd, &b, 1) < 0)
        die("victim: wait");
    _exit(0);
}

/* The impostor: takes the victim's PID, reports ready, waits (<= 5 s) for SIGUSR1,
 * then reports whether a SIGUSR2 had arrived before it ("12" = both, "1" = usr1). */
static void impostor(int rep)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGUSR2);
    if (prctl(PR_SET_NAME, "impostor") < 0 || sigprocmask(SIG_BLOCK, &s, NULL) < 0 ||
        write(rep, "r", 1) != 1)
        die("impostor: set-up");
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, SIGUSR1);
    struct timespec ts = {.tv_sec = 5};
    int got1 = sigtimedwait(&one, NULL, &ts) == SIGUSR1;
    sigset_t pend;
    if (sigpending(&pend) < 0)
        die("sigpending");
    char r[2] = {got1 ? '1' : '0', sigismember(&pend, SIGUSR2) ? '1' : '0'};
    if (write(rep, r, 2) != 2)
        die("impostor: report");
    _exit(0);
}

/* Reads the victim's message; returns the SCM_PIDFD descriptor (or -1, errno). */
static int recv_with_pidfd(int cfd)
{
    char buf[16];
    union {
        char b[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
                       .msg_controllen = sizeof u.b};
    if (recvmsg(cfd, &m, MSG_CMSG_CLOEXEC) != 5)
        die("recvmsg hello");
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_PIDFD) {
            int fd;
            memcpy(&fd, CMSG_DATA(c), sizeof fd);
            return fd;
        }
    errno = ENOMSG;
    return -1;
}

static const char *sig_result(int r)
{
    return r == 0 ? "delivered" : errno_name(errno);
}

/* The namespace's init: the server. */
static int server(pid_t P, pid_t tag)
{
    /* Our own /proc, so that /proc/P names processes of THIS namespace. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        die("mount /proc in the new namespaces");
    struct sockaddr_un sa;
    socklen_t salen;
    int lfd = listen_abstract(&sa, &salen, tag), cmd[2], rep[2];
    if (pipe2(cmd, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0)
        die("pipe2");
    kv_print("race.my_pid_in_namespace", "%d", (int)getpid());

    /* 1. The victim, at PID P, connects and sends; we check it. */
    pid_t v = spawn_at(P);
    if (v < 0) {
        kv_print("skipped", "clone3 set_tid: %s (needs Linux 5.5 and CAP_SYS_ADMIN in the "
                 "namespace)", errno_name(errno));
        return 0;
    }
    if (v == 0) {
        if (close(cmd[1]) < 0)
            die("close");
        victim(&sa, salen, cmd[0]);
    }
    int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (cfd < 0)
        die("accept4");
    struct ucred cr;
    socklen_t l = sizeof cr;
    if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0)
        die("SO_PEERCRED");
    int peer_pidfd;
    l = sizeof peer_pidfd;
    if (getsockopt(cfd, SOL_SOCKET, SO_PEERPIDFD, &peer_pidfd, &l) < 0) {
        kv_print("skipped", "getsockopt SO_PEERPIDFD: %s (needs Linux 6.5)", errno_name(errno));
        return 0;
    }
    int msg_pidfd = recv_with_pidfd(cfd);
    if (msg_pidfd < 0) {
        kv_print("skipped", "no SCM_PIDFD on the message (needs Linux 6.5)");
        return 0;
    }
    char comm[32];
    comm_of(cr.pid, comm, sizeof comm);
    kv_print("race.victim_pid", "%d", (int)v);
    kv_print("race.check.peercred_pid", "%d", (int)cr.pid);
    kv_print("race.check.proc_comm", "%s", comm);
    kv_print("race.check.peer_pidfd_pid", "%ld", pidfd_pid(peer_pidfd));
    kv_print("race.check.scm_pidfd_pid", "%ld", pidfd_pid(msg_pidfd));

    /* 2. The victim dies and is reaped: P is free. */
    if (close(cmd[1]) < 0 || close(cmd[0]) < 0)
        die("close");
    int st;
    if (waitpid(v, &st, 0) != v)
        die("waitpid victim");
    kv_print("race.victim_reaped", "1");

    /* 3. The impostor takes P. */
    pid_t imp = spawn_at(P);
    if (imp < 0)
        die("clone3 the impostor at %d", (int)P);
    if (imp == 0) {
        if (close(rep[0]) < 0)
            die("close");
        impostor(rep[1]);
    }
    if (close(rep[1]) < 0)
        die("close");
    char r[2];
    if (read_full(rep[0], r, 1, 10000) != 1)
        die("impostor not ready");
    kv_print("race.impostor_pid", "%d", (int)imp);

    /* 4. Acting on what was checked. The pidfds first (SIGUSR2), then the number. */
    int e1 = pidfd_send_signal(peer_pidfd, SIGUSR2, NULL, 0);
    kv_print("fix.so_peerpidfd.send_signal", "%s", sig_result(e1));
    kv_print("fix.so_peerpidfd.pid", "%ld", pidfd_pid(peer_pidfd));
    int e2 = pidfd_send_signal(msg_pidfd, SIGUSR2, NULL, 0);
    kv_print("fix.scm_pidfd.send_signal", "%s", sig_result(e2));
    kv_print("fix.scm_pidfd.pid", "%ld", pidfd_pid(msg_pidfd));
    comm_of(cr.pid, comm, sizeof comm);
    kv_print("race.act.proc_comm", "%s", comm);
    int fresh = pidfd_open(cr.pid, 0);
    kv_print("race.act.pidfd_open", "%s", fresh >= 0 ? "ok" : errno_name(errno));
    if (fresh >= 0) {
        kv_print("race.act.pidfd_open_pid", "%ld", pidfd_pid(fresh));
        if (close(fresh) < 0)
            die("close");
    }
    kv_print("race.act.kill", "%s", sig_result(kill(cr.pid, SIGUSR1)));
    if (read_full(rep[0], r, 2, 10000) != 2)
        die("impostor report");
    kv_print("race.impostor.got_sigusr1", "%c", r[0]);
    kv_print("fix.impostor.got_sigusr2", "%c", r[1]);
    if (waitpid(imp, &st, 0) != imp)
        die("waitpid impostor");
    if (close(rep[0]) < 0 || close(cfd) < 0 || close(lfd) < 0 || close(peer_pidfd) < 0 ||
        close(msg_pidfd) < 0)
        die("close");
    return 0;
}

int main(int argc, char **argv)
{
    unsigned P = 300;
    int opt;
    while ((opt = getopt(argc, argv, "P:")) != -1)
        if (opt != 'P' || parse_uint(optarg, &P) < 0 || P < 2 || P > 32768)
            die_msg("usage: peerpidfd [-P PID (2..32768)]");
    /* A PID namespace of our own (and a mount namespace for its /proc). Root: directly;
     * otherwise inside a new user namespace, where we hold CAP_SYS_ADMIN. */
    const char *how = "pid+mnt";
    if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0) {
        int e = errno;
        how = "user+pid+mnt";
        if (unshare(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS) < 0) {
            kv_print("skipped", "unshare(CLONE_NEWPID): %s; as a user: %s (needs CAP_SYS_ADMIN "
                     "or unprivileged user namespaces)", errno_name(e), errno_name(errno));
            return 0;
        }
    }
    kv_print("namespaces", "%s", how);
    kv_print("recycled_pid", "%u", P);
    fflush(stdout);
    pid_t self = getpid(); /* still the outer PID: unshare moves only our children */
    pid_t init = fork();
    if (init < 0)
        die("fork the namespace's init");
    if (init == 0)
        _exit(server((pid_t)P, self));
    int rc = reap_bounded(init, 30000);
    /* Our children belong to the namespace, dead now that its init has exited: this
     * process can create none, so it ends without atexit work (a leak checker that
     * forks a helper, as LeakSanitizer does, would fail). Nothing here is allocated. */
    fflush(stdout);
    _exit(rc == 0 ? 0 : 1);
}
