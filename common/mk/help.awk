# help.awk — `make help`, written from the makefiles themselves (Makefile, lab.mk).
#
# Two sources, printed in the order they stand in the files given:
#   target: prerequisites   ## text      a target and what it does ("%" shows as N)
#   #help text                           a line printed as is (for rules a makefile
#                                        generates, such as lab-N, and for lab.mk files)
# Recipe lines (they start with a tab) and other comments are ignored.
/^#help / {
    sub(/^#help /, "")
    print "  " $0
    next
}
/^[A-Za-z0-9_.%-]+:.*## / {
    target = $0
    sub(/:.*/, "", target)
    gsub(/%/, "N", target)
    text = $0
    sub(/^[^#]*## /, "", text)
    printf "  make %-12s %s\n", target, text
}
