# results/07-accept-lock.csv, c=1 -> wake-ups per connection per method and N, the mean
# over the runs, with the lock's share in brackets (columns: method,workers,concurrency,
# rep,requests,ok,errors,wakeups,accept_wakeups,lock_wakeups,...).
/^#/ || $1 == "method" || $3 != 1 { next }
{
    k = $1 "," $2; runs[k]++; w[k] += $8; l[k] += $10
    if (!($1 in sm)) { sm[$1] = 1; ms[++nm] = $1 }
    if (!($2 in sn)) { sn[$2] = 1; ns[++nn] = $2 }
}
END {
    printf "| wake-ups/conn, c=1 (lock's share) |"; for (j = 1; j <= nn; j++) printf " N=%s |", ns[j]; print ""
    printf "|---|"; for (j = 1; j <= nn; j++) printf "---|"; print ""
    for (i = 1; i <= nm; i++) {
        printf "| %s |", ms[i]
        for (j = 1; j <= nn; j++) {
            k = ms[i] "," ns[j]
            share = l[k] / runs[k]
            printf " %.2f%s |", w[k] / runs[k], (share >= 0.005 ? sprintf(" (%.2f)", share) : "")
        }
        print ""
    }
}
