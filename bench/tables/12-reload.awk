# results/12-reload.csv -> one row per scenario, all three clients together (the rows
# with client=all): events, requests, failed (share), and the failures by kind.
/^#/ || $1 == "scenario" || $2 != "all" { next }
function commas(x) { return x < 1000 ? sprintf("%d", x) : commas(int(x / 1000)) sprintf(",%03d", x % 1000) }
BEGIN {
    name["handover"] = "hand-over (reloads + upgrades)"; name["naive"] = "naive restart"
    name["early"] = "closing listeners early (`--no-handover` upgrades)"
    name["overlap"] = "overlapping reuseport, `tcp_migrate_req=0`"
    name["overlap_migrate"] = "overlapping reuseport, `tcp_migrate_req=1`"
    print "| scenario | events | requests | failed | refused | reset | eof | other | retried |"
    print "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
}
{
    # columns: scenario,client,events,requests,ok,failed,reset,refused,connect,eof,timeout,bad,retried
    share = $6 > 0 ? sprintf(" (%.2f %%)", 100 * $6 / $4) : ""
    printf "| %s | %d | %s | **%s**%s | %s | %s | %s | %s | %s |\n", ($1 in name ? name[$1] : $1), $3,
        commas($4), commas($6), share, commas($8), commas($7), commas($10), commas($9 + $11 + $12), commas($13)
}
