/* loadgen.h — the load client behind labs 06–09 (and, grown, lab 11's fdload).
 *
 * It keeps `connections` requests in flight against host:port from one thread with
 * one epoll instance (non-blocking connect, write, read until the response is
 * complete), and records for every request its start time, latency and which
 * worker served it. Lab servers name the worker in a response header
 * "X-Worker: <id>" (see labreply.h); fdhttpd can add the same header.
 *
 * A response is complete at EOF (Connection: close) or, when the response carries
 * Content-Length, after that many body bytes, or at the end of a chunked body
 * (Transfer-Encoding: chunked, trailers skipped). Responses to HEAD (a request that
 * begins with "HEAD "), 1xx, 204 and 304 have no body whatever their headers say;
 * an interim 1xx (not 101) is skipped and the final response after it is parsed.
 *
 * loadgen_run(opts, result):
 *   Runs until opts->requests requests have finished (ok or error), or, when
 *   opts->requests == 0, until opts->duration_s has passed (requests in flight
 *   then are finished, not counted as errors: no new one starts, those in flight
 *   complete normally, each still bounded by timeout_s). Every wait is bounded by
 *   opts->timeout_s per request (default 5 s): a request that exceeds it is closed
 *   and counted as LG_ERR_TIMEOUT. Never blocks forever, never leaks a descriptor.
 *   Accepts: host an IPv4 or IPv6 address or a host name (loadgen_resolve; NULL =
 *   127.0.0.1), port > 0, 1 <= connections
 *   <= 65535, and requests > 0 or duration_s > 0.
 *   Any HTTP status counts as ok (the lab servers only send 200). A failing socket()
 *   (EMFILE: raise RLIMIT_NOFILE for many connections) counts as LG_ERR_CONNECT.
 *   With keepalive, a connection is reused only when the response's body was framed
 *   (Content-Length, chunked, or no body), it had no "Connection: close" (and was not
 *   an HTTP/1.0 response without "Connection: keep-alive"), and no unasked-for bytes
 *   followed it. A request on a REUSED connection that sees EOF or RST before ANY
 *   byte of its response (the server closed the idle connection as the request went
 *   out: the race HTTP/1.1 keep-alive cannot avoid) is retried once on a fresh
 *   connection, as real clients do and RFC 9112 9.3.1 allows — only when its method
 *   is idempotent (GET, HEAD, OPTIONS, TRACE, PUT, DELETE) and not opts->no_retry.
 *   Every retry is counted in result->retried (requests resent; never hidden); the
 *   retried request's own outcome is then recorded as usual, once.
 *
 * Extensions for lab 11's fdload (all default to the behaviour above when zero):
 *   pipeline = D > 1: each connection writes D requests back to back (one send of
 *     D copies of the request) and parses the D responses in order, then sends the
 *     next batch (as wrk's pipelining does). The batch as a whole is bounded by
 *     timeout_s from its send; when it fails, every request of it not yet answered
 *     is recorded with that error. D <= LOADGEN_MAX_PIPELINE.
 *   rate = R > 0 (open loop): request k is due at the intended time t0 + k/R,
 *     whatever the server does. A due request takes a free connection (a kept-alive
 *     idle one first, else a new one; up to `pipeline` due requests go out together);
 *     when none is free it waits, and its latency still counts from its INTENDED
 *     start. So a stall of the server shows up in the latency of every request that
 *     should have been sent during it, not only in the few that were in flight
 *     (coordinated omission; the idea of Gil Tene's wrk2). The timeout counts from
 *     the actual send. Every request due before duration_s is sent, so when the
 *     server falls behind the run lasts longer than duration_s (the backlog is
 *     measured, not dropped). With threads every thread runs at rate/nthreads on
 *     the same schedule. Without rate (closed loop) a request starts when its
 *     connection is free, and intended = actual start.
 *   request_len: bytes of `request` (which may then hold NULs, e.g. a POST body);
 *     0 means strlen(request).
 *   no_samples = 1: do not keep the per-request samples (samples = NULL, nsamples
 *     = 0; loadgen_percentile then returns 0 — use result->latency instead), so a
 *     long run needs constant memory.
 *   no_retry = 1: never retry (the race then shows as LG_K_EOF / LG_K_RESET).
 *   stop: when non-NULL and *stop becomes non-zero (from any thread), the run ends
 *     as a duration run does: no new request starts, those in flight finish (each
 *     bounded by timeout_s); an open loop's backlog is dropped. With requests == 0
 *     and a long duration_s, this is how a driver stops a continuous run.
 *   live: when non-NULL, every finished request is also added to live->kinds[kind]
 *     and every retry to live->retried (relaxed atomics), so another thread can
 *     sample progress while the run goes on (fdload --series). Shared by threads.
 *   Always filled: result->latency (a histogram of successful requests' latency in
 *   ns, allocated; freed by loadgen_result_free), status[] (successful responses
 *   by status / 100), bytes_read/bytes_written, connects (connections opened),
 *   kinds[] (finished requests by enum lg_kind: the outcome in finer detail than
 *   errors[]), retried.
 *
 * loadgen_run_threads(opts, nthreads, result): the same run split over nthreads
 *   threads, each an independent loadgen_run with connections/nthreads connections
 *   (the first connections % nthreads get one more), requests and rate split the
 *   same way; the results are merged into *result (counts added, histograms merged,
 *   samples concatenated with start_s relative to each thread's own start, elapsed_s
 *   the longest). thread_ok[i] / thread_requests[i] hold each thread's share for
 *   i < nthreads <= LOADGEN_MAX_THREADS. Needs connections >= nthreads (and requests
 *   >= nthreads in count mode). Returns 0, or -1 with errno (nothing left allocated).
 *   Returns 0 with *result filled (free with loadgen_result_free), or -1 with errno
 *   (EINVAL for bad options, others when setup failed — nothing is left open).
 * loadgen_percentile(result, q): latency in seconds at quantile q in [0,1] over the
 *   successful requests (nearest-rank), or 0 when there were none.
 * loadgen_write_csv(result, f): one line per request
 *   "start_s,latency_s,worker,error" (error is loadgen_error_name()), after a
 *   header line; returns 0, or -1 with errno when writing failed.
 * loadgen_resolve(host, port, &addr): an IPv4/IPv6 literal (bare or in brackets) or
 *   a host name (getaddrinfo: its first IPv4 or IPv6 TCP address) with port into
 *   *addr. Returns 0, or -1 with errno EINVAL when nothing resolves.
 * loadgen_error_name(e): "ok", "connect", "reset", "timeout", "protocol" — lower
 *   case, so usable in kv keys ("errors.timeout").
 * loadgen_kind_name(k): "ok", "refused", "connect", "reset", "eof", "timeout", "bad".
 * loadgen_kind_error(k): the coarse class of a kind (LG_OK for LG_K_OK).
 */
