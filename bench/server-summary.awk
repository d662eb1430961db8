# bench/server-summary.awk — medians per server and case for bench/server.sh.
# Usage: awk -v servers="nginx nginx-nosendfile h2o lighttpd fdhttpd" \
#            -f bench/server-summary.awk results/server.csv results/server-syscalls.csv
# server.csv columns: 1 server, 2 case, 3 round, 4 bytes, 8 rps, 9 mb_s, 11 p99_us,
# 14 cpu_us_per_req, 16 server_busy, 17 client_busy. server-syscalls.csv: 1 server,
# 2 case, 3 requests, 5 count.
# Prints one row per case (in first-seen order): per server (in the order of `servers`,
# '-' written '_' in the column names) the medians of rps, MB/s, p99, CPU µs/request,
# server and client busy shares, syscalls/request and bound (client: the client was busy
# >= 0.90 and the server not; server: the reverse; both; neither — from the medians);
# then, among the peers (every server but fdhttpd), the one with the least CPU per
# request and the one with the most requests/s, and fdhttpd's ratios to them. Missing
# values are NaN (gnuplot skips them).
BEGIN {
  FS = OFS = ","
  if (servers == "") servers = "nginx nginx-nosendfile h2o lighttpd fdhttpd"
  ns = split(servers, srv, " ")
}
/^#/ || /^server,/ { next }
FILENAME == ARGV[1] {
  if (!($2 in seen)) { seen[$2] = 1; order[++ncase] = $2; bytes[$2] = $4 }
  k = $1 SUBSEP $2
  n[k]++
  v["rps", k, n[k]] = $8; v["mb", k, n[k]] = $9; v["p99", k, n[k]] = $11; v["cpu", k, n[k]] = $14
  v["sb", k, n[k]] = $16; v["cb", k, n[k]] = $17
  next
}
{ k = $1 SUBSEP $2; sys[k] += $5; sysreq[k] = $3 }
function median(m, k,    i, j, t, a, c) {
  c = n[k]
  if (c == 0) return "NaN"
  for (i = 1; i <= c; i++) a[i] = v[m, k, i] + 0
  for (i = 2; i <= c; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
  return (c % 2) ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
}
function fmt(x, f) { return x == "NaN" ? x : sprintf(f, x) }
function ratio(a, b) { return (a == "NaN" || b == "NaN" || b + 0 == 0) ? "NaN" : sprintf("%.3f", a / b) }
function bound(sb, cb) {
  if (sb == "NaN" || cb == "NaN") return "NaN"
  return (cb >= 0.9 && sb < 0.9) ? "client" : (sb >= 0.9 && cb < 0.9) ? "server" : (sb >= 0.9) ? "both" : "neither"
}
END {
  h = "case,bytes"
  for (s = 1; s <= ns; s++) {
    p = srv[s]; gsub(/-/, "_", p)
    h = h "," p "_rps," p "_mb_s," p "_p99_us," p "_cpu_us_per_req," p "_server_busy," p "_client_busy," \
        p "_syscalls_per_req," p "_bound"
  }
  print h ",best_cpu_peer,best_peer_cpu_us_per_req,cpu_ratio_to_best,best_rps_peer,best_peer_rps,rps_ratio_to_best,best_rps_peer_bound"
  for (i = 1; i <= ncase; i++) {
    c = order[i]; line = c "," bytes[c]
    bc = ""; br = ""; fc = "NaN"; fr = "NaN"
    for (s = 1; s <= ns; s++) {
      k = srv[s] SUBSEP c
      R = median("rps", k); C = median("cpu", k); SB = median("sb", k); CB = median("cb", k)
      S = (sysreq[k] > 0) ? sprintf("%.2f", sys[k] / sysreq[k]) : "NaN"
      B[s] = bound(SB, CB)
      line = line "," fmt(R, "%.0f") "," fmt(median("mb", k), "%.2f") "," fmt(median("p99", k), "%.0f") \
             "," fmt(C, "%.3f") "," fmt(SB, "%.3f") "," fmt(CB, "%.3f") "," S "," B[s]
      if (srv[s] == "fdhttpd") { fc = C; fr = R; continue }
      if (C != "NaN" && (bc == "" || C < bcv)) { bc = s; bcv = C }
      if (R != "NaN" && (br == "" || R > brv)) { br = s; brv = R }
    }
    line = line "," (bc == "" ? "NaN,NaN,NaN" : srv[bc] "," sprintf("%.3f", bcv) "," ratio(fc, bcv))
    line = line "," (br == "" ? "NaN,NaN,NaN,NaN" : srv[br] "," sprintf("%.0f", brv) "," ratio(fr, brv) "," B[br])
    print line
  }
}
