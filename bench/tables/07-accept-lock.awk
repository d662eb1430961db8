# results/07-accept-lock.csv -> two tables, means over the runs per method and N:
# at c=1 the wake-ups per connection with the lock's share in brackets; at c=8 the
# workers' CPU µs per connection and the requests/s (columns: method,workers,
# concurrency,rep,requests,ok,errors,wakeups,accept_wakeups,lock_wakeups,
# empty_wakeups,cpu_us_per_conn,rps,...).
/^#/ || $1 == "method" { next }
{
    k = $1 "," $2 "," $3; runs[k]++; w[k] += $8; l[k] += $10; cpu[k] += $12; rps[k] += $13
    if (!($1 in sm)) { sm[$1] = 1; ms[++nm] = $1 }
    if (!($2 in sn)) { sn[$2] = 1; ns[++nn] = $2 }
}
function head(title,    j) {
    printf "| %s |", title; for (j = 1; j <= nn; j++) printf " N=%s |", ns[j]; print ""
    printf "|---|"; for (j = 1; j <= nn; j++) printf "---|"; print ""
}
# One row: label, then for each N the mean of a[method,N,c] in format fmt.
function row(label, a, m, c, fmt,    j, k) {
    printf "| %s |", label
    for (j = 1; j <= nn; j++) { k = m "," ns[j] "," c; printf " " fmt " |", a[k] / runs[k] }
    print ""
}
END {
    head("wake-ups/conn, c=1 (lock's share)")
    for (i = 1; i <= nm; i++) {
        printf "| %s |", ms[i]
        for (j = 1; j <= nn; j++) {
            k = ms[i] "," ns[j] ",1"; share = l[k] / runs[k]
            printf " %.2f%s |", w[k] / runs[k], (share >= 0.005 ? sprintf(" (%.2f)", share) : "")
        }
        print ""
    }
    print ""
    head("c=8")
    for (i = 1; i <= nm; i++) row("CPU µs/conn, " ms[i], cpu, ms[i], 8, "%.1f")
    for (i = 1; i <= nm; i++) row("req/s, " ms[i], rps, ms[i], 8, "%.0f")
}
