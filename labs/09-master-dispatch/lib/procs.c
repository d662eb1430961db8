/* procs.c — process helpers of lab 09 (see internal.h). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "internal.h"

void self_usage(long *cpu_us, long *nvcsw, long *nivcsw)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) < 0)
        die("getrusage");
    *cpu_us = (long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000L +
              (long)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    *nvcsw = ru.ru_nvcsw;
    *nivcsw = ru.ru_nivcsw;
}

int reap_all(pid_t *pids, int n, int timeout_ms)
{
    int left = 0, clean = 0;
    for (int i = 0; i < n; i++)
        left += pids[i] > 0;
    for (int waited = 0; left > 0; waited += 10) {
        int killed = waited >= timeout_ms;
        for (int i = 0; i < n; i++) {
            if (pids[i] <= 0)
                continue;
            if (killed)
                kill(pids[i], SIGKILL);
            int status;
            pid_t r = waitpid(pids[i], &status, killed ? 0 : WNOHANG);
            if (r == pids[i]) {
                if (!killed && WIFEXITED(status) && WEXITSTATUS(status) == 0)
                    clean++;
                pids[i] = 0;
                left--;
            } else if (r < 0 && errno == ECHILD) {
                pids[i] = 0;
                left--;
            } else if (r < 0 && errno != EINTR) {
                die("waitpid %d", (int)pids[i]);
            }
        }
        if (left > 0)
            sleep_ms(10);
    }
    return clean;
}
