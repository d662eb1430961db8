/* fdpass.h — passing open file descriptors over an AF_UNIX socket (SCM_RIGHTS).
 *
 * What travels is not a number but a reference to an open file description: the
 * receiver gets a NEW descriptor number in ITS table (the lowest free one) that
 * refers to the same open file as the sender's — same offset, same status flags.
 * See unix(7) "Ancillary messages", cmsg(3), sendmsg(2), recvmsg(2).
 *
 * Both functions work on SOCK_STREAM and SOCK_SEQPACKET (and SOCK_DGRAM) sockets,
 * use exactly one sendmsg()/recvmsg() per call (retried on EINTR), never raise
 * SIGPIPE, and never leak a descriptor, whatever the outcome.
 *
 * ssize_t send_fds(sock, fds, nfds, buf, len)
 *   Sends len payload bytes from buf with nfds descriptors attached.
 *   Accepts: 0 <= nfds <= FDPASS_MAX (fds may be NULL when nfds == 0); len >= 1
 *   (descriptors ride on data: a zero-byte stream write carries nothing).
 *   The caller keeps its own descriptors and may close them as soon as this returns:
 *   the kernel holds a reference until the receiver takes it.
 *   Returns: the number of payload bytes sent — len, or fewer only on a SOCK_STREAM
 *   socket that is non-blocking or was interrupted after the first byte (the
 *   descriptors went with the first byte; send the rest with write()).
 *   -1 with errno: EINVAL (bad nfds/len/buf), EBADF (a descriptor in fds is not
 *   open), EPIPE/ECONNRESET (peer gone), EAGAIN (non-blocking and full),
 *   ETOOMANYREFS (too many descriptors in flight for RLIMIT_NOFILE), others from
 *   sendmsg(2).
 *
 * ssize_t recv_fds(sock, fds, nfds, buf, len)
 *   Receives up to len payload bytes into buf and up to *nfds descriptors into fds.
 *   Accepts: len >= 1; *nfds is the capacity of fds, 0 <= *nfds <= FDPASS_MAX.
 *   Received descriptors are close-on-exec (MSG_CMSG_CLOEXEC) and are the caller's
 *   to close. On return *nfds holds how many arrived (0 when none or on any error).
 *   Returns: payload bytes received (> 0); 0 at end of file (peer closed, no
 *   descriptors); -1 with errno:
 *     EMSGSIZE — more descriptors arrived than *nfds allows (or the kernel set
 *                MSG_CTRUNC), or the payload was cut (MSG_TRUNC on SEQPACKET/DGRAM).
 *                The message is consumed, and every descriptor that did arrive has
 *                been closed: nothing leaks.
 *     EINVAL   — bad arguments;  EAGAIN — non-blocking and nothing to read;
 *     others from recvmsg(2).
 *   On SOCK_STREAM a payload may arrive in pieces (the kernel never merges two
 *   descriptor-carrying sends into one read, but may split one): send fixed-size
 *   messages and read the rest of a short one with read().
 */
#ifndef FDLAB_FDPASS_H
#define FDLAB_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

/* The kernel's SCM_MAX_FD: the most descriptors one message may carry. */
#define FDPASS_MAX 253

ssize_t send_fds(int sock, const int *fds, size_t nfds, const void *buf, size_t len);
ssize_t recv_fds(int sock, int *fds, size_t *nfds, void *buf, size_t len);

#endif
