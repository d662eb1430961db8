/* ctrunc.c — a receiver whose control buffer is too small (MSG_CTRUNC).
 *
 * The sender attaches the write ends of NSENT pipes to one message and closes its
 * own copies, so the message holds the only references. The receiver (this same
 * process, in the role of receiver: the counts below are its /proc/self/fd) calls
 * recvmsg() with room for fewer descriptors (with MSG_CMSG_CLOEXEC, then without):
 *   - the kernel installs as many as fit, from the front of the list, and sets
 *     MSG_CTRUNC; those are the receiver's to close;
 *   - it drops (closes) the rest: their pipes' read ends see EOF at once;
 *   - after closing the installed ones the count is back at its baseline.
 * Then the same message through recv_fds(), which turns it into EMSGSIZE and
 * closes everything that arrived.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "fdcount.h"
#include "fdpass.h"
#include "kv.h"
#include "lab03.h"

enum { NSENT = 5 };

struct batch {
    int rd[NSENT]; /* read ends, kept by the "sender" to watch the far ends */
};

/* Send the write ends of NSENT fresh pipes in one message and close them here. */
static void send_batch(int sock, struct batch *b)
{
    int wr[NSENT];
    for (int i = 0; i < NSENT; i++) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
            die("pipe2");
        b->rd[i] = p[0];
        wr[i] = p[1];
    }
    if (send_fds(sock, wr, NSENT, "c", 1) != 1)
        die("send_fds %d", NSENT);
    close_fds(wr, NSENT);
}

/* 1 when pipe i has no writer left (read end at EOF). A dropped descriptor's
 * release is complete when recvmsg() returns; the bounded wait only guards. */
static int far_end_closed(const struct batch *b, int i, int ms)
{
    struct pollfd p = {.fd = b->rd[i], .events = POLLIN};
    int n = poll(&p, 1, ms);
    return n == 1 && (p.revents & POLLHUP);
}

/* A raw recvmsg(flags) with controllen bytes of control space. Installed descriptors
 * go to got[]; returns how many, and *ctrunc tells whether MSG_CTRUNC was set. */
