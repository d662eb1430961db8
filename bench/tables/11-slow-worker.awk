# results/11-slow-worker.csv -> per strategy and scenario: the runs' counts side by side.
# slow: requests that took at least the slow worker's sleep (of all), and p99; deadslot:
# requests answered (of all) and how many the master passed on from the dead slot.
/^#/ || $1 == "run" { next }
{
    key = $2 SUBSEP $3
    if (!(key in seen)) { seen[key] = 1; order[++n] = key }
    if ($2 == "slow") {
        v[key] = v[key] (v[key] == "" ? "" : ", ") $7 " of " $4
        p[key] = p[key] (p[key] == "" ? "" : ", ") $9
    } else {
        v[key] = v[key] (v[key] == "" ? "" : ", ") $5 " of " $4 " answered"
        p[key] = p[key] (p[key] == "" ? "" : ", ") ($10 == "" ? "–" : $10 " passed by the master")
    }
}
END {
    print "| scenario | strategy | slow requests (slow) or answered (deadslot), per run | p99 ms (slow) or takeover (deadslot) |"
    print "|---|---|---|---|"
    for (i = 1; i <= n; i++) {
        split(order[i], k, SUBSEP)
        label = k[2]
        if (sub(/@/, ", before the takeover (commit ", label)) label = label ")"
        printf "| %s | %s | %s | %s |\n", k[1], label, v[order[i]], p[order[i]]
    }
}
