/* serve.c — the seed's server, fixed: the parent accepts, PASSES each connection to
 * a worker (round-robin) over that worker's own socketpair, and the worker greets
 * the client.
 *
 * Every connection goes through the same lock-step, so that each observation is
 * made at a known moment:
 *   parent: accept -> send CONN with the fd
 *   worker: receive (a new number in ITS table) -> GOT(worker_fd)
 *   parent: kcmp(parent, worker, parent_fd, worker_fd) while both still hold it,
 *           then close its copy; the client must see neither data nor EOF -> GREET
 *   worker: write the greeting -> WROTE
 *   parent: read the greeting at the client; still no EOF -> CLOSE
 *   worker: close its copy (the last one) -> CLOSED
 *   parent: the client's next read returns 0: EOF only now.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "fdcount.h"
#include "fdsnap.h"
#include "kv.h"
#include "lab03.h"
#include "sock.h"

#define MAX_WORKERS 16
#define MAX_CLIENTS 64

enum { CONN = 1, GOT, GREET, WROTE, CLOSE, CLOSED, BYE, STATS };

/* Worker w: extra descriptors first, so that received numbers differ from the
 * parent's on purpose. Exits 0 after BYE, non-zero on any protocol error. */
static void worker(int w, int ch)
{
    int extra[10 + 3 * MAX_WORKERS];
    int nextra = 10 + 3 * w;
    if (open_extra_fds(extra, nextra) < 0)
        die("worker %d: open extra fds", w);
    int base = fd_count();
    int served = 0;
    for (;;) {
        struct chmsg m;
        int fd;
        int r = ch_recv(ch, &m, &fd, WAIT_MS);
        if (r <= 0)
            die("worker %d: channel %s", w, r == 0 ? "closed early" : "recv");
        if (m.type == BYE)
            break;
        if (m.type != CONN || fd < 0)
            die_msg("worker %d: expected CONN with a descriptor", w);
        if (ch_send(ch, &(struct chmsg){GOT, fd, 0}, -1) < 0 || ch_recv(ch, &m, NULL, WAIT_MS) != 1 ||
            m.type != GREET)
            die("worker %d: GOT/GREET", w);
        char msg[96];
        int n = snprintf(msg, sizeof msg, "hello from worker %d (pid %d) to client %d\n", w, (int)getpid(),
                         m.a);
        if (write(fd, msg, (size_t)n) != n)
            die("worker %d: write greeting", w);
        if (ch_send(ch, &(struct chmsg){WROTE, 0, 0}, -1) < 0 || ch_recv(ch, &m, NULL, WAIT_MS) != 1 ||
            m.type != CLOSE)
            die("worker %d: WROTE/CLOSE", w);
        close(fd);
        served++;
        if (ch_send(ch, &(struct chmsg){CLOSED, 0, 0}, -1) < 0)
            die("worker %d: CLOSED", w);
    }
    int leaked = fd_count() - base;
    if (ch_send(ch, &(struct chmsg){STATS, served, leaked}, -1) < 0)
        die("worker %d: STATS", w);
    close_fds(extra, nextra);
    close(ch);
    _exit(0);
}

/* The picture's moments (FDLAB_DRAW): the parent's and worker 0's tables around the
 * first pass; wfd < 0 before the worker received. Does nothing when snap is NULL. */
static void draw_moment(struct fdsnap *snap, const char *title, int lfd, int conn, int ch, pid_t worker, int wch,
                        int wfd)
{
    if (!snap)
        return;
    fdsnap_panel(snap, title);
    fdsnap_fds(snap, fdsnap_proc(snap, getpid(), "the parent"), lfd, "listener", conn, "the accepted connection", ch,
               "channel to worker 0", -1);
    int w = fdsnap_proc(snap, worker, "worker 0");
    fdsnap_fds(snap, w, wch, "channel to the parent", wfd, "received with SCM_RIGHTS", -1);
}

/* Expect a message of type want from worker w; dies otherwise. */
static struct chmsg expect(int ch, int want, int w)
{
    struct chmsg m;
    if (ch_recv(ch, &m, NULL, WAIT_MS) != 1 || m.type != want)
        die("parent: expected message %d from worker %d", want, w);
    return m;
}

