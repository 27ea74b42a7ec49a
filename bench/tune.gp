# bench/tune.sh's chart: best GFLOP/s so far (median of the seeds) against
# trials (x = "trials") or tuning seconds (x = "seconds"), one panel per
# workload, one line per method and a dashed one for the naive and
# constructed points alone.  Called with -e setting term, out, dir, x,
# wls, methods and machine; reads dir/curve-WL-METHOD[-s].dat
# (bench/tune_report.py).
set terminal @term
set output out
n = words(wls)
cols = n > 1 ? 2 : 1
rows = (n + cols - 1) / cols
set multiplot layout rows, cols title sprintf("ftc tune, best GFLOP/s so far (median of seeds) vs %s\n%s", x, machine)
set grid
set key bottom right font ",8"
set ylabel "best GFLOP/s"
set xlabel (x eq "trials" ? "trial" : "tuning seconds")
suffix = (x eq "trials" ? "" : "-s")
do for [i = 1:n] {
	wl = word(wls, i)
	set title wl noenhanced
	plot sprintf("%s/curve-%s-constructed%s.dat", dir, wl, suffix) using 1:2 with steps lw 3 dt 2 \
		lc rgb "gray40" title "constructed points alone", \
	     for [m in methods] sprintf("%s/curve-%s-%s%s.dat", dir, wl, m, suffix) \
		using 1:2 with steps lw 2 title m noenhanced
}
unset multiplot
