/* Tests for lab 12's experiment driver, bench/12-reload.sh, in its smoke mode: two
 * reloads and one upgrade with the listening sockets handed over, two naive restarts
 * and two upgrades that close the listeners early, each under continuous load from
 * three fdload clients (kept-alive with retry, kept-alive --no-retry, Connection:
 * close).
 *
 * What is asserted: the driver follows the server through every event (reload=done,
 * the new master after an upgrade, a restart on the same port) to the end, leaves
 * nothing running, and accounts for every request (ok or failed, every failure under
 * exactly one kind) in the summary and in the series alike. That the hand-over loses no
 * request is lab 12's own claim, asserted by its load scenario (labs/12-reload, the
 * reload branch), so it is not asserted twice here — the smoke run prints its numbers.
 * Runs from the repository root (as `make check` does). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdcount.h"
#include "labpath.h"
#include "spawn.h"

/* One line of 12-reload.csv: scenario,client,events,requests,ok,failed,reset,refused,
 * connect,eof,timeout,bad,retried. */
struct row {
    char scenario[32], client[32];
    long events, requests, ok, failed, reset, refused, connect, eof, timeout, bad, retried;
};

/* The row for scenario/client; fails the test when it is missing. */
static struct row find_row(const char *path, const char *scenario, const char *client)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "open %s", path);
    char line[512];
    struct row r;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        memset(&r, 0, sizeof r);
        int n = sscanf(line, "%31[^,],%31[^,],%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld",
                       r.scenario, r.client, &r.events, &r.requests, &r.ok, &r.failed, &r.reset,
                       &r.refused, &r.connect, &r.eof, &r.timeout, &r.bad, &r.retried);
        if (n == 13 && strcmp(r.scenario, scenario) == 0 && strcmp(r.client, client) == 0) {
            fclose(f);
            return r;
        }
    }
    fclose(f);
    cr_assert_fail("no row %s,%s in %s", scenario, client, path);
    return r;
}

/* Sums over the rows of 12-reload-series.csv (scenario,client,t_s,ok,errors,refused,
 * connect,reset,eof,timeout,bad,retried) of one scenario and client. */
static void series_sums(const char *path, const char *scenario, const char *client, long *ok,
                        long *errors, long *refused, long *retried)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "open %s", path);
    char line[512];
    *ok = *errors = *refused = *retried = 0;
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        char s[32], c[32];
        double t;
        long v[9];
        if (line[0] == '#' ||
            sscanf(line, "%31[^,],%31[^,],%lf,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld", s, c, &t,
                   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]) != 12)
            continue;
        if (strcmp(s, scenario) != 0 || strcmp(c, client) != 0)
            continue;
        rows++;
        *ok += v[0];
        *errors += v[1];
        *refused += v[2];
        *retried += v[8];
    }
    fclose(f);
    cr_assert_gt(rows, 0, "%s/%s has series rows", scenario, client);
}

static void check_consistent(const struct row *r)
{
    cr_assert_gt(r->ok, 0, "%s/%s: the load ran", r->scenario, r->client);
    cr_assert_eq(r->requests, r->ok + r->failed, "%s/%s: every request ok or failed", r->scenario,
                 r->client);
    cr_assert_eq(r->failed, r->reset + r->refused + r->connect + r->eof + r->timeout + r->bad,
                 "%s/%s: every failure has one kind", r->scenario, r->client);
}

Test(reloadbench, smoke_runs_every_scenario_and_accounts_for_every_request, .timeout = 120)
{
    char dir[] = "/tmp/reloadbench-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char *argv[] = {"sh", "bench/12-reload.sh", "--smoke", dir, NULL};
    struct run_result r = {0};
    int fds = fd_count();
    cr_assert_eq(run_capture(argv, 100, &r), 0);
    cr_assert_eq(r.timed_out, 0, "the smoke run is bounded: %s", r.err);
    cr_assert_eq(run_exit_code(&r), 0, "the driver failed:\n%s", r.err);
    cr_assert_eq(r.leftovers, 0, "no server or client left running");
    cr_assert_eq(fd_count(), fds);

    char path[128];
    snprintf(path, sizeof path, "%s/12-reload.csv", dir);
    const char *clients[] = {"ka", "ka_noretry", "close", "all"};
    for (size_t c = 0; c < 4; c++) {
        struct row h = find_row(path, "handover", clients[c]);
        check_consistent(&h);
        cr_assert_eq(h.events, 3, "2 reloads + 1 upgrade");
        struct row n = find_row(path, "naive", clients[c]);
        check_consistent(&n);
        cr_assert_eq(n.events, 2);
        struct row e = find_row(path, "early", clients[c]);
        check_consistent(&e);
        cr_assert_eq(e.events, 2);
    }
    /* The series rows add up to the summary, client by client: the plot shows every
     * failure the table counts. (How many fail in a naive restart is a rate times a
     * gap of a few milliseconds — with the smoke run's light load it may be none, so
     * it is not asserted.) */
    snprintf(path, sizeof path, "%s/12-reload-series.csv", dir);
    char summary[128];
    snprintf(summary, sizeof summary, "%s/12-reload.csv", dir);
    const char *scen[] = {"handover", "naive", "early"};
    for (size_t k = 0; k < 3; k++)
        for (size_t c = 0; c < 3; c++) {
            long ok, errors, refused, retried;
            series_sums(path, scen[k], clients[c], &ok, &errors, &refused, &retried);
            struct row w = find_row(summary, scen[k], clients[c]);
            cr_assert_eq(ok, w.ok, "%s/%s: ok in the series = ok in the summary", scen[k],
                         clients[c]);
            cr_assert_eq(errors, w.failed, "%s/%s: failed", scen[k], clients[c]);
            cr_assert_eq(refused, w.refused, "%s/%s: refused", scen[k], clients[c]);
            cr_assert_eq(retried, w.retried, "%s/%s: retried", scen[k], clients[c]);
        }

    const char *files[] = {"12-reload-series.csv", "12-reload-events.csv"};
    for (size_t k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[k]);
        cr_assert_eq(access(path, R_OK), 0, "%s written", files[k]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/12-reload.csv", dir);
    unlink(path);
    cr_assert_eq(rmdir(dir), 0, "only the three data files in %s", dir);
    run_result_free(&r);
}

Test(reloadbench, subreaper_adopts_and_reaps_orphans, .timeout = 120)
{
    /* The command leaves an orphan (a background sleep whose parent shell exits at
     * once) and exits 3: the subreaper adopts the orphan, waits for it, reaps it, and
     * then exits 3 — nothing is left in the group, not even a zombie. */
    char prog[256];
    build_path(prog, sizeof prog, "bench/subreaper");
    char *argv[] = {prog, "sh", "-c", "(sleep 0.3 &); exit 3", NULL};
    struct run_result r = {0};
    cr_assert_eq(run_capture(argv, 60, &r), 0);
    cr_assert_eq(r.timed_out, 0);
    cr_assert_eq(run_exit_code(&r), 3, "the command's status: %s", r.err);
    cr_assert_eq(r.leftovers, 0, "the orphan was reaped before the subreaper exited");
    run_result_free(&r);

    char *usage[] = {prog, NULL};
    cr_assert_eq(run_capture(usage, 60, &r), 0);
    cr_assert_eq(run_exit_code(&r), 2, "no command: usage error");
    run_result_free(&r);
}
