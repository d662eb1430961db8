#!/bin/sh
# bench/08-exclusive-reuseport.sh — lab 08's benchmark (`make bench-8`).
#
# 1. Distribution: for each mode (exclusive, reuseport, nginx, cpu, steered), REPS runs (default 10)
#    of CONNS sequential connections (default 400, one in flight) to 4 workers:
#    per-worker counts -> results/08-exclusive-reuseport-distribution.csv.
# 2. Re-add period: nginx mode with readd_every K = 1, 4, 16, 64, 256 and "never",
#    CONNS sequential connections, 3 runs each -> results/08-exclusive-reuseport-readd.csv.
# 3. Slow worker: worker 0 sleeps SLOW_MS (default 50) before every reply; SLOW_REQS
#    (default 400) requests, 8 in flight, exclusive, reuseport, cpu and steered. Every request's
#    latency -> results/08-exclusive-reuseport-latency.csv, and per run p50/p99/max and
#    counts -> results/08-exclusive-reuseport-latency-summary.csv.
# 4. Same slow worker, but each mode runs for DURATION seconds (default 3) instead of a
#    number of requests: throughput and latency -> results/08-exclusive-reuseport-duration.csv.
# Then draws results/08-exclusive-reuseport-distribution.png/.svg (per-worker share
# per run and mode) and results/08-exclusive-reuseport-latency.png/.svg (latency CDF).
# Every run must end with errors=0 (and, counting requests, ok = requests) and exit 0;
# otherwise the bench stops with the run's output on stderr, so no row ever comes from
# a run with failed requests. (The duration runs also record errors as a column.)
# cpu = reuseport + a classic BPF program choosing by receiving CPU; steered = reuseport +
# an eBPF program choosing the least-loaded worker (needs CAP_BPF: without it the bench
# stops and says so, as trial does).
# Runs from the repository root with FDLAB_BUILD set; about 45 s on 2 cores.
set -eu
. bench/lib.sh
build=${FDLAB_BUILD:-build/gcc}
trial=$build/labs/08-exclusive-reuseport/trial
conns=${CONNS:-400}
reps=${REPS:-10}
slow_ms=${SLOW_MS:-50}
slow_reqs=${SLOW_REQS:-400}
duration=${DURATION:-3}
name=08-exclusive-reuseport
[ -x "$trial" ] || { echo "bench: $trial missing: run make V=gcc all first" >&2; exit 1; }

# kv KEY: the value of KEY in $o (the last trial's output).
kv() { printf '%s\n' "$o" | sed -n "s/^$1=//p" | tail -n 1; }

# run ARGS...: o=$(trial ARGS); stop loudly when it failed, reported errors, or (with
# -r N) answered fewer than N requests.
run() {
  if ! o=$("$trial" "$@"); then
    echo "bench: trial $* failed:" >&2
    printf '%s\n' "$o" >&2
    exit 1
  fi
  want=$(printf '%s\n' "$@" | sed -n '/^-r$/{n;p;}')
  if [ "$(kv errors)" != 0 ] || { [ -n "$want" ] && [ "$(kv ok)" != "$want" ]; }; then
    echo "bench: trial $*: ok=$(kv ok) errors=$(kv errors)" >&2
    printf '%s\n' "$o" >&2
    exit 1
  fi
}

# ---- 1. distribution
out=results/$name-distribution.csv
{
  header "make bench-8 = sh bench/$name.sh with CONNS=$conns REPS=$reps; each row: \$FDLAB_BUILD/labs/$name/trial -m MODE -n 4 -r $conns -c 1"
  echo "mode,rep,w0,w1,w2,w3,busiest,busiest_share_pct,max_min_x100,empty_wakeups,readds"
} >"$out.tmp"
for mode in exclusive reuseport nginx cpu steered; do
  rep=1
  while [ "$rep" -le "$reps" ]; do
    progress "distribution: mode=$mode rep=$rep/$reps ($conns sequential connections)"
    run -m "$mode" -n 4 -r "$conns" -c 1
    echo "$mode,$rep,$(kv worker.0),$(kv worker.1),$(kv worker.2),$(kv worker.3),$(kv busiest),$(kv busiest_share_pct),$(kv max_min_x100),$(kv empty_wakeups),$(kv readds)" >>"$out.tmp"
    rep=$((rep + 1))
  done
