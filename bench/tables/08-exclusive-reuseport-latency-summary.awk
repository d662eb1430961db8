# results/08-exclusive-reuseport-latency-summary.csv -> per mode, ranges over its runs:
# requests the slow worker served, requests >= the sleep, p50, p99 and max latency in
# ms. Columns: mode,rep,ok,served_by_slow,slower_than_sleep,p50_us,p99_us,max_us,...
/^#/ || $1 == "mode" { next }
{
    m = $1; if (!(m in runs)) order[++n] = m
    runs[m]++
    for (c = 4; c <= 8; c++) {
        if (!((m, c) in lo) || $c + 0 < lo[m, c]) lo[m, c] = $c + 0
        if (!((m, c) in hi) || $c + 0 > hi[m, c]) hi[m, c] = $c + 0
    }
}
# v in ms (from µs) with 3 significant figures at most, or as an integer count.
function f(v, ms) { return !ms ? sprintf("%d", v) : sprintf(v < 10000 ? "%.2f" : v < 100000 ? "%.1f" : "%.0f", v / 1000) }
# Column c of mode m as a range over the runs.
function r(m, c, ms,    a, b) {
    a = f(lo[m, c], ms); b = f(hi[m, c], ms)
    return a == b ? a : a "–" b
}
END {
    print "| mode | runs | served by the slow worker | requests ≥ 50 ms | p50 ms | p99 ms | max ms |"
    print "|---|---|---|---|---|---|---|"
    for (k = 1; k <= n; k++) {
        m = order[k]
        printf "| %s | %d | %s | %s | %s | %s | %s |\n", m, runs[m], r(m, 4), r(m, 5),
            r(m, 6, 1), r(m, 7, 1), r(m, 8, 1)
    }
}
