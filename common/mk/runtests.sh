#!/bin/sh
# Run Criterion test binaries and close with one plain summary line.
# Usage: runtests.sh BUILD_DIR TEST_BINARY...
# Each binary prints Criterion's own "Synthesis" line; this script adds them up and
# prints "N passed, N failed" last, and exits non-zero if any test failed or crashed
# or any binary exited non-zero.
set -u
build=$1; shift
export FDLAB_BUILD="$build"
# Suppress only the known leak inside Criterion's own runner (see lsan.supp).
export LSAN_OPTIONS="suppressions=$(pwd)/common/mk/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
passed=0; failed=0; status=0
log=$(mktemp); trap 'rm -f "$log"' EXIT
for t in "$@"; do
  echo "---- $t"
  # Criterion runs each test in its own process; two jobs match the 2-core machines.
  "$t" --jobs=2 --short-filename >"$log" 2>&1; rc=$?
  cat "$log"
  line=$(grep 'Synthesis:' "$log" | tail -n 1)
  p=$(echo "$line" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
  f=$(echo "$line" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
  c=$(echo "$line" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0} + ${c:-0}))
  tested=$(echo "$line" | sed -n 's/.*Tested: \([0-9]*\).*/\1/p')
  if [ "${tested:-0}" -eq 0 ]; then
    echo "runtests: $t ran no test"; failed=$((failed + 1)); status=1
  fi
  if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
    status=1
    [ -z "$line" ] && { echo "runtests: $t printed no Criterion summary (exit $rc)"; failed=$((failed + 1)); }
  fi
done
echo "$build: $passed passed, $failed failed"
[ "$failed" -eq 0 ] || status=1
exit $status
