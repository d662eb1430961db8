#!/bin/sh
# bench/server-veth.sh — `make bench-server-veth`: bench/server.sh's 10 MiB case with the
# client across a veth pair in a network namespace of its own (NET=veth; root only; about
# 2 minutes). On loopback a sender's CPU also runs the receiver's side of TCP, so which
# server pays for it depends on timing; across veth each case pays its own. Writes
# results/server-veth.csv, -syscalls.csv and -summary.csv. Environment as for
# bench/server.sh; CASES defaults to ka-10MiB, PROFILE to none.
# Exits 77, writing nothing, where it cannot run (not root, no ip), and says why.
set -eu
NET=veth CASES=${CASES:-ka-10MiB} PROFILE=${PROFILE-}
export NET CASES PROFILE
exec sh bench/server.sh
