#!/bin/sh
# bench/tables.sh NAME [CSV] — print the markdown table that bench/tables/NAME.awk makes
# from CSV (default results/NAME.csv), then a line naming that file, its machine and
# date (from the comment lines every results/ file starts with). Notes embed the output
# in <!-- gen: sh bench/tables.sh NAME --> blocks (common/mk/docs.py checks them).
set -eu
name=$1
csv=${2:-results/$name.csv}
awk -F, -f "bench/tables/$name.awk" "$csv"
machine=$(sed -n 's/^# machine: //p' "$csv" | head -n 1)
date=$(sed -n 's/^# date: //p' "$csv" | head -n 1)
# The link is relative to notes/; TABLE_LINK= (empty) makes it relative to the top (README).
printf '\nFrom [%s](%s%s) (%s; %s).\n' "$csv" "${TABLE_LINK-../}" "$csv" "$machine" "$date"
