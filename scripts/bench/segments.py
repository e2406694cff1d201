#!/usr/bin/env python3
"""segments.py PREFIX N [A B]: from the progress lines of replays (`replay: L lines, R
lines/s, event time T`: R is the mean rate since the start, so L / R is the time at line
L), the time each part of the day took in PREFIX-A-I.txt and PREFIX-B-I.txt (A, B default
`without`, `with`; I = 1..N), their medians and B's rate over A's by round. Parts are by
line count, the same lines in both; the first million is left out (the roster's upload)."""
import bisect
import statistics
import sys


def points(path):
    out = []
    for line in open(path):
        p = line.split()
        try:
            out.append((int(p[0]), int(p[0]) / float(p[1]), p[2] if len(p) > 2 else ""))
        except (ValueError, IndexError):
            pass
    return out


def at(pts, n):
    ns = [p[0] for p in pts]
    i = bisect.bisect_left(ns, n)
    if i >= len(pts):
        return pts[-1][1]
    if i == 0:
        return pts[0][1] * n / pts[0][0]
    (n0, t0, _), (n1, t1, _) = pts[i - 1], pts[i]
    return t0 + (t1 - t0) * (n - n0) / (n1 - n0)


def clock(pts, n):
    i = min(bisect.bisect_left([p[0] for p in pts], n), len(pts) - 1)
    return pts[i][2][11:16]


def main():
    prefix, n = sys.argv[1], int(sys.argv[2])
    a, b = (sys.argv[3], sys.argv[4]) if len(sys.argv) > 4 else ("without", "with")
    runs = [(points(f"{prefix}-{a}-{i}.txt"), points(f"{prefix}-{b}-{i}.txt")) for i in range(1, n + 1)]
    last = min(min(x[-1][0], y[-1][0]) for x, y in runs)
    cuts = [1_000_000, 4_000_000, 12_000_000, 20_000_000, 30_000_000]
    cuts = [c for c in cuts if c < last] + [last]
    parts = list(zip(cuts, cuts[1:])) + [(cuts[0], last)]
    print(f"lines            event time   {a:>8}   {b:>8}   {b} rate / {a} rate by round (median)")
    for lo, hi in parts:
        ta = [at(x, hi) - at(x, lo) for x, _ in runs]
        tb = [at(y, hi) - at(y, lo) for _, y in runs]
        r = [p / q for p, q in zip(ta, tb)]
        span = f"{clock(runs[0][0], lo)}-{clock(runs[0][0], hi)}"
        print(
            f"{lo / 1e6:5.1f}-{hi / 1e6:5.1f}M  {span:>11}  {statistics.median(ta):7.2f}s  {statistics.median(tb):7.2f}s"
            f"   {' '.join(f'{x:.3f}' for x in r)} ({statistics.median(r):.3f})"
        )


main()
