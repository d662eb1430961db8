/* opensrv.c — a privilege-separated "open" server: it opens files on behalf of
 * clients it trusts and hands them the open descriptor (SCM_RIGHTS), so the client
 * never needs the permission to open the file itself (the idea of UNP vol. 1 §15.7).
 *
 * Usage: opensrv [-n name] [-u uid]... [-t lifetime_s]
 *   -n  socket name: "@x" is abstract (unix(7)), anything else a filesystem path;
 *       default "@fdlab-04-<pid>".
 *   -u  a uid allowed to be served (repeatable, up to 16); none given: nobody is.
 *   -t  exit after this many seconds at most (default 60): never outlive the lab.
 * Stops at EOF on stdin (the lab closes the pipe) or at the lifetime.
 *
 * Output: srv.name=<name> once listening; per connection
 *   srv.conn=<seq> pid=<p> uid=<u> gid=<g> verdict=granted|refused|failed:<ERRNO>
 * (pid/uid/gid from SO_PEERCRED: the peer's credentials at connect() time); at exit
 * srv.connections, srv.granted, srv.refused, srv.failed, srv.fds_start, srv.fds_end
 * (fd_count() after listening and after the last connection: equal = no leak).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
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
    char name[108];
    unsigned allow[16];
    int nallow;
    long conns, granted, refused, failed;
    int drawn; /* the picture (lib/picture.h) is drawn once */
};

static int allowed(const struct ctx *c, uid_t uid)
{
    for (int i = 0; i < c->nallow; i++)
        if (c->allow[i] == uid)
            return 1;
    return 0;
}

/* Parses "open <path> <mode>" in place; returns the open(2) flags or -1 (EINVAL). */
static int parse_request(char *req, char **path)
{
    if (strncmp(req, "open ", 5) != 0)
        return -1;
    char *sp = strrchr(req + 5, ' ');
    if (!sp || sp == req + 5)
        return -1;
    *sp = '\0';
    *path = req + 5;
    const char *mode = sp + 1;
    if (strcmp(mode, "r") == 0)
        return O_RDONLY;
    if (strcmp(mode, "w") == 0)
        return O_WRONLY;
    if (strcmp(mode, "rw") == 0)
        return O_RDWR;
    return -1;
}

static void reply_err(int conn, int e)
{
    char msg[PROTO_REPLY_MAX];
    int n = snprintf(msg, sizeof msg, "err %d", e);
    if (send(conn, msg, (size_t)n, MSG_NOSIGNAL) < 0)
        warn_errno("reply to client");
}

/* Reads one request (bounded wait) and parses it. Returns 0 with *path and *flags
 * set, or an errno value: ETIMEDOUT, ECONNRESET (peer closed), EMSGSIZE, EINVAL. */
static int read_request(int conn, char *req, char **path, int *flags)
{
    struct pollfd p = {conn, POLLIN, 0};
    int pr = poll(&p, 1, PROTO_IO_TIMEOUT_S * 1000);
    if (pr <= 0)
        return pr == 0 ? ETIMEDOUT : errno;
    /* MSG_TRUNC returns the real length, so an over-long request is detected. A plain
     * recv() with no control buffer also means that descriptors a client might attach
     * are discarded by the kernel, never installed in our table. */
    ssize_t n = recv(conn, req, PROTO_REQ_MAX, MSG_TRUNC | MSG_DONTWAIT);
    if (n < 0)
        return errno;
    if (n == 0)
        return ECONNRESET;
    if (n >= PROTO_REQ_MAX)
        return EMSGSIZE;
    req[n] = '\0';
    if (memchr(req, '\0', (size_t)n) || (*flags = parse_request(req, path)) < 0)
        return EINVAL;
    return 0;
}

