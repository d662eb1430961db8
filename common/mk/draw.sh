#!/bin/sh
# Renders the descriptor-table pictures a lab wrote (results/NN-*.dot, from
# `make lab-N DRAW=1`) to SVG and PNG with Graphviz's dot.
# Usage: draw.sh NN   (two digits). Only DOT files written by fdsnap (their first line
# is "// NAME.dot: make lab-NN DRAW=1") are rendered, so no other plot of results/ is
# ever overwritten. Without Graphviz, the DOT files stay and this says how to render
# them; exits 0 either way (the lab's result is its own exit code).
set -eu
n=$1
found=0
for f in results/"$n"-*.dot; do
  [ -e "$f" ] || continue
  head -n 1 "$f" | grep -q "^// .*\.dot: make lab-$n DRAW=1\$" || continue
  found=1
  base=${f%.dot}
  if command -v dot >/dev/null 2>&1; then
    dot -Tsvg "$f" -o "$base.svg"
    dot -Tpng "$f" -o "$base.png"
    echo "draw: $base.svg $base.png"
  else
    echo "draw: $f written; Graphviz is not installed (make deps installs it)."
    echo "      render it with: dot -Tsvg $f -o $base.svg && dot -Tpng $f -o $base.png"
  fi
done
[ "$found" = 1 ] || echo "draw: lab $n wrote no picture (results/$n-*.dot)"
