/* sdnotify.h — systemd's readiness protocol (sd_notify(3)), implemented directly:
 * it is one datagram on an AF_UNIX socket, so no libsystemd is needed.
 *
 * The service manager passes the socket's address in $NOTIFY_SOCKET: a filesystem
 * path, or a name starting with '@' for the abstract namespace (the '@' stands for
 * the leading NUL byte). Each message is newline-separated "VAR=value" assignments:
 *   READY=1              start-up (or a reload) finished; MAINPID=N names the main
 *                        process (after a binary upgrade: the new master)
 *   RELOADING=1          a reload began; with Type=notify-reload systemd also wants
 *                        MONOTONIC_USEC=<CLOCK_MONOTONIC in µs> in the same message
 *   STOPPING=1           shutting down
 *
 * sd_notify_send(state)
 *   Sends state (a NUL-terminated message, e.g. "READY=1\nMAINPID=42") as ONE
 *   datagram to $NOTIFY_SOCKET. Never blocks (MSG_DONTWAIT), never raises SIGPIPE.
 *   Returns 1 when sent, 0 when $NOTIFY_SOCKET is unset or empty (not under systemd:
 *   nothing to do), -1 with errno: EINVAL (state empty, or the address is neither a
 *   path nor '@name'), ENAMETOOLONG (it does not fit sun_path), or socket/sendto
 *   errors (ECONNREFUSED: nobody listens there; EAGAIN: its queue is full).
 * sd_notify_monotonic_usec(): CLOCK_MONOTONIC in microseconds (for MONOTONIC_USEC=).
 */
#ifndef FDLAB_SDNOTIFY_H
#define FDLAB_SDNOTIFY_H

#include <stdint.h>

int sd_notify_send(const char *state);
uint64_t sd_notify_monotonic_usec(void);

#endif
