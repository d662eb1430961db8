/* Tests for sockaddr.h: the text forms of IPv4 and IPv6 endpoints. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "sockaddr.h"

static const char *round_trip(const char *text)
{
    static char buf[SA_TEXT_MAX];
    struct sa_any a;
    cr_assert_eq(sa_parse_endpoint(text, &a), 0, "%s refused", text);
    return sa_format(&a.u.sa, a.len, buf, sizeof buf);
}

Test(sockaddr, endpoints_parse_and_format_back, .timeout = 120)
{
    cr_assert_str_eq(round_trip("127.0.0.1:8080"), "127.0.0.1:8080");
    cr_assert_str_eq(round_trip("[::1]:8080"), "[::1]:8080");
    cr_assert_str_eq(round_trip("[::]:0"), "[::]:0");
    cr_assert_str_eq(round_trip("*:80"), "0.0.0.0:80");
    cr_assert_str_eq(round_trip("[2001:DB8::1]:443"), "[2001:db8::1]:443", "canonical form");
    struct sa_any a;
    cr_assert_eq(sa_parse_endpoint("[::1]:65535", &a), 0);
    cr_assert_eq(a.u.sa.sa_family, AF_INET6);
    cr_assert_eq(a.len, sizeof(struct sockaddr_in6));
    cr_assert_eq(sa_port(&a.u.sa), 65535);
}

Test(sockaddr, malformed_endpoints_are_einval, .timeout = 120)
{
    const char *bad[] = {"", "8080", ":8080", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536",
                         "127.0.0.1:80x", "127.0.0.1:-1", "::1:8080", "[::1]", "[::1]8080",
                         "localhost:80", "[fe80::1%lo]:80", "1.2.3:80", "[127.0.0.1:80",
                         "127.0.0.1:0000080"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sa_any a;
        errno = 0;
        cr_assert_eq(sa_parse_endpoint(bad[i], &a), -1, "'%s' accepted", bad[i]);
        cr_assert_eq(errno, EINVAL, "'%s'", bad[i]);
    }
}

Test(sockaddr, bare_ips_and_wildcards, .timeout = 120)
{
    struct sa_any a;
    char buf[SA_TEXT_MAX];
    cr_assert_eq(sa_parse_ip("::1", 5, &a), 0);
    cr_assert_str_eq(sa_format(&a.u.sa, a.len, buf, sizeof buf), "[::1]:5");
    cr_assert_eq(sa_parse_ip("[::1]", 5, &a), 0);
    cr_assert_eq(sa_parse_ip("*", 7, &a), 0);
    cr_assert_str_eq(sa_format(&a.u.sa, a.len, buf, sizeof buf), "0.0.0.0:7");
    cr_assert_eq(sa_parse_ip("example.org", 7, &a), -1, "no name lookups here");
    struct sockaddr unknown = {.sa_family = AF_UNIX};
    cr_assert_str_eq(sa_format(&unknown, sizeof unknown, buf, sizeof buf), "?");
    cr_assert_eq(sa_port(&unknown), -1);
}
