/* reuseport_steer.c — see reuseport_steer.h. */
#include "reuseport_steer.h"

#include <errno.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---------------------------------------------------------------- classic BPF */

int rsteer_attach_cpu(int lfd, int n)
{
    if (n < 1 || n > RSTEER_MAX) {
        errno = EINVAL;
        return -1;
    }
    /* A = the CPU that runs the receive path; A %= n; return A. */
    struct sock_filter code[] = {
        {BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(SKF_AD_OFF + SKF_AD_CPU)},
        {BPF_ALU | BPF_MOD | BPF_K, 0, 0, (uint32_t)n},
        {BPF_RET | BPF_A, 0, 0, 0},
    };
    struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
    return setsockopt(lfd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog);
}

/* ---------------------------------------------------------------- eBPF assembler */

/* Room for the longest program: a prologue, 17 instructions per worker, an epilogue. */
#define MAX_INSNS (32 + 17 * RSTEER_MAX)

struct prog {
    struct bpf_insn in[MAX_INSNS];
    int n;
};

static void emit(struct prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
    /* MAX_INSNS covers n <= RSTEER_MAX, which rsteer_open checks. */
    if (p->n >= MAX_INSNS)
        return;
    struct bpf_insn *i = &p->in[p->n++];
    *i = (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

/* dst = a map (src_kind BPF_PSEUDO_MAP_FD) or the address of its value at offset
 * `value_off` (BPF_PSEUDO_MAP_VALUE): a 16-byte load whose second half holds the offset. */
static void emit_map(struct prog *p, uint8_t dst, uint8_t src_kind, int fd, int32_t value_off)
{
    emit(p, BPF_LD | BPF_DW | BPF_IMM, dst, src_kind, 0, fd);
    emit(p, 0, 0, 0, 0, value_off);
}

enum { R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, FP };

/* r0 = bpf_map_lookup_elem(map, fp + key_off), then "if (r0 == 0) goto ?": returns the
 * index of that jump, for the caller to patch. Clobbers r1-r5. */
static int emit_lookup(struct prog *p, int map, int16_t key_off)
{
    emit_map(p, R1, BPF_PSEUDO_MAP_FD, map, 0);
    emit(p, BPF_ALU64 | BPF_MOV | BPF_X, R2, FP, 0, 0);
    emit(p, BPF_ALU64 | BPF_ADD | BPF_K, R2, 0, 0, key_off);
    emit(p, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
    emit(p, BPF_JMP | BPF_JEQ | BPF_K, R0, 0, 0, 0);
    return p->n - 1;
}

/* The program, in the pseudo-C of its comments:
 *
 *   start = ctx->hash % n;  best = ~0;
 *   for i in 0..n-1:                       (unrolled)
 *       score = load[i] << 8 | ((n + i - start) % n) << 4 | i
 *       if (score < best) best = score
 *   key = best & 15
 *   if (bpf_sk_select_reuseport(ctx, socks, &key, 0) == 0)
 *       if ((v = bpf_map_lookup_elem(loadmap, &key))) atomic *v += 1
 *   return SK_PASS            (no pick made: the kernel falls back to its hash)
 *
 * The smallest score is the smallest load, then the first in the rotation. The index
 * rides in the score's low bits instead of a register of its own, and reaches memory
 * only as a helper's key: the verifier then sees one unknown scalar after the loop,
 * not 2^n paths with a known index each. load[i] is read through the lookup helper
 * (the verifier inlines it for arrays) because a direct map-value address is only
 * allowed for single-entry arrays. */
static void assemble(struct prog *p, int n, int socks, int loadmap)
{
    p->n = 0;
    int nulls[RSTEER_MAX + 1], nn = 0;
    emit(p, BPF_ALU64 | BPF_MOV | BPF_X, R6, R1, 0, 0); /* r6 = ctx */
    emit(p, BPF_LDX | BPF_W | BPF_MEM, R9, R6, offsetof(struct sk_reuseport_md, hash), 0);
    emit(p, BPF_ALU64 | BPF_MOD | BPF_K, R9, 0, 0, n);           /* r9 = start */
    emit(p, BPF_ALU64 | BPF_MOV | BPF_K, R8, 0, 0, -1);           /* r8 = best = ~0 */
    for (int i = 0; i < n; i++) {
        emit(p, BPF_ST | BPF_W | BPF_MEM, FP, 0, -8, i);            /* key = i */
        nulls[nn++] = emit_lookup(p, loadmap, -8);
        emit(p, BPF_LDX | BPF_DW | BPF_MEM, R3, R0, 0, 0);          /* r3 = load[i] */
        emit(p, BPF_ALU64 | BPF_LSH | BPF_K, R3, 0, 0, 8);
        emit(p, BPF_ALU64 | BPF_MOV | BPF_K, R4, 0, 0, n + i);
        emit(p, BPF_ALU64 | BPF_SUB | BPF_X, R4, R9, 0, 0);
        emit(p, BPF_ALU64 | BPF_MOD | BPF_K, R4, 0, 0, n);          /* r4 = rank */
        emit(p, BPF_ALU64 | BPF_LSH | BPF_K, R4, 0, 0, 4);
        emit(p, BPF_ALU64 | BPF_OR | BPF_X, R3, R4, 0, 0);
        emit(p, BPF_ALU64 | BPF_OR | BPF_K, R3, 0, 0, i);          /* r3 = score */
        emit(p, BPF_JMP | BPF_JGE | BPF_X, R3, R8, 1, 0);           /* if (r3 >= best) skip */
        emit(p, BPF_ALU64 | BPF_MOV | BPF_X, R8, R3, 0, 0);
    }
    emit(p, BPF_ALU64 | BPF_AND | BPF_K, R8, 0, 0, 15);
    emit(p, BPF_STX | BPF_W | BPF_MEM, FP, R8, -4, 0);              /* key = best & 15 */
    emit(p, BPF_ALU64 | BPF_MOV | BPF_X, R1, R6, 0, 0);
    emit_map(p, R2, BPF_PSEUDO_MAP_FD, socks, 0);
    emit(p, BPF_ALU64 | BPF_MOV | BPF_X, R3, FP, 0, 0);
    emit(p, BPF_ALU64 | BPF_ADD | BPF_K, R3, 0, 0, -4);
    emit(p, BPF_ALU64 | BPF_MOV | BPF_K, R4, 0, 0, 0);
    emit(p, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_sk_select_reuseport);
    int failed = p->n;
    emit(p, BPF_JMP | BPF_JNE | BPF_K, R0, 0, 0, 0);                /* patched: goto out */
    nulls[nn++] = emit_lookup(p, loadmap, -4);
    emit(p, BPF_ALU64 | BPF_MOV | BPF_K, R1, 0, 0, 1);
    emit(p, BPF_STX | BPF_DW | BPF_ATOMIC, R0, R1, 0, BPF_ADD);    /* atomic *r0 += 1 */
    int out = p->n;
    emit(p, BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, SK_PASS);
    emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    p->in[failed].off = (int16_t)(out - failed - 1);
    for (int k = 0; k < nn; k++)
        p->in[nulls[k]].off = (int16_t)(out - nulls[k] - 1);
}

/* ---------------------------------------------------------------- bpf(2) */

static long sys_bpf(int cmd, union bpf_attr *a)
{
    return syscall(SYS_bpf, cmd, a, sizeof *a);
}

static int map_create(uint32_t type, uint32_t value_size, uint32_t entries, uint32_t flags)
{
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.map_type = type;
    a.key_size = 4;
    a.value_size = value_size;
    a.max_entries = entries;
    a.map_flags = flags;
    return (int)sys_bpf(BPF_MAP_CREATE, &a);
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

void rsteer_close(struct rsteer *s)
{
    if (s->load && s->maplen > 0)
        munmap(s->load, s->maplen);
    s->load = NULL;
    s->maplen = 0;
    if (s->n > 0) {
        close_fd(&s->socks);
        close_fd(&s->loadmap);
        close_fd(&s->prog);
    }
    s->n = 0;
}

int rsteer_open(struct rsteer *s, int n, char *log, size_t loglen)
{
    memset(s, 0, sizeof *s);
    s->socks = s->loadmap = s->prog = -1;
    if (n < 1 || n > RSTEER_MAX) {
        errno = EINVAL;
        return -1;
    }
    s->n = n;
    if (log && loglen > 0)
        log[0] = '\0';
    s->socks = map_create(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, 8, (uint32_t)n, 0);
    if (s->socks < 0)
        goto fail;
    s->loadmap = map_create(BPF_MAP_TYPE_ARRAY, 8, (uint32_t)n, BPF_F_MMAPABLE);
    if (s->loadmap < 0)
        goto fail;
    long page = sysconf(_SC_PAGESIZE);
    s->maplen = ((size_t)n * 8 + (size_t)page - 1) / (size_t)page * (size_t)page;
    void *m = mmap(NULL, s->maplen, PROT_READ | PROT_WRITE, MAP_SHARED, s->loadmap, 0);
    if (m == MAP_FAILED) {
        s->maplen = 0;
        goto fail;
    }
    s->load = m;

    struct prog p;
    assemble(&p, n, s->socks, s->loadmap);
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.prog_type = BPF_PROG_TYPE_SK_REUSEPORT;
    a.insns = (uint64_t)(uintptr_t)p.in;
    a.insn_cnt = (uint32_t)p.n;
    a.license = (uint64_t)(uintptr_t)"GPL";
    s->prog = (int)sys_bpf(BPF_PROG_LOAD, &a);
    if (s->prog < 0 && errno != EPERM && log && loglen > 1) {
        /* Again with the verifier's log: asked for on the first try, a log too small
         * for its statistics would fail a good program with ENOSPC. */
        a.log_buf = (uint64_t)(uintptr_t)log;
        a.log_size = (uint32_t)(loglen > UINT32_MAX ? UINT32_MAX : loglen);
        a.log_level = 1;
        s->prog = (int)sys_bpf(BPF_PROG_LOAD, &a);
    }
    if (s->prog < 0)
        goto fail;
    return 0;
fail:;
    int e = errno;
    rsteer_close(s);
    errno = e;
    return -1;
}

int rsteer_add(struct rsteer *s, int i, int lfd)
{
    if (i < 0 || i >= s->n) {
        errno = EINVAL;
        return -1;
    }
    uint32_t key = (uint32_t)i;
    uint64_t value = (uint64_t)lfd;
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.map_fd = (uint32_t)s->socks;
    a.key = (uint64_t)(uintptr_t)&key;
    a.value = (uint64_t)(uintptr_t)&value;
    a.flags = BPF_ANY;
    return sys_bpf(BPF_MAP_UPDATE_ELEM, &a) < 0 ? -1 : 0;
}

int rsteer_attach(struct rsteer *s, int lfd)
{
    return setsockopt(lfd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &s->prog, sizeof s->prog);
}

void rsteer_done(struct rsteer *s, int i)
{
    if (i < 0 || i >= s->n || !s->load)
        return;
    uint64_t v = __atomic_load_n(&s->load[i], __ATOMIC_RELAXED);
    while (v > 0 && !__atomic_compare_exchange_n(&s->load[i], &v, v - 1, 0, __ATOMIC_RELAXED,
                                                 __ATOMIC_RELAXED))
        ;
}

uint64_t rsteer_load(const struct rsteer *s, int i)
{
    if (i < 0 || i >= s->n || !s->load)
        return 0;
    return __atomic_load_n(&s->load[i], __ATOMIC_RELAXED);
}

int rsteer_resync(struct rsteer *s, int i, int lfd)
{
    if (i < 0 || i >= s->n || !s->load) {
        errno = EINVAL;
        return -1;
    }
    /* For a listener, tcpi_unacked is its accept-queue length (tcp_get_info). */
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    if (getsockopt(lfd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
        return -1;
    __atomic_store_n(&s->load[i], (uint64_t)ti.tcpi_unacked, __ATOMIC_RELAXED);
    return 0;
}
