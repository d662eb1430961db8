/* passing.c — two small passes to a forked worker:
 *   inflight  the sender closes its copy right after sendmsg(), BEFORE the worker
 *             has received: while the descriptor is in flight no process has it
 *             in its table, yet the connection stays open (the queued message holds
 *             a reference); the worker then receives it and serves the client.
 *   multi     three descriptors in ONE message: the write ends of three pipes. The
 *             worker writes "i:<its fd>" into the i-th; the parent reads pipe i's read
 *             end, which proves order and identity.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "fdcount.h"
#include "fdpass.h"
#include "kv.h"
#include "lab03.h"
#include "sock.h"

/* ------------------------------------------------------------------ inflight */
static void inflight_worker(int ch, int go)
{
    char c;
    /* Receive only once the parent says so: by then it has closed its copy. */
    if (read_full(go, &c, 1, WAIT_MS) != 1)
        die("inflight worker: go");
    struct chmsg m;
    int fd;
    if (ch_recv(ch, &m, &fd, WAIT_MS) != 1 || fd < 0)
        die("inflight worker: recv");
    static const char msg[] = "hello from the worker\n";
    if (write(fd, msg, sizeof msg - 1) != (ssize_t)sizeof msg - 1)
        die("inflight worker: write");
    close(fd);
    _exit(0);
}

void scn_inflight(struct lab *lab)
{
    puts("# inflight: the sender closes its copy at once; the descriptor lives in the message");
    int base = fd_count();
    uint16_t port;
    int lfd = tcp_listen_loopback(1, SOCK_CLOEXEC, &port);
    if (lfd < 0)
        die("tcp_listen_loopback");
    int sv[2], go[2];
    seqpair_or_die(sv);
    if (pipe2(go, O_CLOEXEC) < 0)
        die("pipe2");
    pid_t pid = fork_or_die();
    if (pid == 0) {
        close(lfd);
        close(sv[0]);
        close(go[1]);
        inflight_worker(sv[1], go[0]);
    }
    close(sv[1]);
    close(go[0]);
    int cli = tcp_connect("127.0.0.1", port, SOCK_CLOEXEC);
    if (cli < 0)
        die("tcp_connect");
    int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0)
        die("accept4");
    close(lfd);
    int with_conn = fd_count();
    if (ch_send(sv[0], &(struct chmsg){1, 0, 0}, conn) < 0)
        die("send conn");
    close(conn); /* at once: the worker has not even called recvmsg() yet */
    int without_conn = fd_count();
    int quiet = poll_now(cli) == 0; /* not closed: the in-flight reference keeps it */
    if (write(go[1], "g", 1) != 1)
        die("go");
    char line[64];
    int got = read_line(cli, line, sizeof line, WAIT_MS) >= 0;
    char rest[16];
    ssize_t eof = read_full(cli, rest, sizeof rest, WAIT_MS);
    int code = reap_bounded(pid, WAIT_MS);
    close(cli);
    close(go[1]);
    close(sv[0]);

    kv_print("inflight.parent_fds_delta_after_close", "%d", without_conn - with_conn);
    kv_print("inflight.client_quiet_while_in_flight", "%d", quiet);
    kv_print("inflight.greeting", "%s", got ? line : "(none)");
    kv_print("inflight.client_eof_after_worker_close", "%d", eof == 0);
    kv_print("inflight.parent_fds_leaked", "%d", fd_count() - base);
    claim_quiet(&lab->claims, without_conn == with_conn - 1,
                "the sender dropped its copy right after sending");
    claim_quiet(&lab->claims, quiet, "no EOF while the descriptor is in flight");
    claim_quiet(&lab->claims, got && strcmp(line, "hello from the worker") == 0,
                "the worker served the connection");
    claim_quiet(&lab->claims, eof == 0 && code == 0, "EOF once the worker closed the last copy");
    claim_quiet(&lab->claims, fd_count() == base, "inflight: no descriptor leaked");
}

/* ------------------------------------------------------------------ multi */
enum { NPIPES = 3 };

static void multi_worker(int ch)
{
    int fds[NPIPES];
    size_t n = NPIPES;
    char c;
    if (wait_readable(ch, WAIT_MS) != 1 || recv_fds(ch, fds, &n, &c, 1) != 1 || n != NPIPES)
        die("multi worker: recv %d fds", NPIPES);
    for (int i = 0; i < NPIPES; i++) {
        char msg[32];
        int len = snprintf(msg, sizeof msg, "%d:%d\n", i, fds[i]);
        if (write(fds[i], msg, (size_t)len) != len)
            die("multi worker: write pipe %d", i);
        close(fds[i]);
    }
    _exit(0);
}

void scn_multi(struct lab *lab)
{
    puts("# multi: three descriptors in one message, in order");
    int base = fd_count();
    int sv[2];
    seqpair_or_die(sv);
    int rd[NPIPES], wr[NPIPES];
    for (int i = 0; i < NPIPES; i++) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
            die("pipe2");
        rd[i] = p[0];
        wr[i] = p[1];
    }
    pid_t pid = fork_or_die();
    if (pid == 0) {
        close(sv[0]);
        close_fds(rd, NPIPES);
        close_fds(wr, NPIPES); /* the worker gets them only by message */
        multi_worker(sv[1]);
    }
    close(sv[1]);
    if (send_fds(sv[0], wr, NPIPES, "m", 1) != 1)
        die("send %d fds", NPIPES);
    close_fds(wr, NPIPES); /* from now on only the message, then the worker, hold them */
    int identity = 0, eof = 0;
    for (int i = 0; i < NPIPES; i++) {
        char line[32], want[16], rest[8];
        if (read_line(rd[i], line, sizeof line, WAIT_MS) < 0)
            die("read pipe %d", i);
        snprintf(want, sizeof want, "%d:", i);
        identity += strncmp(line, want, strlen(want)) == 0;
        eof += read_full(rd[i], rest, sizeof rest, WAIT_MS) == 0;
        char key[32];
        snprintf(key, sizeof key, "multi.pipe%d", i);
        kv_print(key, "%s", line);
    }
    int code = reap_bounded(pid, WAIT_MS);
    close_fds(rd, NPIPES);
    close(sv[0]);
    kv_print("multi.sent_in_one_message", "%d", NPIPES);
    kv_print("multi.identity_ok", "%d", identity);
    kv_print("multi.eof_after_worker_close", "%d", eof);
    kv_print("multi.parent_fds_leaked", "%d", fd_count() - base);
    claim_quiet(&lab->claims, identity == NPIPES, "the i-th received fd is the i-th pipe's write end");
    claim_quiet(&lab->claims, eof == NPIPES && code == 0, "each pipe sees EOF once the worker closed it");
    claim_quiet(&lab->claims, fd_count() == base, "multi: no descriptor leaked");
}
