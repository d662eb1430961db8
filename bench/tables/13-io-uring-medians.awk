# results/13-io-uring-medians.csv -> per case, epoll against io_uring: CPU µs, system
# calls and context switches per request (columns: case,keepalive,conns,epoll_cpu_us,
# uring_cpu_us,epoll_syscalls,uring_syscalls,epoll_ctxsw,uring_ctxsw,epoll_rps,uring_rps).
/^#/ { next }
BEGIN {
    print "| case | CPU µs/request epoll → io_uring | system calls/request | context switches/request |"
    print "|---|---:|---:|---:|"
}
{
    split($1, c, " ")
    name = (c[1] == "close" ? "close" : "kept-alive") ", " $3 " connection" ($3 == 1 ? "" : "s")
    printf "| %s | %.2f → %.2f (%.2f×) | %.2f → %.2f | %.3f → %.3f |\n", name, $4, $5, $5 / $4, $6, $7, $8, $9
}
