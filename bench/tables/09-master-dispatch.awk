# results/09-master-dispatch.csv -> per mode and requests in flight, means over the
# runs: requests per worker, CPU µs per connection (the master's part in brackets),
# context switches per connection, p50 and p99 latency. Columns: mode,workers,
# concurrency,rep,conns,errors,cpu_us_per_conn,master_cpu_us_per_conn,
# workers_cpu_us_per_conn,csw_per_conn,p50_us,p99_us,w0,w1,w2,w3,clean
/^#/ || $1 == "mode" { next }
{
    k = $3 SUBSEP $1
    if (!(k in runs)) { key[++n] = k; if (!($3 in sc)) { sc[$3] = 1; cs[++nc] = $3 } }
    runs[k]++; conns[k] = $5
    for (c = 7; c <= 16; c++) sum[k, c] += $c
}
function m(k, c) { return sum[k, c] / runs[k] }
END {
    print "| mode | in flight | worker 0 / 1 / 2 / 3 | CPU µs/conn (master's part) | context switches/conn | p50 µs | p99 µs |"
    print "|---|---|---|---|---|---|---|"
    for (j = 1; j <= nc; j++)
        for (i = 1; i <= n; i++) {
            k = key[i]; split(k, f, SUBSEP); if (f[1] != cs[j]) continue
            printf "| %s | %s | %.0f / %.0f / %.0f / %.0f | %.1f (%.1f) | %.1f | %.0f | %.0f |\n", f[2], f[1],
                m(k, 13), m(k, 14), m(k, 15), m(k, 16), m(k, 7), m(k, 8), m(k, 10), m(k, 11), m(k, 12)
        }
    printf "\nEach row: the mean of %d runs of %d requests, 4 workers.\n", runs[key[1]], conns[key[1]]
}
