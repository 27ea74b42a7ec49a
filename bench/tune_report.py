#!/usr/bin/env python3
"""bench/tune.sh's report: tables on stdout, curve data for bench/tune.gp.

usage: tune_report.py OUT TRIALS SEEDS WORKLOADS METHODS [BLIND_TRIALS]

Reads OUT/WL-METHOD-SEED.json (ftc tune --json: best_by_trial, what the
search measured) and OUT/WL-METHOD-SEED.jsonl (ftc db export: each record's
time of creation, for the curve against seconds; cut-off records, runs 0,
are lower bounds and never count as a best).  "constructed" is the sa-q
run's naive and constructed points alone.  Writes OUT/curve-WL-METHOD.dat:
trial, median best GFLOP/s at that trial; and OUT/curve-WL-METHOD-s.dat:
seconds, median best GFLOP/s by then (on a grid of 100 steps).
"""
import json
import os
import statistics
import sys

out, sa_trials, seeds, wls, methods = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), \
    sys.argv[4].split(), sys.argv[5].split()
# the blind starts (random, sa-q-blind) may have a longer budget than sa-q's
blind_trials = int(sys.argv[6]) if len(sys.argv) > 6 else sa_trials
trials = max(sa_trials, blind_trials)
columns = sorted({n for n in (10, 20, 40, sa_trials, blind_trials) if n <= trials})


def load(wl, m, s):
    p = f"{out}/{wl}-{m}-{s}.json"
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def curve(run):
    """best GFLOP/s after each trial (1-based index i-1), as long as the
    run's budget (a blind start may have a smaller one), at most TRIALS."""
    c = list(run.get("best_by_trial") or [0.0])
    n = min(run.get("trials") or len(c), trials)
    return (c + [c[-1]] * n)[:n]


def constructed(run):
    """the sa-q run's curve cut after its naive + constructed points (flat
    after them: what they alone give)."""
    c = curve(run)
    k = min(run.get("constructed", 0), len(c) - 1)
    return c[:k + 1] + [c[k]] * (len(c) - k - 1)


def median_at(cs, i):
    """median over the curves long enough to have trial i+1, else None"""
    vals = [c[i] for c in cs if i < len(c)]
    return statistics.median(vals) if vals and len(vals) == len(cs) else None


def by_seconds(wl, m, s):
    """[(elapsed s, best so far)] from the db export, measured records only."""
    src = "sa-q" if m == "constructed" else m
    p = f"{out}/{wl}-{src}-{s}.jsonl"
    if not os.path.exists(p):
        return []
    with open(p) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    if not recs:
        return []
    # a sa-q-model db also holds the other workloads' imported records,
    # all older than this tune's newest
    recs.sort(key=lambda r: r.get("created", 0))
    recs = [r for r in recs if r.get("workload") == recs[-1].get("workload")]
    if m == "constructed":
        recs = recs[:1 + (load(wl, "sa-q", s) or {}).get("constructed", 0)]
    t0, best, pts = recs[0]["created"], 0.0, []
    for r in recs:
        if r.get("status") == "ok" and r.get("runs", 0) > 0:
            best = max(best, r.get("gflops") or 0.0)
        pts.append((r["created"] - t0, best))
    return pts


def at(pts, t):
    v = 0.0
    for x, b in pts:
        if x > t:
            break
        v = b
    return v


def first_reach(c, level):
    for i, v in enumerate(c):
        if v >= level:
            return i + 1
    return None


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


all_methods = ["constructed"] + methods
curves, finals, reach = {}, {}, {}
for wl in wls:
    for m in all_methods:
        runs = [load(wl, "sa-q" if m == "constructed" else m, s) for s in seeds]
        runs = [(s, r) for s, r in zip(seeds, runs) if r]
        if not runs:
            continue
        cs = [constructed(r) if m == "constructed" else curve(r) for _, r in runs]
        curves[wl, m] = cs
        with open(f"{out}/curve-{wl}-{m}.dat", "w") as f:
            for i in range(trials):
                v = median_at(cs, i)
                if v is not None:
                    f.write(f"{i + 1} {v:.4g}\n")
        ss = [by_seconds(wl, m, s) for s, _ in runs]
        ss = [p for p in ss if p]
        if ss:
            tmax = max(p[-1][0] for p in ss)
            with open(f"{out}/curve-{wl}-{m}-s.dat", "w") as f:
                for k in range(101):
                    t = tmax * k / 100
                    f.write(f"{t:.4g} {statistics.median(at(p, t) for p in ss):.4g}\n")

