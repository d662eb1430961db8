# bench/server.gp — fdhttpd versus nginx (bench/server.sh, `make bench-server`).
# Reads results/server-summary.csv (medians per case), writes results/server.png and .svg.
# Columns: 1 case, 2 bytes; nginx 3 rps, 4 MB/s, 5 p99 µs, 6 CPU µs/req, 7 syscalls/req;
# nginx-nosendfile 8..12 and fdhttpd 13..17 in the same order; 18.. ratios.
# Three panels, bars per case: worker CPU µs per request, requests/s, MB/s (all log y).
set datafile separator ","
set datafile commentschars "#"
set datafile missing "NaN"
file = "results/server-summary.csv"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 10
set format y "%g"
set grid ytics
set key outside right top vertical
set key autotitle columnheader
set xtics rotate by -20 nomirror
set macros
cn = "'#2ca02c'"; co = "'#98df8a'"; cf = "'#1f77b4'"
P = "set multiplot layout 3,1 title 'fdhttpd (-w 1) vs nginx (worker_processes 1): server worker on CPU 0, fdload -t 1 on CPU 1 (medians)'; \
  set title 'server worker CPU per request (lower is better)'; set ylabel 'CPU µs / request'; \
  plot file using 6:xtic(1) lc rgb @cn title 'nginx (sendfile on)', '' using 11 lc rgb @co title 'nginx (sendfile off)', '' using 16 lc rgb @cf title 'fdhttpd'; \
  set title 'requests per second (higher is better)'; set ylabel 'requests / s'; \
  plot file using 3:xtic(1) lc rgb @cn title 'nginx (sendfile on)', '' using 8 lc rgb @co title 'nginx (sendfile off)', '' using 13 lc rgb @cf title 'fdhttpd'; \
  set title 'bytes read by the client (MB/s, headers included)'; set ylabel 'MB / s'; \
  plot file using 4:xtic(1) lc rgb @cn title 'nginx (sendfile on)', '' using 9 lc rgb @co title 'nginx (sendfile off)', '' using 14 lc rgb @cf title 'fdhttpd'; \
  unset multiplot"
set terminal pngcairo size 1100,1100 font ",10" noenhanced
set output "results/server.png"
@P
set output
set terminal svg size 1100,1100 font ",10" dynamic noenhanced
set output "results/server.svg"
@P
set output
