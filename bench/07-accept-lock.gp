# bench/07-accept-lock.gp — plot results/07-accept-lock.csv (bench/07-accept-lock.sh).
# Four panels, x = workers N: wake-ups per connection (c=1), workers' CPU µs per
# connection (c=1), CPU µs per connection (c=8), throughput (c=8). Several runs of
# the same point are averaged (smooth unique).
set datafile separator ','
set datafile commentschars '#'
methods = "none fcntl ofd pmutex nginx"
t(i) = i == 1 ? "no lock (lab 06 herd)" : i == 2 ? "fcntl F\\_SETLKW (UNP serv03)" : \
       i == 3 ? "OFD lock F\\_OFD\\_SETLKW" : i == 4 ? "robust pmutex (UNP serv04)" : \
       "nginx: trylock + own epoll"
# "x,y" rows of one method at one concurrency (awk filters: gnuplot breaks a line at
# every skipped row, so rows of other methods must not reach it).
sel(m, c, col) = sprintf("< awk -F, '$1==\"%s\" && $3==%d {print $2\",\"$%d}' results/07-accept-lock.csv", m, c, col)

set logscale x 2
set xtics (1, 2, 4, 8)
set xrange [0.8:10]
set grid
set xlabel "workers N (log scale)"
# One row of legend under each panel: inside, it would cover the curves.
set key below horizontal maxcols 3 width -2 font ",9"
set style data linespoints
set pointsize 0.8
# nginx in a dark colour: the default 5th colour (yellow) is hard to see on white.
set linetype 5 lc rgb "#8c510a"

do for [fmt in "png svg"] {
  if (fmt eq "png") { set terminal pngcairo size 1200,1000 font ",10"; set output "results/07-accept-lock.png" }
  else { set terminal svg size 1200,1000 font "sans,10"; set output "results/07-accept-lock.svg" }
  set multiplot layout 2,2 title "Lab 07 — accept locks vs the herd (mean of runs; x = workers N)"

  set title "wake-ups per connection, c=1 (accept path: listener wait + lock wait)"
  set ylabel "wake-ups / connection"
  set yrange [0:*]
  plot for [i=1:5] sel(word(methods,i), 1, 8) using 1:2 smooth unique title t(i) with linespoints lw 2 pt 7

  set title "workers' CPU per connection, c=1 (getrusage of workers)"
  set ylabel "CPU µs / connection"
  plot for [i=1:5] sel(word(methods,i), 1, 12) using 1:2 smooth unique title t(i) with linespoints lw 2 pt 7

  set title "workers' CPU per connection, c=8"
  set ylabel "CPU µs / connection"
  plot for [i=1:5] sel(word(methods,i), 8, 12) using 1:2 smooth unique title t(i) with linespoints lw 2 pt 7

  set title "throughput, c=8 (load client on the same machine)"
  set ylabel "requests / s"
  plot for [i=1:5] sel(word(methods,i), 8, 13) using 1:2 smooth unique title t(i) with linespoints lw 2 pt 7

  unset multiplot
  unset output
}
