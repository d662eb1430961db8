#!/bin/sh
# bench/13-io-uring.sh — lab 13's benchmark (`make bench-13`): the cost ledger.
#
# The same tiny HTTP response served by an epoll server and by an io_uring server
# (labs/13-io-uring/lib/ledger.c; server pinned to CPU 0, the load client to CPU 1),
# kept-alive (KEEP requests) and one request per connection (CLOSE requests), with
# 1, 8 and 32 connections in flight, REPS rounds (default 3), the two servers
# interleaved within each round. Each run records, per request, the server's CPU µs
# (getrusage user+sys), the system calls it made (counted by the server itself: every
# io_uring_enter, epoll_wait, accept4, epoll_ctl, read, send, close) and its context
# switches (voluntary + involuntary), and the client's requests/s. Writes
# results/13-io-uring.csv (every run) and results/13-io-uring-medians.csv (median per
# case, the two servers side by side), draws results/13-io-uring.png/.svg.
# Runs from the repository root with FDLAB_BUILD set (make bench-13 does both); about
# 2.5 min on 2 cores, most of it the one-connection cases (a round trip per request).
# The header also records the load average before and after the run: on a shared
# machine, compare the two servers within one run, not runs with each other.
set -eu
. bench/lib.sh
build=${FDLAB_BUILD:-build/gcc}
lab=$build/labs/13-io-uring/lab
reps=${REPS:-3} keep=${KEEP:-100000} close=${CLOSE:-20000}
out=results/13-io-uring.csv
med=results/13-io-uring-medians.csv
tmp=$out.tmp
[ -x "$lab" ] || { echo "bench: $lab missing: run make V=gcc all first" >&2; exit 1; }
rc=0
"$lab" -p burst -n 4 >/dev/null || rc=$?
if [ $rc = 77 ]; then
  echo "bench: io_uring is unavailable here (the lab exited 77): nothing measured" >&2
  exit 1
fi
keys="requests server_requests cpu_us_per_req syscalls_per_req ctxsw_per_req rps"
{
  header "make bench-13 = sh bench/13-io-uring.sh with REPS=$reps KEEP=$keep CLOSE=$close; each row: \$FDLAB_BUILD/labs/13-io-uring/lab -m MODE -k 0|1 -c CONNS -r REQUESTS"
  echo "# load average (1/5/15 min) at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "rep,mode,keepalive,conns,$(echo $keys | tr ' ' ',')"
} >"$tmp"
rep=1
while [ "$rep" -le "$reps" ]; do
  for k in 1 0; do
    if [ $k = 1 ]; then n=$keep kind=keep; else n=$close kind=close; fi
    for c in 1 8 32; do
      for m in epoll uring; do
        progress "rep $rep/$reps: $m $kind conns=$c"
        o=$("$lab" -m $m -k $k -c $c -r "$n")
        row="$rep,$m,$k,$c"
        for key in $keys; do
          v=$(printf '%s\n' "$o" | sed -n "s/^ledger\.$m\.$kind\.$key=//p")
          [ -n "$v" ] || { echo "bench: no ledger.$m.$kind.$key for conns=$c" >&2; exit 1; }
          row="$row,$v"
        done
        echo "$row" >>"$tmp"
      done
    done
  done
  rep=$((rep + 1))
done
echo "# load average (1/5/15 min) at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$tmp"
mv "$tmp" "$out"
progress "wrote $out"

# Medians per (keepalive, conns) with the two servers side by side.
m() { # m MODE K C COLUMN: the median of COLUMN over the rounds (lower middle when even)
  grep -v '^#' "$out" | awk -F, -v m="$1" -v k="$2" -v c="$3" -v col="$4" \
    '$2 == m && $3 == k && $4 == c { print $col }' | sort -g |
    awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
{
  grep '^#' "$out"
  echo "# medians over $reps rounds; columns: case,keepalive,conns,epoll_cpu_us,uring_cpu_us,epoll_syscalls,uring_syscalls,epoll_ctxsw,uring_ctxsw,epoll_rps,uring_rps"
  for k in 1 0; do
    for c in 1 8 32; do
      if [ $k = 1 ]; then label="kept-alive c=$c"; else label="close c=$c"; fi
      echo "$label,$k,$c,$(m epoll $k $c 7),$(m uring $k $c 7),$(m epoll $k $c 8),$(m uring $k $c 8),$(m epoll $k $c 9),$(m uring $k $c 9),$(m epoll $k $c 10),$(m uring $k $c 10)"
    done
  done
} >"$med"
progress "wrote $med"
plot 13-io-uring
progress "drew results/13-io-uring.png and .svg"
