# bench/05-robust-mutex.gp — plot results/05-robust-mutex.csv (run from the repo root).
# One line per mechanism; x = processes (log2), y = ns per lock+increment (log10).
set datafile separator ','
set datafile commentschars '#'
set key outside right top autotitle columnheader
set logscale y 10
set logscale x 2
set xrange [0.8:10]
set xtics (1, 2, 4, 8)
set format y '%g'
set grid ytics mytics xtics
set xlabel 'processes (2 cores)'
set ylabel 'wall-clock ns per lock + increment (log)'
set title 'Lab 05: cost of one protected increment across processes'
f = 'results/05-robust-mutex.csv'
# Columns 2..10 of the CSV, in order: readable titles and distinct colours.
array names[9] = ['pshared mutex', 'robust pshared mutex', 'fcntl F_SETLKW', \
                  'fcntl F_OFD_SETLKW', 'flock', 'sem_init pshared=1', \
                  'C11 atomic fetch_add', 'padded slots (alignas 64)', 'packed slots (false sharing)']
array colors[9] = ['#1f77b4', '#17becf', '#d62728', '#ff7f0e', '#8c564b', '#9467bd', \
                   '#2ca02c', '#000000', '#7f7f7f']
do for [t in 'png svg'] {
  if (t eq 'png') { set terminal pngcairo size 1000,600 noenhanced font 'sans,10'; set output 'results/05-robust-mutex.png' }
  if (t eq 'svg') { set terminal svg size 1000,600 noenhanced font 'sans,10'; set output 'results/05-robust-mutex.svg' }
  plot for [i=2:10] f using 1:i with linespoints lw 2 pt (i+3) lc rgb colors[i-1] title names[i-1]
  set output
}
