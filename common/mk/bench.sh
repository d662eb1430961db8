#!/bin/sh
# Run one benchmark: `make bench-N` -> bench/NN-*.sh, `make bench-NAME` -> bench/NAME.sh.
# The script runs from the repository root with FDLAB_BUILD set (an -O2 gcc build),
# writes its data into results/ and redraws its plot (bench/<same name>.gp).
set -eu
what=$1
case "$what" in
  [0-9]) what="0$what" ;;
esac
# bench/NAME.sh when it exists (bench-server is server.sh, not server-callgrind.sh),
# else lab NN's bench/NN-*.sh.
if [ -f bench/"$what".sh ]; then script=bench/$what.sh
else script=$(ls bench/"$what"-*.sh 2>/dev/null | head -n 1 || true); fi
if [ -z "$script" ]; then
  echo "bench: no bench/$what-*.sh or bench/$what.sh" >&2
  exit 2
fi
echo "bench: $script"
export FDLAB_BUILD=build/gcc
exec sh "$script"
