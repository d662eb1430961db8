/* parts.h — lab 13's three parts, each printing key=value lines and its claims.
 * See lab.c for the story and lib/burst.c, lib/pass.c, lib/ledger.c for each part. */
#ifndef FDLAB13_PARTS_H
#define FDLAB13_PARTS_H

/* Claims, as every lab prints them: claim(c, key, ok) prints key=ok (1|0) and counts it. */
struct claims {
    int shown, total;
};
void claim(struct claims *c, const char *key, int ok);

/* burst.c — part 1: a burst of n connections (a child process connects them all, then
 * holds them) accepted by an epoll accept loop, by one multishot IORING_OP_ACCEPT,
 * and by one multishot accept into fixed ("direct") slots. Prints burst.* keys. */
void burst_part(struct claims *c, unsigned n);

/* pass.c — part 2: connections handed from an acceptor ring to worker rings with
 * IORING_OP_MSG_RING (threads; and a forked process through an inherited ring fd),
 * against SCM_RIGHTS dispatch between threads, and an io_uring fd offered to
 * SCM_RIGHTS. n connections per design. Prints pass.* keys. */
void pass_part(struct claims *c, unsigned n);

/* ledger.c — part 3: one server process (epoll or io_uring) serving the same tiny
 * response to a load client in this process; what each request costs the server.
 * ledger_case(mode "epoll"|"uring", keepalive, conns, requests, &out): runs one case,
 * prints ledger.<mode>.<keep|close>.* keys; returns 1 when every request was served.
 * ledger_part(c): the four cases side by side (epoll/uring x kept-alive/close). */
#define LEDGER_KEEP 100000 /* requests per kept-alive case (about 0.5 s) */
#define LEDGER_CLOSE 20000 /* requests per close case */
struct ledger {
    double cpu_us_per_req, syscalls_per_req, ctxsw_per_req, rps;
    long ok;
};
int ledger_case(const char *mode, int keepalive, unsigned conns, unsigned requests,
                struct ledger *out);
void ledger_part(struct claims *c);

#endif