void scn_serve(struct lab *lab, int workers, int clients)
{
    puts("# serve: accept in the parent, pass each connection to a worker (round-robin)");
    if (workers < 1 || workers > MAX_WORKERS || clients < 1 || clients > MAX_CLIENTS)
        die_msg("serve: 1..%d workers and 1..%d clients", MAX_WORKERS, MAX_CLIENTS);
    int base = fd_count();
    uint16_t port;
    int lfd = tcp_listen_loopback(clients, SOCK_CLOEXEC, &port);
    if (lfd < 0)
        die("tcp_listen_loopback");
    int ch[MAX_WORKERS], wch0 = -1; /* wch0: worker 0's end, for the picture */
    pid_t pid[MAX_WORKERS];
    for (int w = 0; w < workers; w++) {
        int sv[2];
        seqpair_or_die(sv);
        pid[w] = fork_or_die();
        if (pid[w] == 0) {
            /* Keep only this worker's end: other workers' channels and the
             * listener are not ours. */
            close_fds(ch, w);
            close(lfd);
            close(sv[0]);
            worker(w, sv[1]);
        }
        if (w == 0)
            wch0 = sv[1]; /* the same number in the worker's copy of the table */
        close(sv[1]);
        ch[w] = sv[0];
    }

    int kcmp_zero = 0, differ = 0, quiet_after_parent_close = 0, one_greeting = 0, eof_after_worker = 0;
    for (int i = 0; i < clients; i++) {
        int w = i % workers;
        int cli = tcp_connect("127.0.0.1", port, SOCK_CLOEXEC);
        if (cli < 0)
            die("tcp_connect");
        int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (conn < 0)
            die("accept4");
        if (i == 0)
            draw_moment(lab->snap, "1. accepted by the parent, before SCM_RIGHTS", lfd, conn, ch[0], pid[0], wch0, -1);
        if (ch_send(ch[w], &(struct chmsg){CONN, i, 0}, conn) < 0)
            die("send CONN to worker %d", w);
        int wfd = expect(ch[w], GOT, w).a;
        /* Both copies are open now: the worker waits for GREET. */
        int k = kcmp_file(getpid(), pid[w], conn, wfd);
        if (i == 0)
            draw_moment(lab->snap, "2. after SCM_RIGHTS: two numbers, one description", lfd, conn, ch[0], pid[0], wch0,
                        wfd);
        close(conn); /* the sender's copy: the connection must live on */
        if (i == 0)
            draw_moment(lab->snap, "3. after the parent closed its copy: the worker's is the only one", lfd, conn,
                        ch[0], pid[0], wch0, wfd);
        int quiet1 = poll_now(cli) == 0;
        if (ch_send(ch[w], &(struct chmsg){GREET, i, 0}, -1) < 0)
            die("send GREET");
        expect(ch[w], WROTE, w);
        char line[128], want[128];
        if (read_line(cli, line, sizeof line, WAIT_MS) < 0)
            die("client %d: read greeting", i);
        snprintf(want, sizeof want, "hello from worker %d (pid %d) to client %d", w, (int)pid[w], i);
        int quiet2 = poll_now(cli) == 0; /* greeting consumed, worker still holds it */
        if (ch_send(ch[w], &(struct chmsg){CLOSE, 0, 0}, -1) < 0)
            die("send CLOSE");
        expect(ch[w], CLOSED, w);
        char extra[64];
        ssize_t rest = read_full(cli, extra, sizeof extra, WAIT_MS); /* to EOF, bounded */
        close(cli);

        char key[48];
#define KV(name, ...) (snprintf(key, sizeof key, "serve.c%d.%s", i, name), kv_print(key, __VA_ARGS__))
        KV("worker", "%d", w);
        KV("parent_fd", "%d", conn);
        KV("worker_fd", "%d", wfd);
        KV("kcmp_file", "%d", k);
        KV("greeting", "%s", line);
#undef KV
        kcmp_zero += k == 0;
        differ += conn != wfd;
        quiet_after_parent_close += quiet1 && quiet2;
        one_greeting += strcmp(line, want) == 0 && rest == 0;
        eof_after_worker += rest == 0;
    }
    int served = 0, worker_leaks = 0, worker_exit_bad = 0;
    for (int w = 0; w < workers; w++) {
        if (ch_send(ch[w], &(struct chmsg){BYE, 0, 0}, -1) < 0)
            die("send BYE");
        struct chmsg s = expect(ch[w], STATS, w);
        served += s.a;
        worker_leaks += s.b;
        close(ch[w]);
        worker_exit_bad += reap_bounded(pid[w], WAIT_MS) != 0;
    }
    close(lfd);
    int leaked = fd_count() - base;

    kv_print("serve.workers", "%d", workers);
    kv_print("serve.clients", "%d", clients);
    kv_print("serve.kcmp_same_open_file", "%d", kcmp_zero);
    kv_print("serve.numbers_differ", "%d", differ);
    kv_print("serve.no_eof_after_parent_close", "%d", quiet_after_parent_close);
    kv_print("serve.one_greeting_from_right_worker", "%d", one_greeting);
    kv_print("serve.eof_after_worker_close", "%d", eof_after_worker);
    kv_print("serve.served", "%d", served);
    kv_print("serve.worker_fds_leaked", "%d", worker_leaks);
    kv_print("serve.parent_fds_leaked", "%d", leaked);
    claim_quiet(&lab->claims, kcmp_zero == clients, "kcmp == 0 for every passed connection");
    claim_quiet(&lab->claims, differ == clients, "the worker's number differs from the parent's");
    claim_quiet(&lab->claims, quiet_after_parent_close == clients,
                "no EOF while the worker still holds the connection");
    claim_quiet(&lab->claims, one_greeting == clients,
                "each client got exactly one greeting, from worker i % N");
    claim_quiet(&lab->claims, served == clients && worker_leaks == 0 && worker_exit_bad == 0,
                "workers served all, leaked none");
    claim_quiet(&lab->claims, leaked == 0, "the parent leaked no descriptor");
}
