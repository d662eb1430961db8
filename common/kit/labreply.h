/* labreply.h — the one reply every lab server of labs 06–09 sends.
 *
 * lab_serve(fd, worker_id):
 *   Reads the request until its blank line ("\r\n\r\n"; at most 4 KiB; each read
 *   bounded by 5 s), then writes exactly
 *     "HTTP/1.1 200 OK\r\nX-Worker: <worker_id>\r\nContent-Length: 3\r\n"
 *     "Connection: close\r\n\r\nok\n"
 *   and closes fd. The fd may be blocking or not (a non-blocking fd is waited on
 *   with poll). Returns 0 when the reply was written; -1 with errno otherwise
 *   (ETIMEDOUT, EMSGSIZE for an over-long request, ECONNRESET also when the client
 *   closed before the blank line, ...). fd is closed in every case. Never raises
 *   SIGPIPE (send with MSG_NOSIGNAL).
 */
#ifndef FDLAB_LABREPLY_H
#define FDLAB_LABREPLY_H

int lab_serve(int fd, int worker_id);

#endif
