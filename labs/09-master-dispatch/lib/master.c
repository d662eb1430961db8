/* master.c — the lab 09 master: forks the workers, then one epoll loop over the
 * listener, the worker channels and the control socket (see dispatch.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "channel.h"
#include "err.h"
#include "fdcount.h"
#include "internal.h"
#include "picture.h"

/* epoll data tags: 0..n-1 are channel slots. */
#define TAG_LISTEN 1000u
#define TAG_CTL 1001u
#define READY_LIMIT_MS 10000 /* every worker must say CHANNEL_READY within this */

/* The single context of the master process. */
struct master {
    enum policy policy;
    int n, lfd, ctl, ep;
    int ch[DISP_MAX_WORKERS];
    pid_t pid[DISP_MAX_WORKERS];
    long sent[DISP_MAX_WORKERS];
    struct pick_state ps;
    int ready;     /* workers that said CHANNEL_READY */
    int listening; /* the listener is in the epoll set */
    int stop;      /* the driver closed the control socket */
    int drawn;     /* the picture (picture.h) is taken */
    long cpu0, v0, iv0;
    struct disp_shared *sh;
};

static void ep_add(struct master *m, int fd, uint32_t tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};
    if (epoll_ctl(m->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        die("epoll_ctl add %u", tag);
}

/* First-idle with no idle worker: stop watching the listener, so the loop sleeps
 * until a worker reports done (UNP's serv05 clears it from the select set). New
 * connections wait in the kernel's accept queue meanwhile. */
static void pause_listener(struct master *m)
{
    if (epoll_ctl(m->ep, EPOLL_CTL_DEL, m->lfd, NULL) < 0)
        die("epoll_ctl del listener");
    m->listening = 0;
    m->sh->paused++;
}

static void worker_lost(struct master *m, int slot, const char *why)
{
    warn_msg("master: worker %d (pid %d) lost: %s", slot, (int)m->pid[slot], why);
    m->ps.alive[slot] = 0;
    if (epoll_ctl(m->ep, EPOLL_CTL_DEL, m->ch[slot], NULL) < 0)
        die("epoll_ctl del channel");
    close(m->ch[slot]);
    m->ch[slot] = -1;
}

/* Send fd to a worker chosen by the policy; another one if that send fails.
 * Returns 0 when sent, -1 when no worker can take it now (fd not consumed). */
static int dispatch(struct master *m, int fd)
{
    for (;;) {
        int slot = policy_pick(m->policy, &m->ps);
        if (slot < 0)
            return -1;
        struct channel_msg msg = {.command = CHANNEL_NEW_CONN, .pid = getpid(), .slot = slot, .fd = fd};
        int draw = !m->drawn && slot == PICTURE_SLOT; /* worker PICTURE_SLOT's first connection */
        struct fdsnap *snap = draw ? handover_before(m->pid[slot], m->lfd, fd, m->ch[slot]) : NULL;
        m->drawn |= draw;
        if (channel_send(m->ch[slot], &msg) == 0) {
            handover_after(snap, m->pid[slot], m->lfd, fd, m->ch[slot]);
            m->sent[slot]++;
            m->ps.active[slot]++;
            return 0;
        }
        if (errno != EPIPE && errno != ECONNRESET)
            die("master: send to worker %d", slot);
        worker_lost(m, slot, "channel closed");
    }
}

/* The listener is readable: accept and hand over until the queue is empty or (first
 * idle) no worker is idle. The pick comes BEFORE accept, so the master never holds
 * a connection it cannot place. */
static void on_listener(struct master *m)
{
    for (;;) {
        struct pick_state probe = m->ps; /* pick without moving round-robin's cursor */
        if (policy_pick(m->policy, &probe) < 0) {
            pause_listener(m);
            return;
        }
        int fd = accept4(m->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE) {
                warn_errno("master: accept4");
                return;
            }
            die("master: accept4");
        }
        if (dispatch(m, fd) < 0)
            m->sh->dropped++; /* every worker is gone: the client sees the close */
        close(fd);            /* our copy; the worker's copy keeps it open */
    }
}

/* A worker is ready when all its predecessors may not be: count, and when the last
 * one arrives take the "before" numbers and open the doors. */
static void on_ready(struct master *m, int slot, const struct channel_msg *msg)
{
    if (msg->slot != slot || msg->pid != m->pid[slot])
        warn_msg("master: ready from slot %d claims slot %d pid %d", slot, (int)msg->slot,
                 (int)msg->pid);
    if (++m->ready < m->n)
        return;
    if (m->policy != POL_SELF) {
        ep_add(m, m->lfd, TAG_LISTEN);
        m->listening = 1;
    }
    m->sh->master.fds_before = fd_count();
    self_usage(&m->cpu0, &m->v0, &m->iv0);
    if (write(m->ctl, "r", 1) != 1)
        die("master: write ready");
}

static void on_channel(struct master *m, int slot)
{
    struct channel_msg msg;
    int r = channel_recv(m->ch[slot], &msg);
    if (r == 0) {
        worker_lost(m, slot, "end of file on its channel");
        return;
    }
    if (r < 0) {
        if (errno == EPROTO || errno == EMSGSIZE) {
            warn_errno("master: bad message from worker %d", slot);
            return;
        }
        die("master: channel_recv from worker %d", slot);
    }
    switch (msg.command) {
    case CHANNEL_READY: on_ready(m, slot, &msg); break;
    case CHANNEL_DONE:
        /* The worker's own count of finished connections; what we sent and it has
         * not finished is its load (serving now, or queued in its channel). */
        if (msg.count < 0 || msg.count > m->sent[slot])
            warn_msg("master: worker %d reports %lld done of %ld sent", slot,
                     (long long)msg.count, m->sent[slot]);
        else
            m->ps.active[slot] = m->sent[slot] - (long)msg.count;
        break;
    default: warn_msg("master: unexpected %s from worker %d", channel_cmd_name(msg.command), slot);
    }
}

