# bench/06-thundering-herd.gp — lab 06: wake-ups per connection versus workers.
# Reads results/06-thundering-herd.csv (bench/06-thundering-herd.sh), writes
# results/06-thundering-herd.png and .svg. Each point is the mean over the repetitions.
set datafile separator ","
set datafile commentschars "#"
file = "results/06-thundering-herd.csv"
set title "Lab 06: workers woken per incoming connection (N workers, one shared listener)"
set xlabel "workers N"
set ylabel "per connection"
set logscale x 2
set xrange [0.8:20]
set xtics ("1" 1, "2" 2, "4" 4, "8" 8, "16" 16)
set yrange [0:*]
set grid
set key top left
sel(m, c, col) = (strcol(1) eq m && column(3) == c) ? column(col) : NaN
set macros
P = "plot \
  file using 2:(sel('epoll', 1, 6)) smooth unique with linespoints lw 2 pt 7 lc rgb '#c0392b' title 'epoll per worker: wake-ups (1 in flight)', \
  file using 2:(sel('epoll', 4, 6)) smooth unique with linespoints lw 2 dt 2 pt 6 lc rgb '#c0392b' title 'epoll per worker: wake-ups (4 in flight)', \
  file using 2:(sel('epoll', 1, 8)) smooth unique with linespoints lw 1 pt 5 lc rgb '#e67e22' title 'epoll per worker: accept() = EAGAIN (1 in flight)', \
  file using 2:(sel('accept', 1, 6)) smooth unique with linespoints lw 2 pt 9 lc rgb '#2471a3' title 'blocking accept: wake-ups (1 in flight)', \
  file using 2:(sel('accept', 4, 6)) smooth unique with linespoints lw 2 dt 2 pt 8 lc rgb '#2471a3' title 'blocking accept: wake-ups (4 in flight)', \
  x lw 1 dt 3 lc rgb '#888888' title 'N (every worker woken)'"
set terminal pngcairo size 1000,640 font ",11"
set output "results/06-thundering-herd.png"
@P
set terminal svg size 1000,640 font ",11" dynamic
set output "results/06-thundering-herd.svg"
@P
