/* Tests for claim.h: what a claim prints, how the tally counts, the verdict. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include <stdio.h>
#include <string.h>

#include "claim.h"

static void redirect_both(void)
{
    cr_redirect_stdout();
    cr_redirect_stderr();
}

Test(claim, prints_prefixed_keys_and_counts, .init = cr_redirect_stdout, .timeout = 120)
{
    struct claims cs = {.prefix = "claim."};
    cr_assert(claims_held(&cs), "no claim made: nothing failed");
    cr_assert_eq(claim(&cs, "a", 1), 1);
    cr_assert_eq(claim(&cs, "b", 7), 1, "any non-zero value holds and prints 1");
    cr_assert(claims_held(&cs));
    cr_assert_eq(claim(&cs, "c", 0), 0);
    cr_assert_not(claims_held(&cs));
    cr_assert_eq(cs.made, 3);
    cr_assert_eq(cs.held, 2);
    cr_assert_stdout_eq_str("claim.a=1\nclaim.b=1\nclaim.c=0\n");
}

Test(claim, null_prefix_prints_the_name_alone, .init = cr_redirect_stdout, .timeout = 120)
{
    struct claims cs = {0};
    claim(&cs, "x.shown", 1);
    cr_assert_stdout_eq_str("x.shown=1\n");
}

Test(claim, quiet_claims_print_no_key_and_warn_on_failure, .init = redirect_both, .timeout = 120)
{
    struct claims cs = {0};
    cr_assert_eq(claim_quiet(&cs, 1, "holds"), 1);
    cr_assert_eq(claim_quiet(&cs, 0, "the offset is shared"), 0);
    cr_assert_eq(cs.made, 2);
    cr_assert_not(claims_held(&cs));
    fflush(stderr);
    cr_assert_stdout_eq_str("");
    FILE *err = cr_get_redirected_stderr();
    char line[256] = "";
    cr_assert_not_null(fgets(line, sizeof line, err));
    cr_assert_not_null(strstr(line, "claim failed: the offset is shared"), "stderr: %s", line);
}
