/* claim.h — a lab's claims: each one held or not, and the verdict over all of them.
 *
 * A lab program states what it shows as claims and exits 0 only when every claim it
 * made held. struct claims is the tally; it lives in the lab's one context. A zeroed
 * struct (optionally with .prefix set) is ready: no claim made yet.
 *
 * claim(cs, name, ok): records one claim, held when ok != 0, and prints it as the
 *   key=value line "<prefix><name>=1" (held) or "=0" (kv.h); a NULL prefix prints
 *   name alone. A key longer than 127 bytes is truncated. Returns 1 when it held, else 0.
 * claim_quiet(cs, ok, what): records one claim without printing a key; when it did
 *   not hold, warns "claim failed: <what>" on stderr. Returns 1 when it held, else 0.
 * claims_held(cs): 1 when every claim made so far held (also when none was made),
 *   else 0. cs->made counts the claims made, for a lab that wants at least one.
 */
#ifndef FDLAB_CLAIM_H
#define FDLAB_CLAIM_H

struct claims {
    const char *prefix; /* prepended to every printed key; NULL for none */
    int made;           /* claims recorded */
    int held;           /* of those, the ones that held */
};

int claim(struct claims *cs, const char *name, int ok);
int claim_quiet(struct claims *cs, int ok, const char *what);
int claims_held(const struct claims *cs);

#endif