static int raw_recv(int sock, size_t controllen, int flags, int *got, int *ctrunc)
{
    union {
        char buf[CMSG_SPACE(NSENT * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    char c;
    struct iovec iov = {.iov_base = &c, .iov_len = 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = controllen};
    if (recvmsg(sock, &msg, flags) != 1)
        die("recvmsg");
    *ctrunc = (msg.msg_flags & MSG_CTRUNC) != 0;
    int n = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        /* The count is what cmsg_len says, never what we asked room for. */
        int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < k && n < NSENT; i++, n++)
            memcpy(&got[n], CMSG_DATA(cm) + (size_t)i * sizeof(int), sizeof(int));
    }
    return n;
}

/* One raw round: NSENT sent on tx, received on rx with CMSG_SPACE(room ints).
 * Prints under prefix. */
static void raw_round(struct lab *lab, int tx, int rx, int room, int flags, const char *prefix)
{
    struct batch b;
    send_batch(tx, &b);
    int baseline = fd_count();
    size_t controllen = CMSG_SPACE((size_t)room * sizeof(int));
    int got[NSENT], ctrunc;
    int n = raw_recv(rx, controllen, flags, got, &ctrunc);
    int after_recv = fd_count();
    int cloexec = 0, alive = 0, dropped = 0, first = 0;
    for (int i = 0; i < n; i++) {
        int fdfl = fcntl(got[i], F_GETFD);
        if (fdfl < 0) /* -1 has every bit set: it must not count as close-on-exec */
            die("F_GETFD on received fd %d", got[i]);
        cloexec += (fdfl & FD_CLOEXEC) != 0;
    }
    for (int i = 0; i < NSENT; i++) {
        if (i < n)
            alive += !far_end_closed(&b, i, 0);
        else
            dropped += far_end_closed(&b, i, WAIT_MS);
    }
    /* Installed ones are the FIRST in the list: a byte written through got[i]
     * comes out of pipe i. */
    for (int i = 0; i < n; i++) {
        char c = 'x';
        if (write(got[i], &c, 1) == 1 && read_full(b.rd[i], &c, 1, WAIT_MS) == 1)
            first++;
    }
    close_fds(got, n);
    int after_close = fd_count();
    int now_closed = 0;
    for (int i = 0; i < NSENT; i++)
        now_closed += far_end_closed(&b, i, WAIT_MS);
    close_fds(b.rd, NSENT);

    char key[64];
#define KV(name, ...) (snprintf(key, sizeof key, "%s.%s", prefix, name), kv_print(key, __VA_ARGS__))
    KV("sent", "%d", NSENT);
    KV("room_asked", "%d", room);
    KV("controllen", "%zu", controllen);
    KV("msg_ctrunc", "%d", ctrunc);
    KV("installed", "%d", n);
    KV("msg_cmsg_cloexec", "%d", (flags & MSG_CMSG_CLOEXEC) != 0);
    KV("installed_cloexec", "%d", cloexec);
    KV("installed_are_first", "%d", first);
    KV("fds_delta_after_recv", "%d", after_recv - baseline);
    KV("installed_still_open", "%d", alive);
    KV("dropped_by_kernel", "%d", dropped);
    KV("fds_delta_after_close", "%d", after_close - baseline);
    KV("all_far_ends_closed", "%d", now_closed);
#undef KV
    claim_quiet(&lab->claims, ctrunc && n < NSENT && n >= room, "MSG_CTRUNC, fewer installed than sent");
    claim_quiet(&lab->claims, cloexec == ((flags & MSG_CMSG_CLOEXEC) ? n : 0),
                "FD_CLOEXEC exactly when MSG_CMSG_CLOEXEC");
    claim_quiet(&lab->claims, first == n, "the installed ones are the first sent");
    claim_quiet(&lab->claims, after_recv - baseline == n && alive == n,
                "the installed ones are open in the receiver");
    claim_quiet(&lab->claims, dropped == NSENT - n, "the kernel closed the ones that did not fit");
    claim_quiet(&lab->claims, after_close == baseline && now_closed == NSENT,
                "after closing the installed ones: baseline");
}

void scn_ctrunc(struct lab *lab)
{
    puts("# ctrunc: recvmsg() with too little control space: MSG_CTRUNC");
    int base = fd_count();
    int sv[2];
    seqpair_or_die(sv);
    /* Room for 2: CMSG_SPACE(2 * sizeof(int)) is 24 bytes on x86-64. */
    raw_round(lab, sv[0], sv[1], 2, MSG_CMSG_CLOEXEC, "ctrunc.room2");
    /* "Room for 1" is ALSO 24 bytes (CMSG_SPACE pads the data to 8): two arrive.
     * Without MSG_CMSG_CLOEXEC this time: the new descriptors are not close-on-exec. */
    raw_round(lab, sv[0], sv[1], 1, 0, "ctrunc.room1");

    /* recv_fds() with capacity 2: EMSGSIZE, and everything that arrived is closed. */
    struct batch b;
    send_batch(sv[0], &b);
    int baseline = fd_count();
    int got[2] = {-1, -1};
    size_t n = 2;
    char c;
    ssize_t r = recv_fds(sv[1], got, &n, &c, 1);
    int e = r < 0 ? errno : 0;
    int delta = fd_count() - baseline;
    int closed = 0;
    for (int i = 0; i < NSENT; i++)
        closed += far_end_closed(&b, i, WAIT_MS);
    close_fds(b.rd, NSENT);
    close(sv[0]);
    close(sv[1]);
    kv_print("ctrunc.recv_fds", "%s", r < 0 ? errno_name(e) : "ok");
    kv_print("ctrunc.recv_fds_nfds", "%zu", n);
    kv_print("ctrunc.recv_fds_fds_delta", "%d", delta);
    kv_print("ctrunc.recv_fds_far_ends_closed", "%d", closed);
    kv_print("ctrunc.fds_leaked", "%d", fd_count() - base);
    claim_quiet(&lab->claims, r < 0 && e == EMSGSIZE && n == 0, "recv_fds reports EMSGSIZE");
    claim_quiet(&lab->claims, delta == 0 && closed == NSENT, "recv_fds left nothing open");
    claim_quiet(&lab->claims, fd_count() == base, "ctrunc: no descriptor leaked");
}
