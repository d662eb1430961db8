/* pgroup.h — what is left of a process group, read from /proc (proc(5)).
 *
 * Labs and tests start a server in a group of its own so that whatever it forks can
 * be found, counted and killed afterwards; a well-behaved server leaves nothing.
 *
 * pgroup_count(pgid): the number of processes whose process group is pgid and that
 *   are not yet dead (state Z or X in /proc/PID/stat does not count). Processes that
 *   vanish while /proc is read are skipped. Returns >= 0, or -1 with errno when
 *   /proc cannot be opened.
 */
#ifndef FDLAB_PGROUP_H
#define FDLAB_PGROUP_H

#include <sys/types.h>

int pgroup_count(pid_t pgid);

#endif
