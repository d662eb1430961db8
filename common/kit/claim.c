/* claim.c — see claim.h. */
#include "claim.h"

#include "err.h"
#include "kv.h"

#include <stdio.h>

static int record(struct claims *cs, int ok)
{
    ok = ok != 0;
    cs->made++;
    cs->held += ok;
    return ok;
}

int claim(struct claims *cs, const char *name, int ok)
{
    ok = record(cs, ok);
    char key[128];
    snprintf(key, sizeof key, "%s%s", cs->prefix ? cs->prefix : "", name);
    kv_print(key, "%d", ok);
    return ok;
}

int claim_quiet(struct claims *cs, int ok, const char *what)
{
    ok = record(cs, ok);
    if (!ok)
        warn_msg("claim failed: %s", what);
    return ok;
}

int claims_held(const struct claims *cs)
{
    return cs->held == cs->made;
}
