#!/bin/sh
# Redraw every plot from committed data, running nothing else: each bench/*.gp reads
# results/ and writes PNG and SVG into results/.
set -eu
status=0
for gp in bench/*.gp; do
  [ -e "$gp" ] || continue
  echo "plots: $gp"
  gnuplot "$gp" || { echo "plots: $gp failed" >&2; status=1; }
done
exit $status
