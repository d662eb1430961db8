# results/08-exclusive-reuseport-distribution.csv -> per mode, over its runs: the
# busiest worker's share (range) and which worker it was, max/min (range over the runs
# where every worker got some; "undefined" where one got none). Columns: mode,rep,
# w0,w1,w2,w3,busiest,busiest_share_pct,max_min_x100,...
/^#/ || $1 == "mode" { next }
{
    m = $1; if (!(m in runs)) order[++n] = m
    runs[m]++
    if (!(m in slo) || $8 < slo[m]) slo[m] = $8
    if (!(m in shi) || $8 > shi[m]) shi[m] = $8
    busy[m, $7] = 1
    for (i = 3; i <= 6; i++) if ($i == 0) zero[m, i - 3] = 1
    if ($9 == "undefined" || $9 < 0) { undef[m]++; next }
    if (!(m in rlo) || $9 < rlo[m]) rlo[m] = $9
    if (!(m in rhi) || $9 > rhi[m]) rhi[m] = $9
}
function range(lo, hi, fmt) { return lo == hi ? sprintf(fmt, lo) : sprintf(fmt "–" fmt, lo, hi) }
END {
    print "| mode | runs | busiest worker's share | busiest was worker | max/min |"
    print "|---|---|---|---|---|"
    for (k = 1; k <= n; k++) {
        m = order[k]; w = ""; nw = 0
        for (i = 0; i < 4; i++) if ((m, i) in busy) { w = w (nw++ ? ", " : "") i }
        if (nw == 4) w = "any"
        mm = (m in rlo) ? range(rlo[m] / 100, rhi[m] / 100, "%.2f") : ""
        if (undef[m]) {
            z = ""; nz = 0; for (i = 0; i < 4; i++) if (zero[m, i]) z = z (nz++ ? " or " : "") i
            mm = mm (mm == "" ? "" : "; ") sprintf("undefined in %d of %d runs: worker %s got 0", undef[m], runs[m], z)
        }
        printf "| %s | %d | %s %% | %s | %s |\n", m, runs[m], range(slo[m], shi[m], "%d"), w, mm
    }
}
