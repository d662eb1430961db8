/* forkflush.c — see forkflush.h. */
#include "forkflush.h"

#include <stdio.h>
#include <unistd.h>

#include "err.h"

pid_t fork_or_die(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    return pid;
}