/* Serves one connection: check the peer, read one request, answer it. Closes conn. */
static void serve(struct ctx *c, int conn)
{
    c->conns++;
    struct ucred cred;
    socklen_t clen = sizeof cred;
    if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0)
        die("getsockopt SO_PEERCRED");
    char verdict[48] = "granted";
    char req[PROTO_REQ_MAX + 1], *path = NULL;
    int flags = 0, e = 0;
    /* Read the request even from a peer we will refuse: closing an AF_UNIX socket
     * with unread data makes the peer's next receive fail with ECONNRESET, and the
     * refusal would never be seen. */
    int re = read_request(conn, req, &path, &flags);
    if (!allowed(c, cred.uid)) {
        /* Decided on what the kernel recorded at connect(), not on anything the
         * client says: the request is not even looked at. */
        snprintf(verdict, sizeof verdict, "refused");
        c->refused++;
        reply_err(conn, EACCES);
    } else if ((e = re) != 0) {
        reply_err(conn, e); /* a bad request still gets an answer */
    } else {
        int fd = open(path, flags | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
            e = errno;
            reply_err(conn, e);
        } else {
            if (send_fds(conn, &fd, 1, "ok", 2) < 0)
                e = errno;
            else
                c->granted++;
            /* The picture: the first grant to another uid (FDLAB_DRAW only). */
            if (e == 0 && !c->drawn && cred.uid != geteuid())
                c->drawn = srv_draw(c->name, conn, fd, path, &cred) != 0;
            close(fd); /* the client's copy is its own reference: ours can go */
        }
    }
    if (e != 0) {
        snprintf(verdict, sizeof verdict, "failed:%s", errno_name(e));
        c->failed++;
    }
    kv_print("srv.conn", "%ld pid=%d uid=%u gid=%u verdict=%s", c->conns, (int)cred.pid,
             (unsigned)cred.uid, (unsigned)cred.gid, verdict);
    close(conn);
}

int main(int argc, char **argv)
{
    struct ctx c = {0};
    unsigned lifetime = 60;
    snprintf(c.name, sizeof c.name, "@fdlab-04-%d", (int)getpid());
    int opt;
    while ((opt = getopt(argc, argv, "n:u:t:")) != -1) {
        if (opt == 'n' && strlen(optarg) < sizeof c.name)
            snprintf(c.name, sizeof c.name, "%s", optarg);
        else if (opt == 'u' && c.nallow < 16 && parse_uint(optarg, &c.allow[c.nallow]) == 0)
            c.nallow++;
        else if (opt == 't' && parse_uint(optarg, &lifetime) == 0)
            ;
        else
            die_msg("usage: opensrv [-n name] [-u uid]... [-t lifetime_s]");
    }
    int lfd = unix_listen(c.name, SOCK_SEQPACKET | SOCK_CLOEXEC, 64);
    if (lfd < 0)
        die("listen on %s", c.name);
    int fds_start = fd_count();
    kv_print("srv.name", "%s", c.name);

    struct timespec t0, t;
    if (clock_gettime(CLOCK_MONOTONIC, &t0) < 0)
        die("clock_gettime(CLOCK_MONOTONIC)");
    for (;;) {
        if (clock_gettime(CLOCK_MONOTONIC, &t) < 0)
            die("clock_gettime(CLOCK_MONOTONIC)");
        long left_ms = (long)lifetime * 1000 - ((t.tv_sec - t0.tv_sec) * 1000 +
                                                (t.tv_nsec - t0.tv_nsec) / 1000000);
        if (left_ms <= 0) {
            warn_msg("lifetime of %us reached, stopping", lifetime);
            break;
        }
        struct pollfd p[2] = {{STDIN_FILENO, POLLIN, 0}, {lfd, POLLIN, 0}};
        int n = poll(p, 2, (int)left_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("poll");
        if (p[1].revents & POLLIN) {
            int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (conn >= 0)
                serve(&c, conn);
            else if (errno != EINTR && errno != ECONNABORTED)
                die("accept4");
            continue; /* drain pending connections before looking at stdin */
        }
        if (p[0].revents) {
            char b[64];
            ssize_t r = read(STDIN_FILENO, b, sizeof b);
            if (r == 0 || (r < 0 && errno != EINTR))
                break; /* EOF: the lab is done with us */
        }
    }
    int fds_end = fd_count();
    close(lfd);
    if (c.name[0] != '@' && unlink(c.name) < 0)
        warn_errno("unlink %s", c.name);
    kv_print("srv.connections", "%ld", c.conns);
    kv_print("srv.granted", "%ld", c.granted);
    kv_print("srv.refused", "%ld", c.refused);
    kv_print("srv.failed", "%ld", c.failed);
    kv_print("srv.fds_start", "%d", fds_start);
    kv_print("srv.fds_end", "%d", fds_end);
    return 0;
}
