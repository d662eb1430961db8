/* proto.h — the descriptor server's protocol (opensrv <-> openclnt).
 *
 * Transport: AF_UNIX SOCK_SEQPACKET, one request and one reply per connection (the
 * credential check belongs to the connection, see SO_PEERCRED in unix(7)).
 * SEQPACKET keeps message boundaries, so a reply is never split or merged and the
 * descriptor is attached to exactly that reply.
 *
 *   request  "open <path> <mode>"   mode: r | w | rw; path may contain spaces (the
 *                                     LAST space separates the mode); no NUL byte.
 *   reply    "ok"                    exactly one descriptor attached (SCM_RIGHTS)
 *            "err <errno-number>"    no descriptor attached
 */
#ifndef LAB04_PROTO_H
#define LAB04_PROTO_H

#define PROTO_REQ_MAX 4200 /* "open " + PATH_MAX + " rw" fits */
#define PROTO_REPLY_MAX 64
#define PROTO_IO_TIMEOUT_S 5 /* every wait on a peer is bounded by this */

#endif