#ifndef FDLAB_LOADGEN_H
#define FDLAB_LOADGEN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "histogram.h"
#include "sockaddr.h"

#define LOADGEN_MAX_WORKERS 64
#define LOADGEN_MAX_PIPELINE 1024
#define LOADGEN_MAX_THREADS 64

enum lg_error {
    LG_OK = 0,
    LG_ERR_CONNECT, /* connect() failed (refused, reset in handshake) */
    LG_ERR_RESET,   /* ECONNRESET/EPIPE while writing or reading */
    LG_ERR_TIMEOUT, /* no complete response within timeout_s */
    LG_ERR_PROTOCOL /* response unparsable, or EOF before any status line */
};

/* What happened to one request, in more detail than enum lg_error (each kind belongs
 * to exactly one error class: loadgen_kind_error). errors[] keeps the coarse classes
 * that labs 06-09 sum; kinds[] tells a refused connection (nobody listening) from a
 * reset one (a listener closed with connections in its queue, a worker killed) and a
 * connection closed before the answer (EOF) from a garbled answer. */
enum lg_kind {
    LG_K_OK = 0,
    LG_K_REFUSED, /* connect: ECONNREFUSED (class CONNECT) */
    LG_K_CONNECT, /* connect: any other failure, socket() included (class CONNECT) */
    LG_K_RESET,   /* ECONNRESET/EPIPE once connected (class RESET) */
    LG_K_EOF,     /* EOF before the response was complete (class PROTOCOL) */
    LG_K_TIMEOUT, /* no complete response within timeout_s (class TIMEOUT) */
    LG_K_BAD,     /* the response is not parsable HTTP/1.x (class PROTOCOL) */
    LG_K_COUNT
};

