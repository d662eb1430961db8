/* netns.h — a network namespace of the caller's own, for experiments that change
 * per-namespace settings (net.ipv4.tcp_migrate_req) without touching the host.
 *
 * netns_enter(): unshare(CLONE_NEWNET), then brings the new namespace's lo up (a new
 *   namespace starts with lo down: 127.0.0.1 would be unreachable). Affects the
 *   calling thread and what it starts afterwards. Returns 0, or -1 with errno (EPERM
 *   without CAP_SYS_ADMIN; the caller is then still in its old namespace).
 * netns_migrate_sysctl(on): writes 0 or 1 to /proc/sys/net/ipv4/tcp_migrate_req of
 *   the caller's namespace. 0, or -1 with errno (ENOENT before Linux 5.14).
 */
#ifndef LAB12_NETNS_H
#define LAB12_NETNS_H

#define NETNS_MIGRATE_SYSCTL "/proc/sys/net/ipv4/tcp_migrate_req"

int netns_enter(void);
int netns_migrate_sysctl(int on);

#endif
