# results/07-accept-lock.csv, c=8 -> workers' CPU µs per connection and requests/s per
# method and N, the mean over the runs (columns 12 cpu_us_per_conn, 13 rps).
/^#/ || $1 == "method" || $3 != 8 { next }
{
    k = $1 "," $2; runs[k]++; cpu[k] += $12; rps[k] += $13
    if (!($1 in sm)) { sm[$1] = 1; ms[++nm] = $1 }
    if (!($2 in sn)) { sn[$2] = 1; ns[++nn] = $2 }
}
END {
    printf "| c=8 |"; for (j = 1; j <= nn; j++) printf " N=%s |", ns[j]; print ""
    printf "|---|"; for (j = 1; j <= nn; j++) printf "---|"; print ""
    for (i = 1; i <= nm; i++) {
        printf "| CPU µs/conn, %s |", ms[i]
        for (j = 1; j <= nn; j++) printf " %.1f |", cpu[ms[i] "," ns[j]] / runs[ms[i] "," ns[j]]
        print ""
    }
    for (i = 1; i <= nm; i++) {
        printf "| req/s, %s |", ms[i]
        for (j = 1; j <= nn; j++) printf " %.0f |", rps[ms[i] "," ns[j]] / runs[ms[i] "," ns[j]]
        print ""
    }
}
