# results/server-summary.csv -> fdhttpd against nginx (sendfile on), one worker each:
# requests/s (MB/s for the 10 MiB case), CPU µs per request, p99, system calls per request.
# Columns are found by name in the header line.
/^#/ { next }
!hdr { for (i = 1; i <= NF; i++) col[$i] = i; hdr = 1
       print "| case | req/s nginx / fdhttpd | CPU µs/request nginx → fdhttpd | p99 ms nginx / fdhttpd | syscalls/request nginx / fdhttpd |"
       print "|---|---:|---:|---:|---:|"
       next }
function v(k) { return $col[k] }
function commas(x) { return x < 1000 ? sprintf("%d", x) : commas(int(x / 1000)) sprintf(",%03d", x % 1000) }
BEGIN {
    name["ka-13B"] = "kept-alive 13 B"; name["ka-4KiB"] = "kept-alive 4 KiB"
    name["ka-100KiB"] = "kept-alive 100 KiB"; name["ka-10MiB"] = "kept-alive 10 MiB (MB/s)"
    name["close-13B"] = "`Connection: close` 13 B"; name["pipe16-13B"] = "16-deep pipelining 13 B"
}
{
    c = $1
    rate = c == "ka-10MiB" ? sprintf("%.0f / %.0f", v("nginx_mb_s"), v("fdhttpd_mb_s")) \
                           : commas(v("nginx_rps")) " / " commas(v("fdhttpd_rps"))
    printf "| %s | %s | %.2f → %.2f (%.2f×) | %.1f / %.1f | %.2f / %.2f |\n", (c in name ? name[c] : c), rate,
        v("nginx_cpu_us_per_req"), v("fdhttpd_cpu_us_per_req"), v("fdhttpd_cpu_us_per_req") / v("nginx_cpu_us_per_req"),
        v("nginx_p99_us") / 1000, v("fdhttpd_p99_us") / 1000, v("nginx_syscalls_per_req"), v("fdhttpd_syscalls_per_req")
}
