# bench/lib.sh — sourced by bench/NN-*.sh drivers.
#
# header CMD...     print the comment lines every data file starts with: machine
#                   (CPU model, cores, kernel), date, and the command that made it.
# progress MSG      one progress line on stderr.
# kv_row TEXT PREFIX KEY...
#                   the values of PREFIXKEY... in TEXT (a program's key=value lines;
#                   the last line of a key wins), each after a comma, on one line: what
#                   a CSV row appends. A key that is missing or empty stops with a
#                   message and status 1 (under set -e, `x=$(kv_row ...)` stops the bench).
# plot NAME         redraw bench/NAME.gp (PNG + SVG into results/).
# Data files are CSV with '#' comment lines (gnuplot skips them).

header() {
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
  printf '# machine: %s; cores=%s; kernel=%s\n' "${cpu:-unknown}" "$(nproc)" "$(uname -r)"
  printf '# date: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  printf '# command: %s\n' "$*"
}

progress() { printf 'bench: %s\n' "$*" >&2; }

kv_row() {
  kv_text=$1 kv_prefix=$2
  shift 2
  kv_vals=""
  for kv_key in "$@"; do
    kv_re=$(printf '%s' "$kv_prefix$kv_key" | sed 's/\./\\./g') # dots match only dots
    kv_v=$(printf '%s\n' "$kv_text" | sed -n "s/^$kv_re=//p" | tail -n 1)
    [ -n "$kv_v" ] || { echo "bench: no $kv_prefix$kv_key in the output" >&2; return 1; }
    kv_vals="$kv_vals,$kv_v"
  done
  printf '%s\n' "$kv_vals"
}

plot() { gnuplot "bench/$1.gp"; }