print("\n| workload | method | " + " | ".join(f"@{n}" for n in columns)
      + " | trial reaching 95% of sa-q's final best (median; per seed) | tuning s (median) |")
print("| --- | --- | " + "--- | " * len(columns) + "--- | --- |")
for wl in wls:
    if (wl, "sa-q") not in curves:
        continue
    target = {s: 0.95 * curve(r)[-1] for s in seeds if (r := load(wl, "sa-q", s))}
    for m in all_methods:
        if (wl, m) not in curves:
            continue
        cs = curves[wl, m]
        cells = [f"{v:.1f}" if (v := median_at(cs, min(n, trials) - 1)) is not None else "-"
                 for n in columns]
        src = "sa-q" if m == "constructed" else m
        hits = []
        for s in seeds:
            r = load(wl, src, s)
            if r and s in target:
                c = constructed(r) if m == "constructed" else curve(r)
                hits.append(first_reach(c, target[s]))
        budget = min(len(c) for c in cs)
        per = ", ".join(str(h) if h else f">{budget}" for h in hits)
        mh = [h if h else budget + 1 for h in hits]
        mtxt = f"{statistics.median(mh):.0f}" if mh else "-"
        if mh and statistics.median(mh) > budget:
            mtxt = f">{budget}"
        reach[wl, m] = (hits, budget)
        secs = med([(load(wl, src, s) or {}).get("seconds") for s in seeds]) if m != "constructed" else None
        print(f"| {wl} | {m} | " + " | ".join(cells) + f" | {mtxt} ({per}) | "
              + (f"{secs:.0f}" if secs else "-") + " |")

if "sa-q-model" in methods:
    print("\nsa-q-model: records its cost model was trained on, per seed (0: the first tune of its chain, no model):")
    for wl in wls:
        recs = [str((load(wl, "sa-q-model", s) or {}).get("model_records", "-")) for s in seeds]
        print(f"  {wl}: " + ", ".join(recs))

print("\nsa-q vs random (issue 15: sa-q reaches 95% of its final best in at most a third of the"
      " trials random search needs to reach the same level; '>N': not within the budget, so"
      " undetermined when a third of N+1 is below sa-q's count):")
for wl in wls:
    for m in ("sa-q", "sa-q-blind", "sa-q-model"):
        if (wl, m) in reach and (wl, "random") in reach:
            (ha, na), (hb, nb) = reach[wl, m], reach[wl, "random"]
            a = med([h if h else na + 1 for h in ha])
            b = med([h if h else nb + 1 for h in hb])
            if a is None or b is None:
                continue
            at = f">{na}" if a > na else f"{a:.0f}"
            bt = f">{nb}" if b > nb else f"{b:.0f}"
            if a <= na and a * 3 <= b:
                verdict = "met"
            elif b > nb and a <= na:
                verdict = "undetermined (random's budget is too small to tell)"
            else:
                verdict = "NOT met"
            print(f"  {wl}: {m} {at} trials, random {bt}: {verdict}")

print("\nThe same question at equal cost: the best after a third of random's budget N"
      " against random's best after N (median of seeds):")
for wl in wls:
    if (wl, "random") not in curves:
        continue
    n = min(len(c) for c in curves[wl, "random"])
    rb = median_at(curves[wl, "random"], n - 1)
    for m in ("sa-q", "sa-q-blind", "sa-q-model"):
        if (wl, m) not in curves:
            continue
        v = median_at(curves[wl, m], max(n // 3, 1) - 1)
        if v is None or rb is None:
            continue
        print(f"  {wl}: {m} after {max(n // 3, 1)} trials {v:.1f} GFLOP/s, random after {n} {rb:.1f}:"
              f" {v / rb:.2f}x" if rb > 0 else "")
