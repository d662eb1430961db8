# results/08-exclusive-reuseport-readd.csv -> per re-add period K, each worker's count
# over the runs (a range where the runs differ). Columns: readd_every,rep,w0,w1,w2,w3,...
/^#/ || $1 == "readd_every" { next }
{
    k = $1; if (!(k in runs)) order[++n] = k
    runs[k]++
    for (i = 0; i < 4; i++) {
        v = $(i + 3)
        if (!((k, i) in lo) || v < lo[k, i]) lo[k, i] = v
        if (!((k, i) in hi) || v > hi[k, i]) hi[k, i] = v
    }
}
END {
    print "| re-add every K accepts | runs | worker 0 / 1 / 2 / 3 |"
    print "|---|---|---|"
    for (j = 1; j <= n; j++) {
        k = order[j]; s = ""
        for (i = 0; i < 4; i++)
            s = s (i ? " / " : "") (lo[k, i] == hi[k, i] ? lo[k, i] : lo[k, i] "–" hi[k, i])
        printf "| %s%s | %d | %s |\n", k, (k == 16 ? " (nginx)" : ""), runs[k], s
    }
}
