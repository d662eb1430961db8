# results/server-callgrind.csv -> one row per case, the servers' user-space
# instructions per request side by side (fdhttpd in bold).
/^#/ || $1 == "server" { next }
{
    if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 }
    if (!($1 in sseen)) { sseen[$1] = 1; srv[++m] = $1 }
    v[$2, $1] = $5
}
function commas(x) { return x < 1000 ? sprintf("%d", x) : commas(int(x / 1000)) sprintf(",%03d", x % 1000) }
END {
    name["ka-13B"] = "kept-alive 13 B"; name["ka-4KiB"] = "kept-alive 4 KiB"
    name["close-13B"] = "`Connection: close` 13 B"; name["pipe16-13B"] = "16-deep pipelining 13 B"
    line = "| case |"; sep = "|---|"
    for (j = 1; j <= m; j++) { line = line " " srv[j] " |"; sep = sep "---:|" }
    print line; print sep
    for (i = 1; i <= n; i++) {
        line = "| " (order[i] in name ? name[order[i]] : order[i]) " |"
        for (j = 1; j <= m; j++) {
            x = v[order[i], srv[j]]
            line = line " " (srv[j] == "fdhttpd" ? "**" commas(x) "**" : commas(x)) " |"
        }
        print line
    }
}
