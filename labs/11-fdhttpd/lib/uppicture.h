/* uppicture.h — the picture of a binary upgrade (lab 12, fdsnap.h): the old and the
 * new master holding the very same listening sockets.
 *
 * upgrade_draw(conn, lfd, nlfd): called by the new master once its generation is
 *   ready and before it tells the old master READY — the one moment both masters
 *   certainly hold the listeners (the old one closes them on READY). conn is the
 *   upgrade connection (its peer, by SO_PEERCRED, is the old master); lfd[0..nlfd-1]
 *   the listeners received over it. When FDLAB_DRAW is set, writes
 *   FDLAB_DRAW/12-reload-upgrade.dot; does nothing otherwise. A failure to draw is
 *   reported on stderr and changes nothing else.
 */
#ifndef FDH_UPPICTURE_H
#define FDH_UPPICTURE_H

void upgrade_draw(int conn, const int *lfd, int nlfd);

#endif
