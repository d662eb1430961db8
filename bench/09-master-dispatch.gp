# bench/09-master-dispatch.gp — lab 09: where connections go, and what passing costs.
# Reads results/09-master-dispatch.csv (bench/09-master-dispatch.sh), writes
# results/09-master-dispatch.png and .svg. Every bar is the mean over the repetitions
# (smooth unique averages the rows that share an x position).
set datafile separator ","
set datafile commentschars "#"
file = "results/09-master-dispatch.csv"
# Eight groups: mode x concurrency, in this order on the x axis.
mi(m) = (m eq 'self') ? 0 : (m eq 'first_idle') ? 1 : (m eq 'round_robin') ? 2 : 3
g(m, c) = mi(m) + (c == 1 ? 0 : 5)
xt = '("self" 0, "first\nidle" 1, "round\nrobin" 2, "least\nloaded" 3, "self" 5, "first\nidle" 6, "round\nrobin" 7, "least\nloaded" 8)'
set style fill solid 0.85 border -1
set grid ytics
set xrange [-0.7:8.7]
set macros
# The two halves are named on the top axis.
set x2range [-0.7:8.7]
set x2tics ("1 request in flight" 1.5, "8 in flight" 6.5) scale 0 font ",10"
set key below horizontal font ",10"
set bmargin 6

P1 = "set title 'Where the connections went (4 workers): share of each worker, %'; \
  unset logscale y; set ylabel 'share of connections (%)'; set yrange [0:110]; \
  set boxwidth 0.19; set xtics " . xt . "; \
  plot file using (g(strcol(1), $3) - 0.3):(100.0 * $13 / $5) smooth unique with boxes lc rgb '#1f4e79' title 'worker 0', \
       file using (g(strcol(1), $3) - 0.1):(100.0 * $14 / $5) smooth unique with boxes lc rgb '#2e86c1' title 'worker 1', \
       file using (g(strcol(1), $3) + 0.1):(100.0 * $15 / $5) smooth unique with boxes lc rgb '#85c1e9' title 'worker 2', \
       file using (g(strcol(1), $3) + 0.3):(100.0 * $16 / $5) smooth unique with boxes lc rgb '#d6eaf8' title 'worker 3', \
       25 dt 2 lc rgb '#555555' title 'even share'"
P2 = "set title 'CPU time per connection, master + workers (getrusage)'; \
  set ylabel 'CPU microseconds per connection'; set yrange [0:*]; \
  set boxwidth 0.6; set xtics " . xt . "; \
  plot file using (g(strcol(1), $3)):7 smooth unique with boxes lc rgb '#c0392b' title 'master (accept + pass)', \
       file using (g(strcol(1), $3)):9 smooth unique with boxes lc rgb '#2471a3' title 'workers (serve, receive, report)'"
P3 = "set title 'Client latency per request'; \
  set ylabel 'microseconds (log scale)'; set logscale y; set yrange [10:20000]; \
  set boxwidth 0.3; set xtics " . xt . "; \
  plot file using (g(strcol(1), $3) - 0.16):11 smooth unique with boxes lc rgb '#27ae60' title 'p50', \
       file using (g(strcol(1), $3) + 0.16):12 smooth unique with boxes lc rgb '#a04000' title 'p99'"
DRAW = "set multiplot layout 3,1 title 'Lab 09: the master accepts and passes each connection (SCM\\_RIGHTS) vs workers accepting themselves (self)'; \
  @P1; @P2; @P3; unset multiplot"

set terminal pngcairo size 1100,1500 font ",11"
set output "results/09-master-dispatch.png"
@DRAW
set terminal svg size 1100,1500 font ",11" dynamic
set output "results/09-master-dispatch.svg"
@DRAW
