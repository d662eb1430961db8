/* pdeath.c — see pdeath.h. */
#include "pdeath.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "err.h"

void die_with_parent(pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        die("prctl(PR_SET_PDEATHSIG)");
    if (getppid() != parent)
        _exit(1);
}
