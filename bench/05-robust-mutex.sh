#!/bin/sh
# bench/05-robust-mutex.sh — lab 05: wall-clock ns per "lock + increment" at 1, 2, 4
# and 8 processes for each locking mechanism (labs/05-robust-mutex/bench.c).
# Writes results/05-robust-mutex.csv (wide: one column per mechanism) and its plot.
# Run from the repository root (make bench-5). About 9 x 4 x 5 x 0.3 s = 55 s plus
# start-up: well under 2 minutes on 2 cores. Progress goes to stderr.
set -eu
. bench/lib.sh
bin=${FDLAB_BUILD:-build/gcc}/labs/05-robust-mutex/bench
out=results/05-robust-mutex.csv
mechs="mutex robust fcntl ofd flock sem atomic padded packed"
dur=${BENCH05_MS:-300}
reps=5
[ -x "$bin" ] || { echo "bench: $bin not built (make V=gcc build-lab-05)" >&2; exit 1; }
mkdir -p results
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
{
  header "sh bench/05-robust-mutex.sh ($bin -k MECH -p PROCS -d $dur -r $reps)"
  echo "# load average at start (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg); other work on the machine adds noise"
  echo "# value: wall-clock ns per lock+increment, median of $reps runs of $dur ms; lower is better"
  echo "procs,$(echo $mechs | tr ' ' ',')"
  for p in 1 2 4 8; do
    line=$p
    for k in $mechs; do
      progress "$k with $p process(es)"
      r=$("$bin" -k "$k" -p "$p" -d "$dur" -r "$reps") || { echo "bench: $k -p $p failed" >&2; exit 1; }
      ns=$(echo "$r" | sed -n 's/^bench\.ns_per_op=//p')
      line="$line,$ns"
    done
    echo "$line"
  done
} >"$tmp"
chmod 644 "$tmp"
mv "$tmp" "$out"
trap - EXIT
progress "wrote $out"
plot 05-robust-mutex
progress "wrote results/05-robust-mutex.png and .svg"
