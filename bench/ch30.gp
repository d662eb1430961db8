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
# The label of each bar: the design as UNP vol. 1 ch. 30 names it (serv00-serv05), the
# epoll and io_uring designs of labs 06-08 and 13, or fdhttpd's accept strategy (lab 11).
label(d) = d eq "iterative" ? "iterative (serv00)" : \
  d eq "fork" ? "fork per connection (serv01)" : \
  d eq "prefork" ? "prefork, no lock (serv02)" : \
  d eq "fcntl" ? "prefork + fcntl lock (serv03)" : \
  d eq "mutex" ? "prefork + shared mutex (serv04)" : \
  d eq "passfd" ? "parent passes the fd (serv05)" : \
  d eq "epoll" ? "epoll per worker (lab 06)" : \
  d eq "exclusive" ? "EPOLLEXCLUSIVE (lab 08)" : \
  d eq "reuseport" ? "SO_REUSEPORT (lab 08)" : \
  d eq "uring" ? "io_uring multishot (lab 13)" : \
  d[1:8] eq "fdhttpd-" ? "fdhttpd --accept=".d[9:] : d
set macros
P = "plot file using (0.5 * $2):0:(0.5 * $2):(0.35):ytic(label(strcol(1))) with boxxyerror lc rgb '#2471a3', \
  file using ($2):0:(sprintf(' %.2f s, %.0f req/s', $2, $3)) with labels left offset 0.3,0"
set terminal pngcairo size 1100,680 font ",11" noenhanced
set output "results/ch30.png"
@P
set terminal svg size 1100,680 font ",11" dynamic noenhanced
set output "results/ch30.svg"
@P
