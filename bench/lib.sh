# bench/lib.sh — sourced by bench/NN-*.sh drivers.
#
# header CMD...     print the comment lines every data file starts with: machine
#                   (CPU model, cores, kernel), date, and the command that made it.
# progress MSG      one progress line on stderr.
# plot NAME         redraw bench/NAME.gp (PNG + SVG into results/).
# Data files are CSV with '#' comment lines (gnuplot skips them).

header() {
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
  printf '# machine: %s; cores=%s; kernel=%s\n' "${cpu:-unknown}" "$(nproc)" "$(uname -r)"
  printf '# date: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  printf '# command: %s\n' "$*"
}

progress() { printf 'bench: %s\n' "$*" >&2; }

plot() { gnuplot "bench/$1.gp"; }
