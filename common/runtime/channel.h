/* channel.h — the master <-> worker control channel of fdhttpd and lab 09 (the idea of
 * nginx's ngx_channel_t): typed, fixed-size messages over one AF_UNIX SOCK_SEQPACKET
 * socketpair per worker, a connection descriptor riding along with SCM_RIGHTS.
 *
 * WHY SEQPACKET: it is connection-oriented (the peer's exit is an end of file, so a
 * worker notices a dead master and the master a dead worker) AND keeps message
 * boundaries (unix(7)): one send is one receive, never half a message or two glued,
 * and a descriptor attached to a message arrives with exactly that message.
 *
 * THE MESSAGE: struct channel_msg, 24 bytes, host byte order (both ends are one
 * machine, one build). Every field is always sent:
 *   command  enum channel_cmd
 *   pid      the sender's pid (for logs and checks)
 *   slot     the worker's slot, 0..N-1 (the same in both directions)
 *   fd       CHANNEL_NEW_CONN only: on the sender's side the descriptor to pass; on
 *            the receiver's side channel_recv() replaces it with the receiver's OWN
 *            number for the passed connection. -1 for every other command.
 *   count    CHANNEL_DONE only: the worker's running total of finished connections
 *            (a total, not "one more": any single report brings the master up to
 *            date). Carried as is, never checked; 0 by convention in other commands.
 *
 * COMMANDS (who sends -> who receives):
 *   CHANNEL_READY      worker -> master  "slot S (pid P) is up and accepting"
 *   CHANNEL_NEW_CONN   master -> worker  "serve this connection"; exactly one descriptor
 *   CHANNEL_QUIT       master -> worker  graceful: stop accepting, finish what is in
 *                                        flight, close idle connections, then exit
 *   CHANNEL_TERMINATE  master -> worker  fast: close everything and exit now
 *   CHANNEL_DONE       worker -> master  "I have finished `count` connections in all"
 *                                        (lab 09's load report; fdhttpd sends none)
 * Only NEW_CONN carries a descriptor; any other combination is a protocol error.
 *
 * channel_pair(sv)
 *   socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC). sv[0] is meant for the master,
 *   sv[1] for the worker (the two ends are symmetric). 0, or -1 with errno.
 * channel_send(ch, msg)
 *   Sends *msg in ONE sendmsg(); for CHANNEL_NEW_CONN, msg->fd is attached (the caller
 *   keeps its descriptor and closes it afterwards: the kernel holds its own reference
 *   until the receiver takes it, or drops it if the receiver dies first). Never raises
 *   SIGPIPE. Blocks only if ch is blocking and its buffer is full.
 *   Returns 0; -1 with errno: EINVAL (unknown command, NEW_CONN with msg->fd < 0),
 *   EPIPE/ECONNRESET/ECONNREFUSED (peer gone), EAGAIN (non-blocking and full), others
 *   from send_fds (fdpass.h).
 * channel_recv(ch, msg)
 *   Reads ONE message. Returns 1 with *msg filled (NEW_CONN: msg->fd is the new
 *   descriptor, close-on-exec, the caller's to close); 0 at end of file (the peer closed
 *   its end or died); -1 with errno: EPROTO (wrong size, unknown command, NEW_CONN
 *   without exactly one descriptor, another command with one), EMSGSIZE (too long or
 *   too many descriptors), EAGAIN (non-blocking, nothing queued), others from recvmsg.
 *   On every error any descriptor that arrived has been closed: nothing leaks.
 * channel_cmd_name(command): "ready", "new_conn", "quit", "terminate", "done" or
 *   "unknown".
 */
#ifndef FDLAB_CHANNEL_H
#define FDLAB_CHANNEL_H

#include <stdint.h>

enum channel_cmd {
    CHANNEL_READY = 1,
    CHANNEL_NEW_CONN = 2,
    CHANNEL_QUIT = 3,
    CHANNEL_TERMINATE = 4,
    CHANNEL_DONE = 5,
};

struct channel_msg {
    int32_t command; /* enum channel_cmd */
    int32_t pid;     /* sender's pid */
    int32_t slot;    /* worker slot */
    int32_t fd;      /* NEW_CONN: the descriptor (sender's number, then receiver's); else -1 */
    int64_t count;   /* DONE: connections the worker has finished so far; else 0 */
};

int channel_pair(int sv[2]);
int channel_send(int ch, const struct channel_msg *msg);
int channel_recv(int ch, struct channel_msg *msg);
const char *channel_cmd_name(int command);

#endif