/* Progress counters another thread may read during a run (opts.live). */
struct loadgen_live {
    atomic_long kinds[LG_K_COUNT]; /* finished requests by kind ([LG_K_OK]: ok) */
    atomic_long retried;           /* requests resent on a fresh connection */
};

struct loadgen_opts {
    const char *host;    /* address or name (loadgen_resolve); NULL: 127.0.0.1 */
    uint16_t port;
    int connections;     /* requests in flight at once */
    long requests;       /* total; 0 means run for duration_s */
    double duration_s;
    double timeout_s;    /* per request; 0 means 5 s */
    const char *request; /* bytes to send; NULL: "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n
                            Connection: close\r\n\r\n" (or keep-alive, per keepalive) */
    int keepalive;       /* 1: reuse each connection for many requests */
    /* --- lab 11 extensions; zero keeps the behaviour of labs 06-09 --- */
    int pipeline;        /* requests written back to back per connection; 0 = 1 */
    double rate;         /* open loop: requests per second; 0 = closed loop */
    size_t request_len;  /* bytes of request; 0 = strlen(request) */
    int no_samples;      /* 1: keep only the histogram, not one sample per request */
    int no_retry;        /* 1: never retry a request on a fresh connection */
    const atomic_int *stop;    /* non-NULL: end the run when *stop != 0 */
    struct loadgen_live *live; /* non-NULL: progress counters (see above) */
};

struct loadgen_sample {
    double start_s;   /* since the run began */
    double latency_s; /* connect (or send, when kept alive) to complete response */
    int worker;       /* X-Worker value, -1 when absent */
    enum lg_error error;
    enum lg_kind kind; /* the same outcome in detail */
};

struct loadgen_result {
    long ok;
    long errors[LG_ERR_PROTOCOL + 1]; /* indexed by enum lg_error; [LG_OK] unused */
    long per_worker[LOADGEN_MAX_WORKERS]; /* successful requests per X-Worker id */
    double elapsed_s;
    struct loadgen_sample *samples; /* one per finished request, in finishing order */
    size_t nsamples;
    /* --- lab 11 extensions --- */
    struct histogram *latency; /* ns, successful requests only (histogram.h) */
    long status[6];            /* successful responses by status / 100 (1..5) */
    long long bytes_read;      /* response bytes, headers included */
    long long bytes_written;   /* request bytes */
    long connects;             /* connections opened (socket() + connect()) */
    int nthreads;              /* loadgen_run_threads: threads used; else 1 */
    long thread_ok[LOADGEN_MAX_THREADS];
    long thread_requests[LOADGEN_MAX_THREADS]; /* ok + errors per thread */
    long kinds[LG_K_COUNT];    /* finished requests by kind ([LG_K_OK] == ok) */
    long retried;              /* requests resent once on a fresh connection */
};

int loadgen_run(const struct loadgen_opts *opts, struct loadgen_result *result);
int loadgen_resolve(const char *host, uint16_t port, struct sa_any *addr);
int loadgen_run_threads(const struct loadgen_opts *opts, int nthreads,
                        struct loadgen_result *result);
double loadgen_percentile(const struct loadgen_result *result, double q);
int loadgen_write_csv(const struct loadgen_result *result, FILE *f);
void loadgen_result_free(struct loadgen_result *result);
const char *loadgen_error_name(enum lg_error e);
const char *loadgen_kind_name(enum lg_kind k);
enum lg_error loadgen_kind_error(enum lg_kind k);

#endif
