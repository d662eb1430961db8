/* kcmp.c — see kcmp.h. */
#include "kcmp.h"

#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <unistd.h>

int kcmp_file(pid_t p1, pid_t p2, int fd1, int fd2)
{
    /* The two descriptor arguments are unsigned long in the kernel's signature; a
     * negative number becomes a huge index, which the kernel answers with EBADF. */
    long k = syscall(SYS_kcmp, p1, p2, KCMP_FILE, (unsigned long)fd1, (unsigned long)fd2);
    return k < 0 ? -1 : (int)k;
}
