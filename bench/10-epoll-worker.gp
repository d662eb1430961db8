# bench/10-epoll-worker.gp — lab 10: memory of N idle connections.
# Reads results/10-epoll-worker.csv (bench/10-epoll-worker.sh), writes
# results/10-epoll-worker.png and .svg. Each point is the mean over the repetitions.
# Columns: 1 rep, 2 n, 3 limited, 4 accepted, 5 served, 6 rss_delta_kb, 7 slab_delta_kb,
# 8 slab_tcp_objs_delta, 9 rss_per_conn_bytes, 10 kernel_per_socket_bytes,
# 11 server_per_conn_bytes.
set datafile separator ","
set datafile commentschars "#"
file = "results/10-epoll-worker.csv"
set title "Lab 10: memory of N idle TCP connections (one evloop server, client in another process)"
set xlabel "idle connections N"
set ylabel "memory growth (MiB)"
set y2label "per connection (bytes)"
set xrange [0:*]
set yrange [0:*]
set y2range [0:*]
set ytics nomirror
set y2tics
set grid
set key top left
set macros
P = "plot \
  file using 2:($7/1024) smooth unique with linespoints lw 2 pt 7 lc rgb '#c0392b' title 'kernel slab, both ends (MiB, left)', \
  file using 2:($6/1024) smooth unique with linespoints lw 2 pt 9 lc rgb '#2471a3' title 'server process Rss (MiB, left)', \
  file using 2:10 axes x1y2 smooth unique with linespoints lw 1 dt 2 pt 6 lc rgb '#c0392b' title 'kernel per socket (bytes, right)', \
  file using 2:9 axes x1y2 smooth unique with linespoints lw 1 dt 2 pt 8 lc rgb '#2471a3' title 'server Rss per connection (bytes, right)'"
set terminal pngcairo size 1000,640 font ",11"
set output "results/10-epoll-worker.png"
@P
set terminal svg size 1000,640 font ",11" dynamic
set output "results/10-epoll-worker.svg"
@P
