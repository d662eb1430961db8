# results/08-exclusive-reuseport-duration.csv -> one row per run of 3 s with a slow
# worker: requests completed, requests/s, served by the slow worker, p99 in ms.
# Columns: mode,rep,ok,errors,throughput_rps,served_by_slow,slower_than_sleep,p50_us,p99_us,max_us
/^#/ || $1 == "mode" { next }
{ rows[++n] = sprintf("| %s | %s | %d | %d | %d | %s |", $1, $2, $3, $5, $6,
      sprintf($9 < 10000 ? "%.2f" : "%.0f", $9 / 1000)) }
END {
    print "| mode | run | requests | requests/s | served by the slow worker | p99 ms |"
    print "|---|---|---|---|---|---|"
    for (i = 1; i <= n; i++) print rows[i]
}
