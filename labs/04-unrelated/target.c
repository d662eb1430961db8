/* target.c — a process that holds an open file, for another program to take it
 * with pidfd_getfd(2).
 *
 * Usage: target -f path [-k skip] [-U uid -G gid] [-D] [-t lifetime_s]
 *   -U/-G  drop to uid/gid first; a credential change makes a process non-dumpable
 *          (suid_dumpable, proc(5)), which we report, then set it back to 1 with
 *          prctl(PR_SET_DUMPABLE, 1) unless -D.
 *   -D     prctl(PR_SET_DUMPABLE, 0): only CAP_SYS_PTRACE holders may then take
 *          our descriptors (ptrace(2), "Ptrace access mode checking").
 *   -k     read this many bytes first (default 4), so the file offset is not 0.
 * Output: pid, uid, [dumpable_after_setuid], dumpable, fd, dev, ino, offset, then
 *   ready=1. Then it waits for EOF on stdin (bounded by -t, default 30 s) and prints
 *   offset_after: the offset of ITS descriptor after the taker read through its copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "kv.h"
#include "lib/drop.h"

int main(int argc, char **argv)
{
    const char *path = NULL;
    unsigned uid = 0, gid = 0, skip = 4, lifetime = 30;
    int drop = 0, nodump = 0, opt;
    while ((opt = getopt(argc, argv, "f:k:U:G:Dt:")) != -1) {
        if (opt == 'f')
            path = optarg;
        else if (opt == 'k' && parse_uint(optarg, &skip) == 0 && skip <= 4096)
            ;
        else if (opt == 'U' && parse_uint(optarg, &uid) == 0)
            drop |= 1;
        else if (opt == 'G' && parse_uint(optarg, &gid) == 0)
            drop |= 2;
        else if (opt == 'D')
            nodump = 1;
        else if (opt == 't' && parse_uint(optarg, &lifetime) == 0)
            ;
        else
            die_msg("usage: target -f path [-k skip] [-U uid -G gid] [-D] [-t lifetime_s]");
    }
    if (!path || (drop && drop != 3))
        die_msg("need -f path; -U together with -G");
    if (drop) {
        if (drop_privs(uid, gid) < 0)
            die("drop privileges to %u:%u", uid, gid);
        int d = prctl(PR_GET_DUMPABLE);
        if (d < 0)
            die("PR_GET_DUMPABLE");
        kv_print("dumpable_after_setuid", "%d", d);
        if (!nodump && prctl(PR_SET_DUMPABLE, 1) < 0)
            die("PR_SET_DUMPABLE 1");
    }
    if (nodump && prctl(PR_SET_DUMPABLE, 0) < 0)
        die("PR_SET_DUMPABLE 0");
    int dumpable = prctl(PR_GET_DUMPABLE);
    if (dumpable < 0)
        die("PR_GET_DUMPABLE");

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die("open %s", path);
    char buf[4096];
    if (skip && read(fd, buf, skip) != (ssize_t)skip)
        die("read %u bytes of %s", skip, path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        die("fstat");
    kv_print("pid", "%d", (int)getpid());
    kv_print("uid", "%u", (unsigned)getuid());
    kv_print("dumpable", "%d", dumpable);
    kv_print("fd", "%d", fd);
    kv_print("dev", "%lu", (unsigned long)st.st_dev);
    kv_print("ino", "%lu", (unsigned long)st.st_ino);
    off_t off = lseek(fd, 0, SEEK_CUR);
    if (off < 0)
        die("lseek %s", path);
    kv_print("offset", "%lld", (long long)off);
    kv_print("ready", "1");

    /* Hold the file open until the lab says we are done (EOF), or give up. */
    struct pollfd p = {STDIN_FILENO, POLLIN, 0};
    for (;;) {
        int n = poll(&p, 1, (int)lifetime * 1000);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("poll stdin");
        if (n == 0) {
            warn_msg("no EOF on stdin within %us, stopping", lifetime);
            break;
        }
        ssize_t r = read(STDIN_FILENO, buf, sizeof buf);
        if (r == 0 || (r < 0 && errno != EINTR))
            break;
    }
    /* The taker read through ITS copy: if it is the same open file description,
     * this offset moved. */
    if ((off = lseek(fd, 0, SEEK_CUR)) < 0)
        die("lseek %s after the taker", path);
    kv_print("offset_after", "%lld", (long long)off);
    close(fd);
    return 0;
}
