/* channel.h — the master <-> worker channel of lab 09 (nginx's ngx_channel_t idea).
 *
 * A channel is one end of socketpair(AF_UNIX, SOCK_SEQPACKET): the master keeps one
 * end per worker, the worker the other. Every message is one fixed-size struct
 * chan_msg, sent with ONE sendmsg() and read with ONE recvmsg(): SOCK_SEQPACKET keeps
 * message boundaries (unix(7)), so a read never returns half a message or two
 * messages glued together, and a descriptor attached with SCM_RIGHTS arrives with
 * exactly the message it was sent with.
 *
 * Commands and who sends them:
 *   CH_READY  worker -> master  "slot S (pid P) is up"; no descriptor.
 *   CH_CONN   master -> worker  "serve this connection"; exactly one descriptor
 *                               attached. msg.fd is the MASTER's number for it: it
 *                               means nothing in the worker (which gets its own
 *                               number), chan_recv replaces it with the worker's.
 *   CH_DONE   worker -> master  "finished one; I have finished msg.count in all";
 *                               the master derives the worker's load from it.
 *   CH_QUIT   master -> worker  "stop after what is queued"; no descriptor.
 *
 * chan_pair(sv): socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC). 0 or -1/errno.
 * chan_send(ch, msg, fd): sends *msg with fd attached (fd < 0: none). Blocking. The
 *   caller keeps fd (close it after). Returns 0, or -1 with errno (EPIPE/ECONNRESET
 *   when the peer is gone, from send_fds).
 * chan_recv(ch, msg, &fd): reads one message. Returns 1 with *msg filled and *fd the
 *   received descriptor (or -1 when the message carried none); 0 at end of file
 *   (the peer closed its end); -1 with errno: EPROTO when the message is malformed
 *   (wrong size, unknown command, CH_CONN without exactly one descriptor or another
 *   command with one) — any descriptor that came with it has been closed; EMSGSIZE
 *   from recv_fds (too long / too many descriptors, also closed); others from
 *   recvmsg(2). Never leaks a descriptor.
 */
#ifndef LAB09_CHANNEL_H
#define LAB09_CHANNEL_H

#include <stdint.h>

enum chan_cmd { CH_READY = 1, CH_CONN = 2, CH_DONE = 3, CH_QUIT = 4 };

struct chan_msg {
    int32_t command; /* enum chan_cmd */
    int32_t pid;     /* sender's pid */
    int32_t slot;    /* the worker's slot (0..N-1) */
    int32_t fd;      /* CH_CONN: the descriptor's number (sender's, then receiver's) */
    int64_t count;   /* CH_DONE: connections this worker has finished so far */
};

int chan_pair(int sv[2]);
int chan_send(int ch, const struct chan_msg *msg, int fd);
int chan_recv(int ch, struct chan_msg *msg, int *fd);
const char *chan_cmd_name(int command);

#endif
