# results/server-profile.csv -> per case, the share of the serving process's CPU
# samples (perf record -e cpu-clock) spent in the kernel and in user space.
/^#/ || $1 == "server" { next }
BEGIN {
    name["ka-13B"] = "kept-alive 13 B"; name["ka-4KiB"] = "kept-alive 4 KiB"
    name["ka-100KiB"] = "kept-alive 100 KiB"; name["ka-10MiB"] = "kept-alive 10 MiB"
    name["close-13B"] = "`Connection: close` 13 B"; name["pipe16-13B"] = "16-deep pipelining 13 B"
    print "| server | case | kernel | user space |"
    print "|---|---|---:|---:|"
}
{ printf "| %s | %s | %.0f %% | %.0f %% |\n", $1, ($2 in name ? name[$2] : $2), 100 * $4, 100 * $5 }
