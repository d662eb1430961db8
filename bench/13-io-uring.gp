# bench/13-io-uring.gp — lab 13: the cost ledger, epoll against io_uring.
# Reads results/13-io-uring-medians.csv (bench/13-io-uring.sh: medians per case),
# writes results/13-io-uring.png and .svg: three panels, one bar pair per case.
# Columns: 1 case, 2 keepalive, 3 conns, 4 epoll_cpu_us, 5 uring_cpu_us,
# 6 epoll_syscalls, 7 uring_syscalls, 8 epoll_ctxsw, 9 uring_ctxsw, 10 epoll_rps, 11 uring_rps.
set datafile separator ","
set datafile commentschars "#"
file = "results/13-io-uring-medians.csv"

stats file using 4 nooutput name "EC"
stats file using 5 nooutput name "UC"
stats file using 6 nooutput name "ES"
stats file using 7 nooutput name "US"
stats file using 8 nooutput name "EX"
stats file using 9 nooutput name "UX"
top(a, b) = 1.12 * (a > b ? a : b)   # headroom so that no bar touches the frame
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set xtics rotate by -20 scale 0
set key top left
set macros
P = "set multiplot layout 1,3 title 'Lab 13: the same tiny HTTP response, epoll vs io_uring — server cost per request (median of rounds)'; \
  set title 'server CPU (user+sys)'; set ylabel 'CPU µs per request'; set yrange [0:top(EC_max, UC_max)]; \
  plot file using 4:xtic(1) title 'epoll' lc rgb '#c0392b', '' using 5 title 'io_uring' lc rgb '#2471a3'; \
  set title 'system calls made by the server'; set ylabel 'system calls per request'; set yrange [0:top(ES_max, US_max)]; \
  plot file using 6:xtic(1) title 'epoll' lc rgb '#c0392b', '' using 7 title 'io_uring' lc rgb '#2471a3'; \
  set title 'server context switches'; set ylabel 'context switches per request'; set yrange [0:top(EX_max, UX_max)]; \
  plot file using 8:xtic(1) title 'epoll' lc rgb '#c0392b', '' using 9 title 'io_uring' lc rgb '#2471a3'; \
  unset multiplot"
set terminal pngcairo size 1500,560 font ",10" noenhanced
set output "results/13-io-uring.png"
@P
set terminal svg size 1500,560 font ",10" dynamic noenhanced
set output "results/13-io-uring.svg"
@P
