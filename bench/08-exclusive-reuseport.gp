# bench/08-exclusive-reuseport.gp — lab 08's two plots, from the data that
# bench/08-exclusive-reuseport.sh wrote into results/:
#   results/08-exclusive-reuseport-distribution.png/.svg  per-worker share of sequential
#       connections, one stacked bar per run, one panel per mode
#   results/08-exclusive-reuseport-latency.png/.svg  CDF of request latency with a slow
#       worker (worker 0 sleeps before each reply), exclusive versus reuseport
set datafile separator ","
set datafile commentschars "#"
set datafile columnheaders
dist = "results/08-exclusive-reuseport-distribution.csv"
lat = "results/08-exclusive-reuseport-latency.csv"
sum = "results/08-exclusive-reuseport-latency-summary.csv"

# Rows are grouped by mode in the order exclusive, reuseport, nginx, cpu, steered, REPS each.
stats dist using 2 nooutput
reps = int(STATS_records / 5)
share(c) = 100.0 * column(c) / (column(3) + column(4) + column(5) + column(6))

set macros
DIST = "\
set multiplot layout 1,5 title 'Lab 08: who accepts 4 workers'' sequential connections (one bar per run, '.reps.' runs per mode)'; \
set style data histograms; set style histogram rowstacked; set style fill solid 0.85 border -1; \
set boxwidth 0.8; set yrange [0:100]; set ylabel 'share of connections (%)'; set grid y; \
set xlabel 'run'; set xtics format ''; unset key; \
set title 'exclusive (one shared listener)'; set xrange [-0.5:reps-0.5]; \
plot for [w=0:3] dist using (share(w+3)) lc w+1 title sprintf('worker %d', w); \
set title 'reuseport (a listener per worker)'; set xrange [reps-0.5:2*reps-0.5]; unset ylabel; \
plot for [w=0:3] dist using (share(w+3)) lc w+1 title sprintf('worker %d', w); \
set title 'nginx trick (re-add every 16 accepts)'; set xrange [2*reps-0.5:3*reps-0.5]; \
plot for [w=0:3] dist using (share(w+3)) lc w+1 title sprintf('worker %d', w); \
set title 'cpu (cBPF: receiving CPU mod 4)'; set xrange [3*reps-0.5:4*reps-0.5]; \
plot for [w=0:3] dist using (share(w+3)) lc w+1 title sprintf('worker %d', w); \
set title 'steered (eBPF: least loaded)'; set xrange [4*reps-0.5:5*reps-0.5]; \
set key outside right top; \
plot for [w=0:3] dist using (share(w+3)) lc w+1 title sprintf('worker %d', w); \
unset multiplot"

set terminal pngcairo size 1800,520 font ",11"
set output "results/08-exclusive-reuseport-distribution.png"
@DIST
set terminal svg size 1800,520 font ",11" dynamic
set output "results/08-exclusive-reuseport-distribution.svg"
@DIST
reset

set datafile separator ","
set datafile commentschars "#"
set datafile columnheaders
ms(m) = (strcol(1) eq m && strcol(5) eq "ok") ? 1000.0 * column(3) : NaN
LAT = "\
set title 'Lab 08: request latency with one slow worker (worker 0 sleeps 50 ms per request; 4 workers, 8 in flight)'; \
set xlabel 'latency (ms, log scale)'; set ylabel 'fraction of requests with latency <= x'; \
set logscale x; set xrange [0.01:2000]; set yrange [0:1.02]; set grid; set key at graph 0.97, graph 0.55 right box opaque; \
set arrow 1 from 50, graph 0 to 50, graph 1 nohead dt 3 lc rgb '#555555'; \
set label 1 'sleep = 50 ms' at 55, graph 0.25 tc rgb '#555555'; \
plot lat using (ms('exclusive')):(1) smooth cnormal lw 2 lc rgb '#2471a3' title 'exclusive: one shared accept queue', \
     lat using (ms('reuseport')):(1) smooth cnormal lw 2 lc rgb '#c0392b' title 'reuseport: an accept queue per worker', \
     lat using (ms('cpu')):(1) smooth cnormal lw 2 dt 2 lc rgb '#7d3c98' title 'cpu: reuseport steered by receiving CPU (cBPF)', \
     lat using (ms('steered')):(1) smooth cnormal lw 2 lc rgb '#1e8449' title 'steered: reuseport steered to the least-loaded worker (eBPF)'"
set terminal pngcairo size 1000,600 font ",11"
set output "results/08-exclusive-reuseport-latency.png"
@LAT
set terminal svg size 1000,600 font ",11" dynamic
set output "results/08-exclusive-reuseport-latency.svg"
@LAT
