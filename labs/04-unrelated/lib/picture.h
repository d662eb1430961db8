/* picture.h — lab 04's picture (fdsnap.h): the unrelated client holding a file it
 * could not open itself, next to the server's table.
 *
 * When FDLAB_DRAW is set, the client, once the descriptor has arrived, sends its two
 * numbers and its own open()'s result ("fds <socket> <received> <EACCES|ok>"), shuts down its sending side and waits for the
 * server to close; the server reads up to that end of file (both alive, the client
 * holding the descriptor), draws, and closes. Either side without the other just
 * sees the close it would have seen anyway, so nothing can hang; each wait is
 * bounded by PICTURE_WAIT_MS.
 *
 * srv_draw(name, conn, fd, path, cred): the server's half (listening on the abstract
 *   name, "@..."), after it sent fd, opened from path, over conn to the peer cred. Writes FDLAB_DRAW/04-unrelated.dot. Returns 1 when it drew, 0 when not
 *   drawing, -1 (reported on stderr) when it could not draw.
 * clnt_hold_for_picture(sock, fd, self_errno): the client's half, after it received fd
 *   on sock; self_errno is what its own open() of the path gave (0: it succeeded).
 *   Does nothing when not drawing.
 */
#ifndef FDLAB_LAB04_PICTURE_H
#define FDLAB_LAB04_PICTURE_H

#include <sys/socket.h>

#define PICTURE_WAIT_MS 5000

int srv_draw(const char *name, int conn, int fd, const char *path, const struct ucred *cred);
void clnt_hold_for_picture(int sock, int fd, int self_errno);

#endif
