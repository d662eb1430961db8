# bench/12-reload.gp — lab 12: failed requests over time during reloads and upgrades
# (hand-over), naive restarts, upgrades that close the listeners early, and overlapping
# reuseport generations without and with net.ipv4.tcp_migrate_req.
# Reads results/12-reload-series.csv and results/12-reload-events.csv
# (bench/12-reload.sh), writes results/12-reload.png and .svg.
# One panel per scenario: failed requests per interval for each client (kept-alive
# with the RFC 9112 retry, kept-alive without it, Connection: close), the retries as a
# dashed line, and every event (reload, upgrade, restart) as a thin grey line.
set datafile separator ","
set datafile commentschars "#"
series = "results/12-reload-series.csv"
events = "results/12-reload-events.csv"
# value v when the row is scenario s (and client c), else NaN: not drawn, and (used for
# x too) not stretching the panel's x range to another scenario's length
sel(s, c, v) = (strcol(1) eq s && strcol(2) eq c) ? v : NaN
ev(s, v) = (strcol(1) eq s) ? v : NaN
set grid ytics
set xlabel "seconds since the load started"
# Square-root y: the one slow restart's burst of hundreds and the one-or-two of an early
# upgrade stay readable in the same kind of panel (zero stays zero).
set ylabel "failed requests per 0.1 s row (sqrt scale)"
set nonlinear y via sqrt(y) inverse y*y
set yrange [0:*]
set y2range [0:1]
unset y2tics
set macros
# The zero line also keeps a panel drawable when a scenario was not run (no data).
EVT = "0 with lines lc rgb '#888888' notitle, \
  events using (ev(S, $4)):(ev(S, 1)) axes x1y2 with impulses lc rgb '#c8c8c8' lw 1 notitle"
LINES = "series using (sel(S, 'ka', $3)):(sel(S, 'ka', $5)) with steps lw 2 lc rgb '#2ca02c' title 'kept-alive with retry: failed', \
  series using (sel(S, 'close', $3)):(sel(S, 'close', $5)) with steps lw 2 lc rgb '#1f77b4' title 'Connection: close: failed', \
  series using (sel(S, 'ka_noretry', $3)):(sel(S, 'ka_noretry', $5)) with steps lw 2 lc rgb '#d62728' title 'kept-alive, --no-retry: failed', \
  series using (sel(S, 'ka', $3)):(sel(S, 'ka', $12)) with steps lw 1 dt 2 lc rgb '#000000' title 'kept-alive with retry: retried (not failed)'"
# The key only in the first panel (hand-over, where the lines stay at zero and it hides
# nothing); the other panels use the same colours.
DRAW = "set multiplot layout 5,1 title 'Lab 12: failed requests over time (fdhttpd -w 2; three fdload clients, open loop; grey lines = events)'; \
  set key top right font ',10' opaque; S = 'handover'; set title 'hand-over: SIGHUP reloads, then SIGUSR2 upgrades (listening sockets passed over SCM_RIGHTS)'; \
  plot @EVT, @LINES; \
  unset key; S = 'naive'; set title 'naive restart: SIGTERM, wait for exit, start a new fdhttpd on the same port'; \
  plot @EVT, @LINES; \
  S = 'early'; set title 'closing listeners early: SIGUSR2 upgrades with --no-handover'; \
  plot @EVT, @LINES; \
  S = 'overlap'; set title 'overlapping reuseport: a new fdhttpd binds its own sockets, the old one gets SIGQUIT 0.2 s later (tcp_migrate_req=0)'; \
  plot @EVT, @LINES; \
  S = 'overlap_migrate'; set title 'overlapping reuseport with net.ipv4.tcp_migrate_req=1: queued connections move to the new listeners'; \
  plot @EVT, @LINES; \
  unset multiplot"
set terminal pngcairo size 1100,1900 font ",10" noenhanced
set output "results/12-reload.png"
@DRAW
set output
set terminal svg size 1100,1900 font ",10" dynamic noenhanced
set output "results/12-reload.svg"
@DRAW
set output
