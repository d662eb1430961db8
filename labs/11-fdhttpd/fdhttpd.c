/* fdhttpd — lab 11's server: a master and N pre-forked epoll workers.
 * `fdhttpd --help` documents the options; lib/master.h maps the master's files,
 * lib/worker.h the worker's. */
#include <stdio.h>
#include <stdlib.h>

#include "lib/accept.h"
#include "lib/config.h"
#include "lib/master.h"

int main(int argc, char **argv)
{
    /* On the heap: the master keeps it as generation 1's config and frees it when a
     * reload replaces it (option values may point into it: cfg_text). */
    struct fdh_config *cfg = malloc(sizeof *cfg);
    char err[300];
    if (cfg == NULL) {
        perror("fdhttpd: malloc");
        return 1;
    }
    if (fdh_config_parse(argc, argv, cfg, err, sizeof err) < 0) {
        fprintf(stderr, "fdhttpd: %s (fdhttpd --help)\n", err);
        free(cfg);
        return 1;
    }
    if (cfg->check_only) {
        char a[SA_TEXT_MAX];
        printf("fdhttpd: configuration ok: listen=%s", sa_format(&cfg->listen[0].u.sa, cfg->listen[0].len, a, sizeof a));
        for (int i = 1; i < cfg->nlisten; i++)
            printf(",%s", sa_format(&cfg->listen[i].u.sa, cfg->listen[i].len, a, sizeof a));
        printf(" workers=%d accept=%s root=%s\n", cfg->workers, cfg->accept->name, cfg->root ? cfg->root : "(none)");
        free(cfg);
        return 0;
    }
    return fdh_master_run(cfg);
}