done
mv "$out.tmp" "$out"
progress "wrote $out"

# ---- 2. re-add period
out=results/$name-readd.csv
{
  header "make bench-8 = sh bench/$name.sh with CONNS=$conns; each row: \$FDLAB_BUILD/labs/$name/trial -m nginx -n 4 -r $conns -c 1 -k K (K=never: -k 1000000)"
  echo "readd_every,rep,w0,w1,w2,w3,busiest_share_pct,max_min_x100,readds"
} >"$out.tmp"
for k in 1 4 16 64 256 never; do
  kk=$k; [ "$k" = never ] && kk=1000000
  for rep in 1 2 3; do
    progress "re-add: readd_every=$k rep=$rep/3"
    run -m nginx -n 4 -r "$conns" -c 1 -k "$kk"
    echo "$k,$rep,$(kv worker.0),$(kv worker.1),$(kv worker.2),$(kv worker.3),$(kv busiest_share_pct),$(kv max_min_x100),$(kv readds)" >>"$out.tmp"
  done
done
mv "$out.tmp" "$out"
progress "wrote $out"

# ---- 3. slow worker
out=results/$name-latency.csv
sum=results/$name-latency-summary.csv
cmd="\$FDLAB_BUILD/labs/$name/trial -m MODE -n 4 -r $slow_reqs -c 8 -s $slow_ms -w 0"
{ header "make bench-8 = sh bench/$name.sh with SLOW_MS=$slow_ms SLOW_REQS=$slow_reqs; each row one request of: $cmd -o FILE"
  echo "mode,start_s,latency_s,worker,error"; } >"$out.tmp"
{ header "make bench-8 = sh bench/$name.sh with SLOW_MS=$slow_ms SLOW_REQS=$slow_reqs; each row: $cmd"
  echo "mode,rep,ok,served_by_slow,slower_than_sleep,p50_us,p99_us,max_us,elapsed_ms"; } >"$sum.tmp"
for mode in exclusive reuseport cpu steered; do
  for rep in 1 2 3; do
    progress "slow worker: mode=$mode rep=$rep/3 (worker 0 sleeps $slow_ms ms, 8 in flight)"
    run -m "$mode" -n 4 -r "$slow_reqs" -c 8 -s "$slow_ms" -w 0 -o "$out.samples.tmp"
    echo "$mode,$rep,$(kv ok),$(kv served_by_slow),$(kv slower_than_sleep),$(kv latency_p50_us),$(kv latency_p99_us),$(kv latency_max_us),$(kv elapsed_ms)" >>"$sum.tmp"
    # The CDF uses the first run of each mode; the summary has all three.
    [ "$rep" -eq 1 ] && sed -n "2,\$s/^/$mode,/p" "$out.samples.tmp" >>"$out.tmp"
  done
done
rm -f "$out.samples.tmp"
mv "$out.tmp" "$out"
mv "$sum.tmp" "$sum"
progress "wrote $out and $sum"

# ---- 4. slow worker, equal time
out=results/$name-duration.csv
{ header "make bench-8 = sh bench/$name.sh with SLOW_MS=$slow_ms DURATION=$duration; each row: \$FDLAB_BUILD/labs/$name/trial -m MODE -n 4 -d $duration -c 8 -s $slow_ms -w 0"
  echo "mode,rep,ok,errors,throughput_rps,served_by_slow,slower_than_sleep,p50_us,p99_us,max_us"; } >"$out.tmp"
for mode in exclusive reuseport cpu steered; do
  for rep in 1 2; do
    progress "slow worker for ${duration} s: mode=$mode rep=$rep/2"
    run -m "$mode" -n 4 -d "$duration" -c 8 -s "$slow_ms" -w 0
    echo "$mode,$rep,$(kv ok),$(kv errors),$(kv throughput_rps),$(kv served_by_slow),$(kv slower_than_sleep),$(kv latency_p50_us),$(kv latency_p99_us),$(kv latency_max_us)" >>"$out.tmp"
  done
done
mv "$out.tmp" "$out"
progress "wrote $out"

plot "$name"
progress "drew results/$name-distribution.png/.svg and results/$name-latency.png/.svg"
