# results/05-robust-mutex.csv -> ns per lock+increment, one row per process count.
function f(v) { return v >= 100 ? sprintf("%.0f", v) : v >= 10 ? sprintf("%.1f", v) : sprintf("%.2f", v) }
/^#/ { next }
!head {
    head = 1
    printf "| ns per op |"; for (i = 2; i <= NF; i++) printf " %s |", $i; print ""
    printf "|---|"; for (i = 2; i <= NF; i++) printf "---|"; print ""
    next
}
{
    printf "| %d process%s |", $1, ($1 > 1 ? "es" : "")
    for (i = 2; i <= NF; i++) printf " %s |", f($i)
    print ""
}
