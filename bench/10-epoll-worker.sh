#!/bin/sh
# bench/10-epoll-worker.sh — lab 10's benchmark (`make bench-10`).
#
# Memory of idle connections: for N = 1000, 2000, 4000, 6000, 8000, 10000 idle
# connections (a client process opens them, the lab's evloop server accepts them),
# REPS times (default 2), records what the lab's idle scenario measures:
#   rss_delta_kb          growth of the server's Rss (/proc/self/smaps_rollup)
#   slab_delta_kb         growth of the kernel's slab (/proc/meminfo Slab:, system-wide,
#                         both ends of every connection: they live on this machine)
#   slab_tcp_objs_delta   growth of the "TCP" slab cache (objects)
#   rss_per_conn_bytes, kernel_per_socket_bytes, server_per_conn_bytes
# into results/10-epoll-worker.csv, then draws results/10-epoll-worker.png/.svg.
# Runs from the repository root with FDLAB_BUILD set (make bench-10 does both); about
# 30 s on 2 cores. Slab figures are system-wide: other activity blurs them.
set -eu
. bench/lib.sh
build=${FDLAB_BUILD:-build/gcc}
lab=$build/labs/10-epoll-worker/lab
reps=${REPS:-2}
out=results/10-epoll-worker.csv
tmp=$out.tmp
[ -x "$lab" ] || { echo "bench: $lab missing: run make V=gcc all first" >&2; exit 1; }

keys="n limited accepted served rss_delta_kb slab_delta_kb slab_tcp_objs_delta rss_per_conn_bytes kernel_per_socket_bytes server_per_conn_bytes"
{
  header "make bench-10 = sh bench/10-epoll-worker.sh with REPS=$reps; each row: \$FDLAB_BUILD/labs/10-epoll-worker/lab -s idle -n N"
  echo "rep,$(echo $keys | tr ' ' ',')"
} >"$tmp"
for n in 1000 2000 4000 6000 8000 10000; do
  rep=1
  while [ "$rep" -le "$reps" ]; do
    progress "idle connections=$n rep=$rep/$reps"
    o=$("$lab" -s idle -n "$n")
    # $keys unquoted: one argument per key
    vals=$(kv_row "$o" idle. $keys)
    echo "$rep$vals" >>"$tmp"
    rep=$((rep + 1))
  done
done
mv "$tmp" "$out"
progress "wrote $out"
plot 10-epoll-worker
progress "drew results/10-epoll-worker.png and .svg"
