/* reuseport_steer.h — choosing the member of a SO_REUSEPORT group in the kernel, two ways.
 *
 * 1. By receiving CPU, with classic BPF (SO_ATTACH_REUSEPORT_CBPF, Linux 4.5):
 *    rsteer_attach_cpu(lfd, n) attaches "return cpu % n" to lfd's group. The value is an
 *    index into the group's member array, in the order the members called listen();
 *    an index out of range falls back to the hash. Needs no privilege.
 *    Returns 0, or -1 with errno (EINVAL for n outside 1..RSTEER_MAX).
 *
 * 2. By load, with an eBPF SK_REUSEPORT program (Linux 4.19) over two maps:
 *      socks  REUSEPORT_SOCKARRAY, slot i = worker i's listener;
 *      load   ARRAY of n u64, mmap-able (BPF_F_MMAPABLE, Linux 5.5), load[i] = the
 *             connections given to worker i that it has not finished: the program adds
 *             one when it picks i, the worker takes one away (rsteer_done) when done.
 *    For each new connection (each SYN) the program picks the i with the smallest
 *    load[i]; ties go to the first in the rotation that starts at (4-tuple hash % n),
 *    so an idle group spreads like plain reuseport. The program is assembled from
 *    instructions in rsteer_open: no compiler for the BPF target, no libbpf.
 *
 *    rsteer_open(s, n, log, loglen): creates the maps and loads the program for n
 *      workers (1..RSTEER_MAX). Returns 0, or -1 with errno: EPERM without CAP_BPF
 *      (or CAP_SYS_ADMIN), EINVAL for a bad n, or what bpf(2)/mmap(2) said. When the
 *      verifier refuses the program and log is not NULL, its message is left there.
 *      On failure nothing is left open.
 *    rsteer_add(s, i, lfd): puts listener lfd (listening, SO_REUSEPORT, all in one
 *      group) in slot i. 0, or -1 with errno (EINVAL for i out of range).
 *    rsteer_attach(s, lfd): attaches the program to lfd's group. 0, or -1 with errno.
 *    rsteer_done(s, i): worker i finished a connection; load[i] never goes below 0
 *      (a connection the kernel placed by hash, after a failed pick, was not counted).
 *    rsteer_load(s, i): load[i] now.
 *    rsteer_resync(s, i, lfd): sets load[i] to the number of connections waiting in
 *      listener lfd's accept queue (TCP_INFO), for a new worker taking over slot i
 *      from one that died with connections counted. 0, or -1 with errno (EINVAL for
 *      i out of range).
 *    rsteer_close(s): unmaps and closes everything (the kernel keeps the program for
 *      as long as a listener of the group holds it). Safe on a zeroed or closed s.
 *
 * In a pre-forking server: the master opens, adds every slot's listener and attaches
 * once, before it forks; worker i calls rsteer_done(s, i) when it has finished a
 * connection (closed it); when slot i gets a new worker, the master calls
 * rsteer_resync(s, i, lfd). Reusing the listeners across worker generations keeps
 * the maps valid (a slot refers to a socket, not to a process).
 *
 * The mapping is MAP_SHARED: workers forked after rsteer_open share it, and each
 * process may call rsteer_close on its own copy. The counters are updated with
 * atomic instructions on both sides. A connection the client abandons before the
 * worker accepts it stays counted (the worker never sees it).
 */
#ifndef FDLAB_REUSEPORT_STEER_H
#define FDLAB_REUSEPORT_STEER_H

#include <stddef.h>
#include <stdint.h>

#define RSTEER_MAX 16

struct rsteer {
    int n;
    int socks, loadmap, prog; /* -1 when closed */
    uint64_t *load;           /* n counters, shared with the kernel */
    size_t maplen;
};

int rsteer_attach_cpu(int lfd, int n);

int rsteer_open(struct rsteer *s, int n, char *log, size_t loglen);
int rsteer_add(struct rsteer *s, int i, int lfd);
int rsteer_attach(struct rsteer *s, int lfd);
void rsteer_done(struct rsteer *s, int i);
uint64_t rsteer_load(const struct rsteer *s, int i);
int rsteer_resync(struct rsteer *s, int i, int lfd);
void rsteer_close(struct rsteer *s);

#endif
