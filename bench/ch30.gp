# bench/ch30.gp — UNP vol. 1 ch. 30 re-measured: server CPU per 10,000 connections.
# Reads results/ch30-medians.csv (bench/ch30.sh: the median per design over the
# rounds), writes results/ch30.png and .svg as horizontal bars, first design on top.
# Columns (no header line; gnuplot skips the '#' lines): 1 design, 2 cpu_per_10k_s, 3 rps, 4 p99_ms, 5 spread.
set datafile separator ","
set datafile commentschars "#"
file = "results/ch30-medians.csv"
stats file using 2 nooutput
n = STATS_records
set title "UNP ch. 30 designs on Linux: server CPU (user+sys) per 10,000 connections, 4 workers (median)"
set xlabel "CPU seconds per 10,000 connections (lower is better)"
set xrange [0:STATS_max * 1.35]   # room for the longest bar's label
set yrange [n - 0.5:-0.5]
set ytics nomirror
set xtics nomirror
set grid xtics
unset key
set style fill solid 0.8 border -1
set macros
P = "plot file using (0.5 * $2):0:(0.5 * $2):(0.35):ytic(1) with boxxyerror lc rgb '#2471a3', \
  file using ($2):0:(sprintf(' %.2f s, %.0f req/s', $2, $3)) with labels left offset 0.3,0"
set terminal pngcairo size 1000,680 font ",11"
set output "results/ch30.png"
@P
set terminal svg size 1000,680 font ",11" dynamic
set output "results/ch30.svg"
@P
