#!/usr/bin/env bash
# ftc db plot: the tuning-curve chart of a workload from the db: the gnuplot
# script (-o .gp) holds one data row per record, the best-so-far column
# never falls, a .png/.svg is drawn when gnuplot is installed (else a clear
# message), and the errors: no workload, an unknown format, -o over the db.
# Usage: test_db_plot.sh PATH/TO/ftc
set -uo pipefail
FTC=$(realpath "$1")
. "$(dirname "$0")/lib.sh"
DB=$TMP/t.db

GEMM=(-D M=16 -D N=16 -D K=16 "$ROOT/examples/gemm.te")
"$FTC" tune "${GEMM[@]}" --trials 6 --db "$DB" -q >/dev/null 2>&1 || bad "tune failed"
nrec=$("$FTC" db export --db "$DB" 2>/dev/null | wc -l)
[ "$nrec" -ge 2 ] && ok || bad "tune stored $nrec records"

expect "script" 0 "wrote .*t.gp \(1 target\)" -- "$FTC" db plot "${GEMM[@]}" --db "$DB" -o "$TMP/t.gp"
rows=$(sed -n '/^\$t0 << EOD$/,/^EOD$/p' "$TMP/t.gp" | grep -c '^[0-9]')
[ "$rows" -eq "$nrec" ] && ok || bad "script has $rows data rows, the db $nrec records"
# Column 4 (the best so far) never falls; column 1 counts the trials.
if sed -n '/^\$t0 << EOD$/,/^EOD$/p' "$TMP/t.gp" | grep '^[0-9]' |
	awk 'BEGIN{b=0; bad=0} { if ($4 + 0 < b || $1 != NR) bad=1; b=$4 + 0 } END{exit bad}'; then ok; else
	bad "best-so-far column falls or trials are not numbered 1..n"
fi
grep -q "title 'cpu " "$TMP/t.gp" && ok || bad "the target is not the curve's title"

# By hash prefix too, and the default name HASH8.png in the working dir.
hash=$("$FTC" db list --db "$DB" | awk 'NR == 2 {print $1}')
if command -v gnuplot >/dev/null; then
	expect "png" 0 "wrote .*t.png" -- "$FTC" db plot "$hash" --db "$DB" -o "$TMP/t.png"
	[ "$(head -c 4 "$TMP/t.png" | od -An -c | tr -d ' ')" = "211PNG" ] && ok || bad "t.png is not a PNG"
	expect "svg" 0 "wrote .*t.svg" -- "$FTC" db plot "$hash" --db "$DB" -o "$TMP/t.svg"
	grep -q "<svg" "$TMP/t.svg" && ok || bad "t.svg is not SVG"
	(cd "$TMP" && "$FTC" db plot "${hash:0:6}" --db "$DB" >/dev/null 2>&1) && [ -s "$TMP/${hash:0:8}.png" ] &&
		ok || bad "no default ${hash:0:8}.png"
else
	expect "no gnuplot" 1 "gnuplot is not installed" -- "$FTC" db plot "$hash" --db "$DB" -o "$TMP/t.png"
	[ ! -e "$TMP/t.png" ] && ok || bad "a failed plot left t.png"
fi

expect "format" 1 "name a .png, .svg or .gp" -- "$FTC" db plot "$hash" --db "$DB" -o "$TMP/t.jpg"
expect "no workload" 1 "no workload 0000 in the tuning db" -- "$FTC" db plot 0000 --db "$DB" -o "$TMP/x.gp"
expect "no argument" 1 "give a workload hash" -- "$FTC" db plot --db "$DB"
expect "over the db" 1 "error: .*tuning db" -- "$FTC" db plot "$hash" --db "$DB" -o "$DB"
expect "no db" 1 "no tuning db at" -- "$FTC" db plot "$hash" --db "$TMP/none.db" -o "$TMP/x.gp"
[ ! -e "$TMP/none.db" ] && ok || bad "plot created a db"
nrec2=$("$FTC" db export --db "$DB" 2>/dev/null | wc -l)
[ "$nrec2" -eq "$nrec" ] && ok || bad "plot changed the db ($nrec -> $nrec2 records)"

echo "db_plot: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
