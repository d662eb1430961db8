/* netns — run a command in a network namespace of its own, lo up (bench-12 runs its
 * scenarios in one, so that net.ipv4.tcp_migrate_req can be set without changing the
 * host).
 *
 *   netns COMMAND [ARGS...]
 *
 * Execs COMMAND (looked up in PATH) in the new namespace. Exit status: COMMAND's;
 * 77 when the namespace may not be created (no CAP_SYS_ADMIN; the reason on stderr),
 * 2 without a command, 127 when COMMAND cannot be run.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "err.h"
#include "lib/netns.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: netns COMMAND [ARGS...]\n");
        return 2;
    }
    if (netns_enter() < 0) {
        warn_errno("unshare(CLONE_NEWNET) and lo up");
        return errno == EPERM ? 77 : 1;
    }
    execvp(argv[1], argv + 1);
    warn_errno("exec %s", argv[1]);
    return 127;
}
