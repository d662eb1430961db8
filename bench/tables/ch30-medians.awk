# results/ch30-medians.csv -> fdhttpd's four accept strategies (rows fdhttpd-MODE):
# server CPU per 10,000 connections, requests/s, p99, worker spread (most/fewest served).
/^#/ { next }
BEGIN {
    print "| `--accept=` | server CPU s per 10,000 connections | requests/s | p99 ms | spread max/min |"
    print "|---|---:|---:|---:|---:|"
}
$1 ~ /^fdhttpd-/ {
    # columns: design,cpu_per_10k_s,rps,p99_ms,spread
    mode = substr($1, 9)
    spread = $5 == "inf" ? "∞ (a worker served none)" : $5
    printf "| `%s` | %.2f | %.0f | %.2f | %s |\n", mode, $2, $3, $4, spread
}
