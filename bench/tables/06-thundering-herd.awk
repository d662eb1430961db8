# results/06-thundering-herd.csv -> per N, the mean over the runs of wake-ups, returns
# and EAGAINs per connection (columns: mode,workers,concurrency,rep,conns,wakeups,returns,eagain,...).
/^#/ || $1 == "mode" { next }
{
    k = $1 "," $2 "," $3
    runs[k]++; wake[k] += $6; ret[k] += $7; eag[k] += $8
    if (!($2 in seen)) { seen[$2] = 1; ns[++nn] = $2 }
}
function m(a, k) { return sprintf(a == "e" ? "%.3f" : "%.2f", (a == "w" ? wake[k] : a == "r" ? ret[k] : eag[k]) / runs[k]) }
END {
    print "| N | accept: wake-ups/conn | epoll: wake-ups/conn | epoll: returns/conn | epoll: EAGAIN/conn | accept, 4 in flight | epoll, 4 in flight |"
    print "|---|---|---|---|---|---|---|"
    for (i = 1; i <= nn; i++) {
        n = ns[i]
        printf "| %s | %s | %s | %s | %s | %s | %s |\n", n, m("w", "accept," n ",1"), m("w", "epoll," n ",1"),
            m("r", "epoll," n ",1"), m("e", "epoll," n ",1"), m("w", "accept," n ",4"), m("w", "epoll," n ",4")
    }
}
