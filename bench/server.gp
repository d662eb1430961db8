# bench/server.gp — fdhttpd versus nginx (sendfile on and off), h2o and lighttpd
# (bench/server.sh, `make bench-server`). Reads results/server-summary.csv (medians per
# case, columns named <server>_<measure>, bench/server-summary.awk) and writes
# results/server.png and .svg: four panels, one bar per server and case — the server's
# CPU µs per request, requests/s, MB/s read by the client (log y), and how busy the
# client was (% of the run; >= 90% and the server below it: the client was the bound).
set datafile separator ","
set datafile commentschars "#"
set datafile missing "NaN"
file = "results/server-summary.csv"
srv = "nginx nginx_nosendfile h2o lighttpd fdhttpd"
names = "'nginx (sendfile on)' 'nginx (sendfile off)' 'h2o 2.2.5' 'lighttpd 1.4.69' 'fdhttpd'"
cols = "#2ca02c #98df8a #ff7f0e #9467bd #1f77b4"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set format y "%g"
set grid ytics
set key outside right top vertical
set xtics nomirror
set key autotitle columnheader
set macros
P = "set multiplot layout 4,1 title 'one server worker on CPU 0, fdload -t 1 on CPU 1 (medians of the rounds)'; \
  set logscale y 10; \
  set title 'server CPU per request (lower is better)'; set ylabel 'CPU µs / request'; \
  plot for [i=1:5] file using (column(word(srv,i).'_cpu_us_per_req')):xtic(1) lc rgb word(cols,i) title word(names,i); \
  set title 'requests per second (higher is better; when the client is the bound, this is the client''s speed)'; set ylabel 'requests / s'; \
  plot for [i=1:5] file using (column(word(srv,i).'_rps')):xtic(1) lc rgb word(cols,i) title word(names,i); \
  set title 'bytes read by the client (MB/s, headers included)'; set ylabel 'MB / s'; \
  plot for [i=1:5] file using (column(word(srv,i).'_mb_s')):xtic(1) lc rgb word(cols,i) title word(names,i); \
  unset logscale y; set yrange [0:110]; \
  set xlabel 'cases: ka = kept alive, close = Connection: close, pipe16 = 16 pipelined per write; 13B ... 10MiB = the file'; \
  set title 'client (fdload, one thread) busy, % of the run (>= 90: the client, not the server, is the bound)'; set ylabel 'client CPU %'; \
  plot for [i=1:5] file using (100 * column(word(srv,i).'_client_busy')):xtic(1) lc rgb word(cols,i) title word(names,i), \
       90 with lines dt 2 lc rgb '#d62728' title '90%'; \
  unset multiplot"
set terminal pngcairo size 1100,1400 font ",10" noenhanced
set output "results/server.png"
@P
set output
set yrange [*:*]
set terminal svg size 1100,1400 font ",10" dynamic noenhanced
set output "results/server.svg"
@P
set output
