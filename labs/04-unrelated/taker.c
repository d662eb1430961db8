/* taker.c — duplicates a descriptor out of another, unrelated process with
 * pidfd_open(2) + pidfd_getfd(2) (Linux >= 5.6), then reads through it.
 *
 * Usage: taker -p pid -f fd [-U uid -G gid] [-k bytes]
 *   -U/-G  drop to uid/gid first (then no CAP_SYS_PTRACE, other uid than a root target).
 *   -k     bytes to read through the copy (default 4).
 * Output: uid, cap_sys_ptrace (0/1, our effective set), pidfd_open=ok|<ERRNO>,
 *   getfd=ok|<ERRNO> (the access check is ptrace's PTRACE_MODE_ATTACH_REALCREDS);
 *   on success: fd, cloexec (pidfd_getfd sets FD_CLOEXEC), dev, ino, kcmp (0 = same
 *   open file description as the target's fd, kcmp(2) KCMP_FILE), offset_before,
 *   read (the bytes read), offset_after.
 * Exit 0 when the syscalls ran (EPERM is an answer, not a failure), 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"
#include "kcmp.h"
#include "kv.h"
#include "lib/drop.h"

int main(int argc, char **argv)
{
    unsigned pid = 0, tfd = 0, uid = 0, gid = 0, nread = 4;
    int have = 0, drop = 0, opt;
    while ((opt = getopt(argc, argv, "p:f:U:G:k:")) != -1) {
        if (opt == 'p' && parse_uint(optarg, &pid) == 0)
            have |= 1;
        else if (opt == 'f' && parse_uint(optarg, &tfd) == 0)
            have |= 2;
        else if (opt == 'U' && parse_uint(optarg, &uid) == 0)
            drop |= 1;
        else if (opt == 'G' && parse_uint(optarg, &gid) == 0)
            drop |= 2;
        else if (opt == 'k' && parse_uint(optarg, &nread) == 0 && nread <= 256)
            ;
        else
            die_msg("usage: taker -p pid -f fd [-U uid -G gid] [-k bytes]");
    }
    if (have != 3 || (drop && drop != 3))
        die_msg("need -p pid and -f fd; -U together with -G");
    if (drop && drop_privs(uid, gid) < 0)
        die("drop privileges to %u:%u", uid, gid);
    kv_print("uid", "%u", (unsigned)getuid());
    kv_print("cap_sys_ptrace", "%d", cap_sys_ptrace());

    /* pidfd_open needs no permission: it only names the process, race-free. */
    int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
    kv_print("pidfd_open", "%s", pidfd >= 0 ? "ok" : errno_name(errno));
    if (pidfd < 0)
        return 1;
    int fd = (int)syscall(SYS_pidfd_getfd, pidfd, (int)tfd, 0);
    int e = errno;
    close(pidfd);
    kv_print("getfd", "%s", fd >= 0 ? "ok" : errno_name(e));
    if (fd < 0)
        return e == EPERM || e == EACCES || e == ENOSYS ? 0 : 1;

    int fdfl = fcntl(fd, F_GETFD);
    struct stat st;
    if (fdfl < 0 || fstat(fd, &st) < 0)
        die("inspect the taken fd");
    kv_print("fd", "%d", fd);
    kv_print("cloexec", "%d", (fdfl & FD_CLOEXEC) ? 1 : 0);
    kv_print("dev", "%lu", (unsigned long)st.st_dev);
    kv_print("ino", "%lu", (unsigned long)st.st_ino);
    int k = kcmp_file(getpid(), (pid_t)pid, fd, (int)tfd);
    if (k >= 0)
        kv_print("kcmp", "%d", k);
    else
        kv_print("kcmp", "%s", errno_name(errno));
    off_t off = lseek(fd, 0, SEEK_CUR);
    if (off < 0)
        die("lseek the taken fd");
    kv_print("offset_before", "%lld", (long long)off);
    char buf[257];
    ssize_t n = read(fd, buf, nread);
    if (n < 0)
        die("read through the taken fd");
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] < 0x20 || buf[i] > 0x7e)
            buf[i] = '?';
    buf[n] = '\0';
    kv_print("read", "%s", buf);
    if ((off = lseek(fd, 0, SEEK_CUR)) < 0)
        die("lseek the taken fd after reading");
    kv_print("offset_after", "%lld", (long long)off);
    close(fd);
    return 0;
}
