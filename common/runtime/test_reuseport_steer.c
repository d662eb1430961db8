/* Tests for reuseport_steer.h: the eBPF pick follows the published load, the classic
 * BPF pick follows the CPU, bad arguments are refused, nothing leaks. The eBPF tests
 * skip, and say why, without CAP_BPF. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdcount.h"
#include "reuseport_steer.h"
#include "sock.h"

#define FLAGS (SOCK_CLOEXEC | SOCK_NONBLOCK | SOCK_REUSEPORT)

/* Accepts (and closes) everything queued on l; returns how many. */
static int drain(int l)
{
    int n = 0, c;
    while ((c = accept4(l, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
        close(c);
        n++;
    }
    cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "accept4: %s", strerror(errno));
    return n;
}

static void open_or_skip(struct rsteer *s, int n)
{
    char log[256];
    if (rsteer_open(s, n, log, sizeof log) < 0) {
        cr_assert_eq(errno, EPERM, "rsteer_open: %s %s", strerror(errno), log);
        cr_skip_test("no CAP_BPF: the SK_REUSEPORT program cannot be loaded");
    }
}

Test(rsteer, picks_the_least_loaded_listener, .timeout = 120)
{
    int before = fd_count();
    struct rsteer s;
    open_or_skip(&s, 3);
    uint16_t port = 0;
    int l[3];
    for (int i = 0; i < 3; i++) {
        l[i] = tcp_listen("127.0.0.1", port, 64, FLAGS, i == 0 ? &port : NULL);
        cr_assert_geq(l[i], 0);
        cr_assert_eq(rsteer_add(&s, i, l[i]), 0);
    }
    cr_assert_eq(rsteer_attach(&s, l[0]), 0);
    /* Listeners 0 and 2 look busy: every connection goes to 1, and each is counted. */
    s.load[0] = 1000;
    s.load[2] = 1000;
    int c[6];
    for (int k = 0; k < 6; k++)
        cr_assert_geq(c[k] = tcp_connect("127.0.0.1", port, SOCK_CLOEXEC), 0);
    cr_assert_eq(rsteer_load(&s, 1), 6);
    /* A worker that died with its count: resync to what waits in the queue (6). */
    s.load[1] = 99;
    cr_assert_eq(rsteer_resync(&s, 1, l[1]), 0);
    cr_assert_eq(rsteer_load(&s, 1), 6);
    cr_assert_eq(drain(l[1]), 6);
    cr_assert_eq(drain(l[0]) + drain(l[2]), 0);
    for (int k = 0; k < 6; k++)
        rsteer_done(&s, 1);
    cr_assert_eq(rsteer_load(&s, 1), 0);
    rsteer_done(&s, 1); /* never below zero */
    cr_assert_eq(rsteer_load(&s, 1), 0);
    /* All equal: ties are spread (by the rotation from the hash), 60 connections over 3. */
    s.load[0] = s.load[2] = 0;
    int got[3] = {0, 0, 0};
    for (int k = 0; k < 60; k++) {
        int fd = tcp_connect("127.0.0.1", port, SOCK_CLOEXEC);
        cr_assert_geq(fd, 0);
        for (int i = 0; i < 3; i++) {
            int n = drain(l[i]);
            got[i] += n;
            for (int j = 0; j < n; j++)
                rsteer_done(&s, i);
        }
        close(fd);
    }
    cr_assert_eq(got[0] + got[1] + got[2], 60);
    for (int i = 0; i < 3; i++)
        cr_assert_gt(got[i], 0, "listener %d got none: %d/%d/%d", i, got[0], got[1], got[2]);
    for (int k = 0; k < 6; k++)
        close(c[k]);
    for (int i = 0; i < 3; i++)
        close(l[i]);
    rsteer_close(&s);
    rsteer_close(&s); /* twice is harmless */
    cr_assert_eq(fd_count(), before);
}

Test(rsteer, refuses_bad_arguments, .timeout = 120)
{
    int before = fd_count();
    struct rsteer s;
    cr_assert_eq(rsteer_open(&s, 0, NULL, 0), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(rsteer_open(&s, RSTEER_MAX + 1, NULL, 0), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(rsteer_attach_cpu(0, 0), -1);
    cr_assert_eq(errno, EINVAL);
    open_or_skip(&s, 2);
    cr_assert_eq(rsteer_add(&s, 2, 0), -1);
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(rsteer_load(&s, 5), 0);
    cr_assert_eq(rsteer_resync(&s, -1, 0), -1);
    cr_assert_eq(errno, EINVAL);
    rsteer_close(&s);
    cr_assert_eq(fd_count(), before);
}

Test(rsteer, cpu_program_picks_cpu_mod_n, .timeout = 120)
{
    /* One CPU: pin ourselves to the first we may use, so the SYN is processed on it
     * (on loopback, the sender's CPU). */
    cpu_set_t mine, one;
    cr_assert_eq(sched_getaffinity(0, sizeof mine, &mine), 0);
    int cpu = 0;
    while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &mine))
        cpu++;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    cr_assert_eq(sched_setaffinity(0, sizeof one, &one), 0);
    uint16_t port = 0;
    int l[2];
    for (int i = 0; i < 2; i++)
        cr_assert_geq(l[i] = tcp_listen("127.0.0.1", port, 64, FLAGS, i == 0 ? &port : NULL), 0);
    cr_assert_eq(rsteer_attach_cpu(l[0], 2), 0);
    for (int k = 0; k < 10; k++) {
        int fd = tcp_connect("127.0.0.1", port, SOCK_CLOEXEC);
        cr_assert_geq(fd, 0);
        close(fd);
    }
    cr_assert_eq(drain(l[cpu % 2]), 10, "CPU %d %% 2 = listener %d, every time", cpu, cpu % 2);
    cr_assert_eq(drain(l[1 - cpu % 2]), 0);
    close(l[0]);
    close(l[1]);
}
