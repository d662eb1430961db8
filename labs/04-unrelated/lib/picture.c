/* picture.c — see picture.h. */
#include "picture.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fdsnap.h"

/* Waits (bounded) until the peer's sending side is shut: recv() returns 0. What
 * arrived before is kept in b (NUL-terminated, the first message only). */
static int wait_eof(int sock, char *b, size_t size)
{
    struct pollfd p = {sock, POLLIN, 0};
    b[0] = '\0';
    for (int got = 0;;) {
        int n = poll(&p, 1, PICTURE_WAIT_MS);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        char m[64];
        ssize_t r = recv(sock, m, sizeof m - 1, 0);
        if (r == 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
        if (r > 0 && !got++) {
            m[r] = '\0';
            snprintf(b, size, "%s", m);
        }
    }
}

int srv_draw(const char *name, int conn, int fd, const char *path, const struct ucred *cred)
{
    if (!fdsnap_drawing())
        return 0;
    char msg[64], self[24];
    int csock, cfd;
    if (wait_eof(conn, msg, sizeof msg) < 0 || sscanf(msg, "fds %d %d %23s", &csock, &cfd, self) != 3) {
        warn_errno("picture 04-unrelated: the client did not report its descriptors");
        return -1;
    }
    struct stat st;
    char alias[96], role[96], note[96], cnote[96];
    if (stat(path, &st) < 0) {
        warn_errno("picture 04-unrelated: stat %s", path);
        return -1;
    }
    const char *base = path;
    for (const char *c = path; *c; c++)
        if (*c == '/')
            base = c + 1;
    snprintf(alias, sizeof alias, "%s\nowner uid %u, mode %04o", base, (unsigned)st.st_uid,
             (unsigned)(st.st_mode & 07777));
    snprintf(role, sizeof role, "openclnt (uid %u): exec'd apart, not forked from the server",
             (unsigned)cred->uid);
    snprintf(note, sizeof note, "opened as uid %u, sent with SCM_RIGHTS", (unsigned)geteuid());
    struct fdsnap *s = fdsnap_new("Lab 04: an unrelated client holds a file it could not open() itself");
    if (s) {
        fdsnap_alias(s, path, alias);
        fdsnap_alias(s, name, "@fdlab-04-<pid of opensrv>");
        fdsnap_panel(s, "after the reply: the client received the server's open file");
        fdsnap_fds(s, fdsnap_proc(s, getpid(), "opensrv (the descriptor server)"), conn,
                   "connection from the client (SO_PEERCRED checked)", fd, note, -1);
        snprintf(cnote, sizeof cnote, "received with SCM_RIGHTS; its own open() of the path: %s", self);
        fdsnap_fds(s, fdsnap_proc(s, cred->pid, role), csock, "connection to opensrv", cfd, cnote, -1);
    }
    int rc = fdsnap_draw(s, "04-unrelated");
    if (rc < 0)
        warn_errno("picture 04-unrelated");
    fdsnap_free(s);
    return rc < 0 ? -1 : 1;
}

void clnt_hold_for_picture(int sock, int fd, int self_errno)
{
    if (!fdsnap_drawing())
        return;
    char msg[64];
    int len = snprintf(msg, sizeof msg, "fds %d %d %s", sock, fd, self_errno ? errno_name(self_errno) : "ok");
    if (send(sock, msg, (size_t)len, MSG_NOSIGNAL) != len || shutdown(sock, SHUT_WR) < 0 ||
        wait_eof(sock, msg, sizeof msg) < 0)
        warn_errno("picture 04-unrelated: waiting for the server");
}
