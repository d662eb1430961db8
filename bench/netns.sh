# bench/netns.sh — sourced by bench/server.sh (NET=veth): a second network stack for the
# load client, so that client and server talk across a veth pair (MTU 1500, like an
# Ethernet link) instead of through loopback, where one side's send runs the other
# side's receive path (note 11, README "Where fdhttpd is not ahead").
#
# netns_up       needs root and ip(8) (iproute2); creates the namespace $netns (a name
#                with this shell's PID), a veth pair whose one end stays here with
#                $netns_server (10.250.250.1/30) and whose other end is moved into the
#                namespace with $netns_client (10.250.250.2/30); sets $netns_run, the
#                prefix that runs a command in the namespace (bench/server.sh's first
#                curl through it shows the link works). Returns 1, having said
#                why on stderr, when it cannot (not root, no ip, the subnet in use).
# netns_down     deletes the namespace and the pair; safe to call twice, or after a
#                netns_up that failed half-way.
# Its variables are prefixed netns_ (sh has no locals).

netns=fdlab-bench-$$
netns_link=fdlb$$
netns_server=10.250.250.1
netns_client=10.250.250.2
netns_run=

netns_up() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "bench: NET=veth needs root (a network namespace and a veth pair)" >&2; return 1
  fi
  command -v ip >/dev/null 2>&1 || { echo "bench: NET=veth needs ip (iproute2)" >&2; return 1; }
  if ip -4 -o addr show | grep -q ' 10\.250\.250\.'; then
    echo "bench: 10.250.250.0/30 is already in use here; NET=veth needs it" >&2; return 1
  fi
  ip netns add "$netns" &&
    ip link add "${netns_link}s" type veth peer name "${netns_link}c" &&
    ip link set "${netns_link}c" netns "$netns" &&
    ip addr add "$netns_server/30" dev "${netns_link}s" &&
    ip link set "${netns_link}s" up &&
    ip -n "$netns" addr add "$netns_client/30" dev "${netns_link}c" &&
    ip -n "$netns" link set "${netns_link}c" up &&
    ip -n "$netns" link set lo up ||
    { echo "bench: could not set up the veth pair" >&2; netns_down; return 1; }
  netns_run="ip netns exec $netns"
}

netns_down() {
  ip link del "${netns_link}s" 2>/dev/null || true # deletes its peer too
  ip netns del "$netns" 2>/dev/null || true
}
