#!/usr/bin/env python3
"""Gather bench/suite.sh's results into OUT/suite.json and OUT/suite.md
(OUT/suite-hand.* for SCHEDULE=hand).

    suite_report.py OUT SCHEDULE MACHINE

Reads OUT/OP-tT.SCHEDULE.json (bench_suite's object per operator and
thread count), OUT/OP-tT.json (ftc tune --json, when SCHEDULE is "tuned")
and OUT/peak.json (ftc targets --peak --json).  The ratio is the fastest
fair library's time over ftc's (above 1: ftc is faster); its range is the
lowest and highest per-round ratio; the geometric mean is over the
operators measured at that thread count.
"""
import glob
import json
import math
import os
import sys
import time


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def peak_for(peak, threads):
    """The FMA peak for `threads`: the wall-clock figure, or, when larger,
    threads x one core's flops over its own CPU time (on a busy machine the
    wall-clock peak reads low and varies run to run; the CPU-time figure
    stays near the core's real peak)."""
    fma = peak.get("fma_gflops") or []
    if not fma:
        return None
    wall = fma[0] if threads == 1 else fma[-1]
    core = peak.get("fma_gflops_per_core_cpu_time") or 0
    return max(wall, core * threads)


def gather(out, schedule):
    peak = load(os.path.join(out, "peak.json")) or {}
    rows = []
    for path in sorted(glob.glob(os.path.join(out, f"*-t*.{schedule}.json"))):
        r = load(path)
        if not r:
            continue
        tune = load(os.path.join(out, f"{r['op']}-t{r['threads']}.json")) if schedule == "tuned" else None
        if tune:
            r["tune"] = {k: tune.get(k) for k in
                         ("seconds", "trials", "stop", "naive_gflops", "best_gflops", "best_by_trial")}
        r["peak_gflops"] = peak_for(peak, r["threads"])
        alone = load(os.path.join(out, f"{r['op']}-t{r['threads']}.alone.json"))
        if alone:
            secs = {l["name"]: l["seconds"] for l in alone["libs"]}
            if r["baseline"] in secs:
                r["baseline_alone_seconds"] = secs[r["baseline"]]
        rows.append(r)
    rows.sort(key=lambda r: (r["threads"], r["op"]))
    return peak, rows


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def table(peak, rows, machine, schedule):
    lines = [f"Suite ({schedule} schedules), {machine}, {time.strftime('%Y-%m-%d', time.gmtime())}.",
             ""]
    if peak:
        lines.append(f"Measured limits: f32 peak {peak['fma_gflops'][0]} / {peak['fma_gflops'][-1]} GFLOP/s "
                     f"(1 / {peak['threads'][-1]} threads; {peak.get('fma_gflops_per_core_cpu_time', '?')} "
                     f"per core by CPU time), STREAM triad {peak['triad_gbs'][0]} / {peak['triad_gbs'][-1]} GB/s, "
                     f"load average {peak.get('load_before')}.")
        lines.append("")
    lines.append("| operator | threads | ftc GFLOP/s | baseline | baseline GFLOP/s | ratio (range) "
                 "| vs fastest incl. own layouts | baseline alone / with ftc | ftc % of peak | tune s (trials) | load before / after |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        base = next(l for l in r["libs"] if l["name"] == r["baseline"])
        anyr = min(l["ratio"] for l in r["libs"])
        ba = r.get("baseline_alone_seconds")
        alone = f"{ba / base['seconds']:.2f}" if ba else "-"
        pct = f"{100 * r['ftc']['gflops'] / r['peak_gflops']:.1f}" if r.get("peak_gflops") else "-"
        tune = r.get("tune")
        ts = f"{tune['seconds']:.0f} ({tune['trials']})" if tune else "-"
        lines.append(f"| {r['op']} | {r['threads']} | {r['ftc']['gflops']:.3g} | {r['baseline']} "
                     f"| {base['gflops']:.3g} | {r['ratio']:.2f} ({r['ratio_min']:.2f}-{r['ratio_max']:.2f}) "
                     f"| {anyr:.2f} | {alone} | {pct} | {ts} | {r['load_before'].split()[0]} / {r['load_after'].split()[0]} |")
    lines.append("")
    for t in sorted({r["threads"] for r in rows}):
        rs = [r["ratio"] for r in rows if r["threads"] == t]
        wins = sum(x >= 1 for x in rs)
        lines.append(f"{t} thread(s): geometric mean ratio {geomean(rs):.2f} over {len(rs)} operators; "
                     f"ftc at least as fast in {wins}.")
    lines.append("")
    lines.append("ratio = baseline time / ftc time (above 1: ftc is faster), median of interleaved rounds; "
                 "range = lowest and highest per-round ratio. % of peak: of the larger of the wall-clock "
                 "FMA peak and threads x one core's peak by its CPU time. Baseline alone / with ftc: the "
                 "baseline's time in a process without ftc over its time beside ftc (near 1: sharing "
                 "the process did not change it).")
    return "\n".join(lines) + "\n"


def main():
    out, schedule, machine = sys.argv[1], sys.argv[2], sys.argv[3]
    peak, rows = gather(out, schedule)
    doc = {"machine": machine, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "schedule": schedule, "peak": peak, "results": rows}
    name = "suite" if schedule == "tuned" else f"suite-{schedule}"
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(doc, f, indent=1)
    md = table(peak, rows, machine, schedule)
    with open(os.path.join(out, name + ".md"), "w") as f:
        f.write(md)
    sys.stdout.write(md)


if __name__ == "__main__":
    main()
