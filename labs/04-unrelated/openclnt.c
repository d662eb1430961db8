/* openclnt.c — the unprivileged side of the "open" server: asks opensrv to open a
 * file and reads it through the descriptor it receives.
 *
 * Usage: openclnt -s name -f path [-m r|w|rw] [-U uid -G gid] [-C uid:gid] [-n count]
 *   -U/-G  drop to this uid/gid for good (setgroups, setresgid, setresuid) first.
 *   -C     connect with these EFFECTIVE ids (seteuid/setegid, reversible), then go
 *          back to root and only then drop to -U/-G: shows that the server sees the
 *          credentials of connect() time, not of the moment the request is sent.
 *   -n     repeat the whole request (connect, ask, receive, close) count times.
 * Output: pid, uid, gid (after the drop), connected_euid and connected_ruid (with
 *   -C: our effective and real uid at connect()), self_open=ok|
 *   <ERRNO> (our own open() of path), then for the last request reply=ok|<ERRNO>,
 *   fds_received, and with a descriptor: content (first 200 bytes, read through it),
 *   fd_owner_uid, fd_mode (octal), fd_accmode; finally requests, replies_ok,
 *   replies_err, fds_before, fds_after (fd_count() around the requests).
 * Exit 0 when every request got a well-formed reply (granted or refused), 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "err.h"
#include "fdcount.h"
#include "fdpass.h"
#include "kv.h"
#include "lib/drop.h"
#include "lib/picture.h"
#include "lib/proto.h"
#include "unixsock.h"

struct ctx {
    const char *name, *path, *mode;
    long ok, err;
    int self_errno; /* our own open() of path: 0 or its errno */
};

static int connect_server(const char *name)
{
    int s = unix_connect(name, SOCK_SEQPACKET | SOCK_CLOEXEC);
    if (s < 0)
        die("connect %s", name);
    struct timeval tv = {PROTO_IO_TIMEOUT_S, 0}; /* a silent server cannot hang us */
    if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
        die("SO_RCVTIMEO");
    return s;
}

/* Reads the file through fd and reports what it is. */
static void report_fd(int fd)
{
    char buf[201];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n < 0)
        die("read through the received fd");
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] < 0x20 || buf[i] > 0x7e)
            buf[i] = '?'; /* one line per key */
    buf[n] = '\0';
    kv_print("content", "%s", buf);
    struct stat st;
    if (fstat(fd, &st) < 0)
        die("fstat received fd");
    kv_print("fd_owner_uid", "%u", (unsigned)st.st_uid);
    kv_print("fd_mode", "%04o", (unsigned)(st.st_mode & 07777));
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        die("F_GETFL");
    int acc = fl & O_ACCMODE;
    kv_print("fd_accmode", "%s", acc == O_RDONLY ? "r" : acc == O_WRONLY ? "w" : "rw");
}

/* One request over sock (closed here). Returns 0 for a well-formed reply, else -1. */
static int request(struct ctx *c, int sock, int last)
{
    char req[PROTO_REQ_MAX];
    int len = snprintf(req, sizeof req, "open %s %s", c->path, c->mode);
    if (len < 0 || len >= (int)sizeof req)
        die_msg("path too long");
    if (send(sock, req, (size_t)len, MSG_NOSIGNAL) != len)
        die("send request");
    char reply[PROTO_REPLY_MAX + 1];
    int fd = -1;
    size_t nfd = 1;
    ssize_t n = recv_fds(sock, &fd, &nfd, reply, PROTO_REPLY_MAX);
    if (n < 0)
        die("recv_fds");
    reply[n > 0 ? n : 0] = '\0';
    if (last && nfd == 1)
        clnt_hold_for_picture(sock, fd, c->self_errno); /* FDLAB_DRAW only: the server draws us now */
    close(sock);
    int e = 0, good;
    if (n > 0 && strcmp(reply, "ok") == 0) {
        good = nfd == 1;
        c->ok++;
        if (last && good)
            kv_print("reply", "ok");
    } else {
        good = n > 0 && sscanf(reply, "err %d", &e) == 1 && nfd == 0;
        c->err++;
        if (last)
            kv_print("reply", "%s", good ? errno_name(e) : "malformed");
    }
    if (last) {
        kv_print("fds_received", "%zu", nfd);
        if (nfd == 1)
            report_fd(fd);
    }
    if (nfd == 1)
        close(fd);
    return good ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct ctx c = {.mode = "r"};
    unsigned uid = 0, gid = 0, cuid = 0, cgid = 0, count = 1;
    int drop = 0, early = 0, opt;
    while ((opt = getopt(argc, argv, "s:f:m:U:G:C:n:")) != -1) {
        if (opt == 's')
            c.name = optarg;
        else if (opt == 'f')
            c.path = optarg;
        else if (opt == 'm')
            c.mode = optarg;
        else if (opt == 'U' && parse_uint(optarg, &uid) == 0)
            drop |= 1;
        else if (opt == 'G' && parse_uint(optarg, &gid) == 0)
            drop |= 2;
        else if (opt == 'C' && sscanf(optarg, "%u:%u", &cuid, &cgid) == 2)
            early = 1;
        else if (opt == 'n' && parse_uint(optarg, &count) == 0 && count > 0)
            ;
        else
            die_msg("usage: openclnt -s name -f path [-m r|w|rw] [-U uid -G gid] [-C uid:gid] [-n count]");
    }
    if (!c.name || !c.path || (drop && drop != 3) || (early && (!drop || count != 1)))
        die_msg("need -s and -f; -U with -G; -C needs -U/-G and one request");

    int presock = -1;
    if (early) {
        /* Effective ids only: the saved uid stays 0, so we can come back. */
        if (setgroups(0, NULL) < 0 || setegid(cgid) < 0 || seteuid(cuid) < 0)
            die("seteuid/setegid to %u:%u", cuid, cgid);
        presock = connect_server(c.name);
        kv_print("connected_euid", "%u", (unsigned)geteuid());
        kv_print("connected_ruid", "%u", (unsigned)getuid()); /* still 0 */
        if (seteuid(0) < 0 || setegid(0) < 0)
            die("back to root");
    }
    if (drop && drop_privs(uid, gid) < 0)
        die("drop privileges to %u:%u", uid, gid);
    kv_print("pid", "%d", (int)getpid());
    kv_print("uid", "%u", (unsigned)getuid());
    kv_print("gid", "%u", (unsigned)getgid());

    int self = open(c.path, O_RDONLY | O_CLOEXEC);
    c.self_errno = self >= 0 ? 0 : errno;
    kv_print("self_open", "%s", self >= 0 ? "ok" : errno_name(errno));
    if (self >= 0)
        close(self);

    int fds_before = fd_count(), bad = 0;
    if (presock >= 0)
        fds_before--; /* the early socket is consumed by its request */
    for (unsigned i = 0; i < count; i++) {
        int s = presock >= 0 ? presock : connect_server(c.name);
        presock = -1;
        bad |= request(&c, s, i + 1 == count);
    }
    kv_print("requests", "%u", count);
    kv_print("replies_ok", "%ld", c.ok);
    kv_print("replies_err", "%ld", c.err);
    kv_print("fds_before", "%d", fds_before);
    kv_print("fds_after", "%d", fd_count());
    return bad ? 1 : 0;
}
