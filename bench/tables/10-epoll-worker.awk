# results/10-epoll-worker.csv -> per N idle connections, the range over the runs of the
# kernel slab growth, kernel bytes per socket and server RSS bytes per connection
# (columns: rep,n,limited,accepted,served,rss_delta_kb,slab_delta_kb,slab_tcp_objs_delta,
# rss_per_conn_bytes,kernel_per_socket_bytes,...).
/^#/ || $1 == "rep" { next }
function lo(a, k, v) { if (!(k in a) || v < a[k]) a[k] = v }
function hi(a, k, v) { if (!(k in a) || v > a[k]) a[k] = v }
function r(a, b, k, fmt,    x, y) {
    x = sprintf(fmt, a[k]); y = sprintf(fmt, b[k])
    return x == y ? x : x "–" y
}
{
    n = $2; if (!(n in seen)) { seen[n] = 1; ns[++nn] = n }
    lo(sl, n, $7 / 1024); hi(sh, n, $7 / 1024)
    lo(kl, n, $10); hi(kh, n, $10); lo(ul, n, $9); hi(uh, n, $9)
}
END {
    print "| idle connections | slab growth, both ends (MiB) | kernel bytes per socket | server RSS bytes per connection |"
    print "|---|---|---|---|"
    for (i = 1; i <= nn; i++) {
        n = ns[i]
        printf "| %d | %s | %s | %s |\n", n, r(sl, sh, n, "%.1f"), r(kl, kh, n, "%d"), r(ul, uh, n, "%d")
    }
}