static void on_ctl(struct master *m)
{
    char c;
    ssize_t k = read(m->ctl, &c, 1);
    if (k < 0 && errno == EINTR)
        return;
    m->stop = 1; /* end of file (the normal stop), a byte, or an error: all mean stop */
}

/* Fork the workers. Each child closes every descriptor it does not need: the
 * listener (unless it accepts itself), the control socket, the master's ends of all
 * channels and the other workers' ends — an inherited master end would keep a
 * channel open after the master closed its own. */
static void spawn_workers(struct master *m)
{
    int wend[DISP_MAX_WORKERS];
    for (int i = 0; i < m->n; i++) {
        int sv[2];
        if (channel_pair(sv) < 0)
            die("master: channel %d", i);
        m->ch[i] = sv[0];
        wend[i] = sv[1];
    }
    pid_t me = getpid();
    fflush(stdout);
    for (int i = 0; i < m->n; i++) {
        pid_t p = fork();
        if (p < 0)
            die("master: fork worker %d", i);
        if (p == 0) {
            die_with_parent(me);
            close(m->ctl);
            for (int j = 0; j < m->n; j++) {
                close(m->ch[j]);
                if (j != i)
                    close(wend[j]);
            }
            int lfd = m->lfd;
            if (m->policy != POL_SELF) {
                close(lfd);
                lfd = -1;
            }
            worker_main(m->policy, i, wend[i], lfd, &m->sh->w[i]);
        }
        m->pid[i] = p;
        m->ps.alive[i] = 1;
    }
    for (int i = 0; i < m->n; i++)
        close(wend[i]);
}

static void stop_workers(struct master *m)
{
    if (m->policy == POL_SELF) {
        /* Moves the shared listener out of LISTEN: every blocked accept() returns
         * EINVAL (see lab 06). */
        if (shutdown(m->lfd, SHUT_RDWR) < 0)
            warn_errno("master: shutdown listener");
        return;
    }
    for (int i = 0; i < m->n; i++) {
        if (!m->ps.alive[i])
            continue;
        struct channel_msg q = {.command = CHANNEL_QUIT, .pid = getpid(), .slot = i, .fd = -1};
        if (channel_send(m->ch[i], &q) < 0)
            warn_errno("master: send quit to worker %d", i);
    }
}

void master_main(enum policy policy, int workers, int lfd, int ctl, struct disp_shared *sh)
{
    struct master m = {.policy = policy, .n = workers, .lfd = lfd, .ctl = ctl, .sh = sh};
    m.ps.n = workers;
    spawn_workers(&m);
    m.ep = epoll_create1(EPOLL_CLOEXEC);
    if (m.ep < 0)
        die("master: epoll_create1");
    ep_add(&m, ctl, TAG_CTL);
    for (int i = 0; i < workers; i++)
        ep_add(&m, m.ch[i], (uint32_t)i);

    int waited_ms = 0;
    while (!m.stop) {
        struct epoll_event evs[DISP_MAX_WORKERS + 2];
        int k = epoll_wait(m.ep, evs, DISP_MAX_WORKERS + 2, 1000);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            die("master: epoll_wait");
        }
        if (k == 0 && m.ready < m.n && (waited_ms += 1000) >= READY_LIMIT_MS)
            die_msg("master: only %d of %d workers got ready", m.ready, m.n);
        /* Reports first, the listener last: a worker that has just finished is
         * counted idle before the next connection is placed. */
        int listener_ready = 0;
        for (int e = 0; e < k; e++) {
            uint32_t tag = evs[e].data.u32;
            if (tag == TAG_LISTEN)
                listener_ready = 1;
            else if (tag == TAG_CTL)
                on_ctl(&m);
            else if (tag < (uint32_t)m.n && m.ch[tag] >= 0)
                on_channel(&m, (int)tag);
        }
        if (m.stop)
            break;
        if (m.policy != POL_SELF && m.ready == m.n && !m.listening) {
            struct pick_state probe = m.ps;
            if (policy_pick(m.policy, &probe) >= 0) {
                ep_add(&m, m.lfd, TAG_LISTEN); /* a worker is idle again */
                m.listening = 1;
                listener_ready = 1; /* connections may be waiting: look now */
            }
        }
        if (listener_ready && m.listening)
            on_listener(&m);
    }

    /* The driver's load is over: every request was answered. */
    sh->master.fds_after = fd_count();
    long cpu1, v1, iv1;
    self_usage(&cpu1, &v1, &iv1);
    sh->master.cpu_us = cpu1 - m.cpu0;
    sh->master.nvcsw = v1 - m.v0;
    sh->master.nivcsw = iv1 - m.iv0;
    for (int i = 0; i < m.n; i++) {
        sh->dispatched[i] = m.sent[i];
        sh->master.conns += m.sent[i];
    }
    stop_workers(&m);
    sh->quit_clean = reap_all(m.pid, m.n, 5000);
    for (int i = 0; i < m.n; i++)
        if (m.ch[i] >= 0)
            close(m.ch[i]);
    close(m.ep);
    close(m.lfd);
    close(m.ctl);
    sh->master.reported = 1;
    _exit(0);
}
