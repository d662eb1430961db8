/* reload.c — generations and the reload (reload.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accept.h"
#include "precomp.h"
#include "channel.h"
#include "err.h"
#include "kv.h"
#include "reload.h"
#include "supervise.h"

struct gen *fdh_gen_new(struct master *m, struct fdh_config *cfg, long id, char *err, size_t errlen)
{
    struct gen *g = calloc(1, sizeof *g);
    if (g == NULL)
        return snprintf(err, errlen, "out of memory"), NULL;
    g->id = id;
    g->cfg = cfg;
    g->m = m;
    g->site.root_fd = -1;
    if (cfg->root && site_open(&g->site, cfg->root, 0) < 0) {
        snprintf(err, errlen, "--root %s: %s", cfg->root, strerror(errno));
        free(g);
        return NULL;
    }
    precomp_configure(&g->site, cfg->gzip_static, cfg->cache_control);
    for (int i = 0; i < FDH_MAX_WORKERS; i++)
        fdh_slot_init(g, i);
    return g;
}

void fdh_gen_free(struct master *m, struct gen *g)
{
    if (g == NULL)
        return;
    for (int i = 0; m->el && i < g->cfg->workers; i++)
        evloop_timer_stop(m->el, &g->w[i].respawn);
    if (g->site.root_fd >= 0)
        site_close(&g->site);
    free(g->cfg);
    free(g);
}

void fdh_reload_old_gone(struct master *m)
{
    struct gen *g = m->old;
    m->old = NULL;
    evloop_timer_stop(m->el, &m->old_deadline);
    int aborted = g->aborted;
    fdh_gen_free(m, g);
    if (!aborted) {
        atomic_fetch_add(&m->sh->reloads, 1);
        kv_print("reload", "done generation=%ld", m->cur->id);
        fdh_notify("READY");
    }
    if (m->reload_queued && m->mode == RUNNING)
        fdh_reload_start(m);
}

void fdh_reload_switch(struct master *m)
{
    evloop_timer_stop(m->el, &m->next_deadline);
    m->old = m->cur;
    m->cur = m->next;
    m->next = NULL;
    atomic_store(&m->sh->generation, m->cur->id);
    m->old->stopping = 1;
    fdh_tell_gen(m, m->old, CHANNEL_QUIT);
    kv_print("reload", "switched generation=%ld", m->cur->id);
    if (m->old->nalive == 0)
        fdh_reload_old_gone(m);
    else if (evloop_timer_start(m->el, &m->old_deadline, m->cur->cfg->drain_timeout_ms, 0) < 0)
        die("evloop_timer_start");
}

static void reload_failed(struct master *m, const char *reason)
{
    atomic_fetch_add(&m->sh->reloads_failed, 1);
    kv_print("reload", "failed reason=%s", reason);
    fdh_notify("READY");
}

/* Terminate what of next started, keep cur. */
void fdh_reload_abort(struct master *m, const char *why)
{
    struct gen *g = m->next;
    evloop_timer_stop(m->el, &m->next_deadline);
    m->next = NULL;
    g->stopping = 1;
    g->aborted = 1;
    fdh_tell_gen(m, g, CHANNEL_TERMINATE);
    m->old = g; /* reaped like an old generation, SIGKILLed at the grace period */
    reload_failed(m, why);
    if (g->nalive == 0)
        fdh_reload_old_gone(m);
    else if (evloop_timer_start(m->el, &m->old_deadline, FDH_TERM_GRACE_MS, 0) < 0)
        die("evloop_timer_start");
}

static void on_next_deadline(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)el, (void)t;
    struct master *m = ud;
    if (m->next == NULL)
        return;
    char why[160];
    snprintf(why, sizeof why, "the new workers were not all ready within %d ms; generation %ld kept",
             FDH_READY_MAX_MS, m->cur->id);
    fdh_reload_abort(m, why);
}

static void on_old_deadline(struct evloop *el, struct ev_timer *t, void *ud)
{
    (void)el, (void)t;
    struct master *m = ud;
    fdh_kill_gen(m->old, "did not finish draining in time");
}

void fdh_reload_init(struct master *m)
{
    ev_timer_init(&m->old_deadline, on_old_deadline, m);
    ev_timer_init(&m->next_deadline, on_next_deadline, m);
}

/* The options as they are now, if valid and compatible with the listeners we hold
 * (what would need other listening sockets is refused, never "handled" by closing
 * one: closing a listener resets every connection waiting in its accept queue). NULL
 * with the reason in why. */
static struct fdh_config *reparse(const struct fdh_config *old, char *why, size_t whylen)
{
    struct fdh_config *cfg = malloc(sizeof *cfg);
    if (cfg == NULL)
        return snprintf(why, whylen, "out of memory"), NULL;
    int refused = fdh_config_parse(old->argc, old->argv, cfg, why, whylen) < 0;
    int moved = !refused && cfg->nlisten != old->nlisten;
    for (int a = 0; !refused && !moved && a < cfg->nlisten; a++)
        moved = cfg->listen[a].len != old->listen[a].len || memcmp(&cfg->listen[a].u, &old->listen[a].u,
                                                                   cfg->listen[a].len) != 0;
    if (moved) {
        snprintf(why, whylen, "--listen changed: a reload keeps the listening sockets (restart to move)");
        refused = 1;
    }
    if (!refused)
        refused = fdh_accept_reload_refusal(old, cfg, why, whylen);
    if (!refused)
        return cfg;
    free(cfg);
    return NULL;
}

/* SIGHUP. The next generation's workers are spawned by the main loop. */
void fdh_reload_start(struct master *m)
{
    m->reload_queued = 0;
    if (m->mode != RUNNING)
        return;
    if (m->next || m->old || m->up != UP_NONE || m->from_conn >= 0 || !m->announced) {
        m->reload_queued = 1; /* one reload at a time: runs when this one is done */
        kv_print("reload", "queued");
        return;
    }
    fdh_notify("RELOADING");
    char err[300];
    struct fdh_config *cfg = reparse(m->cur->cfg, err, sizeof err);
    struct gen *g = cfg ? fdh_gen_new(m, cfg, m->cur->id + 1, err, sizeof err) : NULL;
    if (g == NULL) {
        free(cfg);
        reload_failed(m, err);
        return;
    }
    m->next = g;
    for (int i = 0; i < cfg->workers; i++)
        g->w[i].due = 1;
    kv_print("reload", "started generation=%ld", g->id);
    if (evloop_timer_start(m->el, &m->next_deadline, FDH_READY_MAX_MS, 0) < 0)
        die("evloop_timer_start");
}
