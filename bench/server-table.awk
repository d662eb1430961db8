# bench/server-table.awk — results/server-summary.csv as the README's Markdown table.
# Usage: awk -f bench/server-table.awk results/server-summary.csv
# One row per case: the peer with the least CPU per request and fdhttpd's ratio to it
# against the issue's target, then the peer with the most requests/s and fdhttpd's
# ratio to that, each with who bounded the run (client: fdload busy >= 90% and the
# server not — then requests/s measure the client, not the server).
BEGIN {
  FS = ","
  name["ka-13B"] = "kept-alive 13 B"; name["ka-4KiB"] = "kept-alive 4 KiB"
  name["ka-100KiB"] = "kept-alive 100 KiB"; name["ka-10MiB"] = "kept-alive 10 MiB, 4 conns"
  name["close-13B"] = "`Connection: close` 13 B"; name["pipe16-13B"] = "16-deep pipelining 13 B"
  # CPU ratio targets (fdhttpd / best peer); pipelining: requests/s >= 5x instead
  cpu_t["ka-13B"] = 0.7; cpu_t["ka-4KiB"] = 0.85; cpu_t["ka-100KiB"] = 0.95
  cpu_t["ka-10MiB"] = 0.95; cpu_t["close-13B"] = 0.9
}
/^#/ { next }
!hdr { for (i = 1; i <= NF; i++) col[$i] = i; hdr = 1; next }
function v(k) { return (k in col) ? $col[k] : "NaN" }
function num(x, d) { return x == "NaN" ? "–" : sprintf("%." d "f", x) }
function commas(x,    s, out, n) {
  if (x == "NaN") return "–"
  s = sprintf("%.0f", x); out = ""
  while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
  return s out
}
function pname(p) { if (p == "NaN") return "–"; gsub(/_/, "-", p); return p == "nginx-nosendfile" ? "nginx (sendfile off)" : p == "nginx" ? "nginx (sendfile on)" : p }
function key(p) { gsub(/-/, "_", p); return p }
{
  c = $1
  if (!printed++) {
    print "| case | least-CPU peer: µs/request | fdhttpd µs/request | ratio (target) | fastest peer: req/s (bound) | fdhttpd req/s (bound) | ratio | syscalls/request fdhttpd / that peer |"
    print "|---|---:|---:|---:|---:|---:|---:|---:|"
  }
  bc = v("best_cpu_peer"); br = v("best_rps_peer")
  mb = (c == "ka-10MiB")
  t = (c in cpu_t) ? " (≤ " cpu_t[c] ")" : " (–)"
  rt = (c == "pipe16-13B") ? " (≥ 5)" : (c == "ka-100KiB" || c == "ka-10MiB") ? " (≥ 1)" : ""
  fr = mb ? num(v("fdhttpd_mb_s"), 0) " MB/s" : commas(v("fdhttpd_rps"))
  pr = mb ? num(v(key(br) "_mb_s"), 0) " MB/s" : commas(v(key(br) "_rps"))
  printf "| %s | %s: %s | %s | %s%s | %s: %s (%s) | %s (%s) | %s%s | %s / %s |\n", \
    (c in name) ? name[c] : c, pname(bc), num(v("best_peer_cpu_us_per_req"), 2), num(v("fdhttpd_cpu_us_per_req"), 2), \
    num(v("cpu_ratio_to_best"), 2) "×", t, pname(br), pr, v("best_rps_peer_bound"), fr, v("fdhttpd_bound"), \
    num(v("rps_ratio_to_best"), 2) "×", rt, num(v("fdhttpd_syscalls_per_req"), 2), num(v(key(bc) "_syscalls_per_req"), 2)
}
