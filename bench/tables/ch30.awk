# results/ch30.csv -> fdhttpd's four accept strategies (designs fdhttpd-MODE), the
# median over the rounds of each column, as bench/ch30.sh's ch30-medians.csv has them:
# server CPU s per 10,000 connections, requests/s, p99, spread (most served / fewest).
# columns: round,design,workers,ok,cpu_s,cpu_per_10k_s,rps,p50_ms,p99_ms,spread
/^#/ || $1 == "round" || $2 !~ /^fdhttpd-/ { next }
{
    d = $2
    if (!(d in n)) order[++nd] = d
    k = ++n[d]
    cpu[d, k] = $6; rps[d, k] = $7; p99[d, k] = $9; spr[d, k] = ($10 == "inf" ? 1e300 : $10)
}
function median(a, d, m,    i, j, t, v) {
    for (i = 1; i <= m; i++) v[i] = a[d, i] + 0
    for (i = 2; i <= m; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
}
END {
    print "| `--accept=` | server CPU s per 10,000 connections | requests/s | p99 ms | spread max/min |"
    print "|---|---:|---:|---:|---:|"
    for (i = 1; i <= nd; i++) {
        d = order[i]; m = n[d]; s = median(spr, d, m)
        printf "| `%s` | %.2f | %.0f | %.2f | %s |\n", substr(d, 9), median(cpu, d, m), median(rps, d, m),
            median(p99, d, m), (s >= 1e300 ? "∞ (a worker served none)" : sprintf("%.2f", s))
    }
}
