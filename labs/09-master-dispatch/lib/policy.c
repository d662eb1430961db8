/* policy.c — see policy.h. */
#include "policy.h"

#include <string.h>

static const char *const names[POL_COUNT] = {"self", "first_idle", "round_robin",
                                             "least_loaded"};

const char *policy_name(enum policy p)
{
    return (unsigned)p < POL_COUNT ? names[p] : "unknown";
}

int policy_parse(const char *name)
{
    for (int i = 0; i < POL_COUNT; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

int policy_pick(enum policy p, struct pick_state *s)
{
    switch (p) {
    case POL_FIRST_IDLE:
        for (int i = 0; i < s->n; i++)
            if (s->alive[i] && s->active[i] == 0)
                return i;
        return -1;
    case POL_ROUND_ROBIN:
        for (int k = 0; k < s->n; k++) {
            int i = (s->next + k) % s->n;
            if (s->alive[i]) {
                s->next = (i + 1) % s->n;
                return i;
            }
        }
        return -1;
    case POL_LEAST_LOADED: {
        int best = -1;
        for (int i = 0; i < s->n; i++)
            if (s->alive[i] && (best < 0 || s->active[i] < s->active[best]))
                best = i;
        return best;
    }
    default:
        return -1;
    }
}
