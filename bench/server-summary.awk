# bench/server-summary.awk — medians per server and case for bench/server.sh.
# Usage: awk -f bench/server-summary.awk results/server.csv results/server-syscalls.csv
# server.csv columns: 1 server, 2 case, 3 round, 4 bytes, 8 rps, 9 mb_s, 11 p99_us,
# 14 cpu_us_per_req. server-syscalls.csv: 1 server, 2 case, 3 requests, 5 count.
# Prints one row per case (in first-seen order): for nginx, nginx-nosendfile and fdhttpd
# the medians of rps, MB/s, p99 and CPU µs/request plus syscalls/request, then the
# ratios fdhttpd/nginx. Missing values are NaN (gnuplot skips them).
BEGIN { FS = OFS = ","; ns = split("nginx nginx-nosendfile fdhttpd", srv, " ") }
/^#/ || /^server,/ { next }
FILENAME == ARGV[1] {
  if (!($2 in seen)) { seen[$2] = 1; order[++ncase] = $2; bytes[$2] = $4 }
  k = $1 SUBSEP $2
  n[k]++
  v["rps", k, n[k]] = $8; v["mb", k, n[k]] = $9; v["p99", k, n[k]] = $11; v["cpu", k, n[k]] = $14
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
function ratio(a, b) { return (a == "NaN" || b == "NaN" || b + 0 == 0) ? "NaN" : sprintf("%.3f", a / b) }
END {
  h = "case,bytes"
  for (s = 1; s <= ns; s++) {
    p = srv[s]; gsub(/-/, "_", p)
    h = h "," p "_rps," p "_mb_s," p "_p99_us," p "_cpu_us_per_req," p "_syscalls_per_req"
  }
  print h ",rps_ratio,cpu_ratio,mb_s_ratio,syscalls_ratio,rps_ratio_vs_nosendfile,cpu_ratio_vs_nosendfile"
  for (i = 1; i <= ncase; i++) {
    c = order[i]; line = c "," bytes[c]
    for (s = 1; s <= ns; s++) {
      k = srv[s] SUBSEP c
      R[s] = median("rps", k); M[s] = median("mb", k); C[s] = median("cpu", k)
      S[s] = (sysreq[k] > 0) ? sprintf("%.2f", sys[k] / sysreq[k]) : "NaN"
      line = line "," (R[s] == "NaN" ? R[s] : sprintf("%.0f", R[s])) "," (M[s] == "NaN" ? M[s] : sprintf("%.2f", M[s])) \
             "," (median("p99", k) == "NaN" ? "NaN" : sprintf("%.0f", median("p99", k))) "," (C[s] == "NaN" ? C[s] : sprintf("%.3f", C[s])) "," S[s]
    }
    print line "," ratio(R[3], R[1]) "," ratio(C[3], C[1]) "," ratio(M[3], M[1]) "," ratio(S[3], S[1]) "," ratio(R[3], R[2]) "," ratio(C[3], C[2])
  }
}
