#!/usr/bin/env python3
"""Scale curves of docs/scale.md from the JSON of benchmarks/bench_scale.cpp (one file per process).

    python3 scripts/plot_scale.py scale-*.json [more runs' scale-*.json] --out docs

Writes <out>/scale-time.svg and <out>/scale-memory.svg (log-log; the SVG is written by hand, the
script needs the standard library only) and prints the markdown tables of docs/scale.md: CPU time
and peak memory per point, and the least-squares slope of log y against log x per pooler
(1 = linear in N, i.e. in E = 10 N, or in K; 2 = quadratic)."""
import argparse
import json
import math
import re

NAME = re.compile(r"BM_(Sparse|Soft|Ref)<(\w+)>/N:(\d+)(?:/K:(\d+))?$")
UNIT_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
          "#bcbd22", "#17becf"]
REFERENCE = "SpMM A·S"  # the machine's own curve (BM_Ref<SpMM>), drawn in black
W, H, LEFT, RIGHT, TOP, BOTTOM = 620, 360, 70, 210, 30, 46  # one panel; its legend on the right


def load(paths):
    """One row per case; a case found in several files (runs) keeps the least of each measure."""
    best = {}
    for path in paths:
        with open(path) as f:
            for b in json.load(f)["benchmarks"]:
                m = NAME.match(b["name"])
                if m and b.get("run_type", "iteration") == "iteration":
                    kind, pool, n, k = m.groups()
                    pool = REFERENCE if kind == "Ref" else pool
                    r = {"kind": kind, "pool": pool, "N": int(n), "K": int(k or 0),
                         "ms": b["cpu_time"] * UNIT_MS[b["time_unit"]], "peak": b["peak_MB"],
                         "own": b["pool_MB"], "graph": b["graph_MB"], "E": b["E"]}
                    old = best.setdefault((kind, pool, r["N"], r["K"]), r)
                    for key in ("ms", "peak", "own"):
                        old[key] = min(old[key], r[key])
    return list(best.values())


def curves(rows, kinds, x, y, where=lambda r: True):
    """{pooler: [(x, y), ...]} of the rows of the given kinds, in the order of first appearance."""
    out = {}
    for r in rows:
        if r["kind"] in kinds and where(r):
            out.setdefault(r["pool"], []).append((r[x], r[y]))
    return {p: sorted(pts) for p, pts in out.items()}


def slope(points, upper=False):
    """Least-squares slope of log y on log x; upper: over the points from the median x on."""
    if upper:
        points = points[(len(points) - 1) // 2:]
    lx = [math.log(x) for x, _ in points]
    ly = [math.log(y) for _, y in points]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    sxx = sum((a - mx) ** 2 for a in lx)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sxx if sxx > 0 else float("nan")


def label(v):
    """10⁴, 3·10⁵, 0.5, 20, 2000."""
    e = math.floor(math.log10(v) + 1e-9)
    if -2 <= e < 4:
        return f"{v:g}"
    sup = str(e).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    m = round(v / 10 ** e, 3)
    return f"10{sup}" if m == 1 else f"{m:g}·10{sup}"


def decade_ticks(lo, hi):
    e0, e1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    steps = (1, 2, 5) if e1 - e0 <= 3 else (1,)
    return [m * 10.0 ** e for e in range(e0, e1 + 1) for m in steps if lo <= m * 10.0 ** e <= hi]


def marker(shape, x, y, color):
    if shape == 0:
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}"/>'
    if shape == 1:
        return f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" fill="{color}"/>'
    return f'<path d="M{x:.1f},{y - 4.5:.1f} l4.5,8 h-9 z" fill="{color}"/>'


def panel(data, title, xlabel, ylabel, ox, oy, uid):
    """One log-log panel at (ox, oy): a polyline per pooler, a dashed slope-1 reference line."""
    xs = [x for pts in data.values() for x, _ in pts]
    ys = [y for pts in data.values() for _, y in pts]
    x0, x1 = min(xs) / 1.15, max(xs) * 1.15
    y0, y1 = min(ys) / 1.5, max(ys) * 1.5
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM
    fx = lambda x: ox + LEFT + pw * math.log(x / x0) / math.log(x1 / x0)
    fy = lambda y: oy + TOP + ph * math.log(y1 / y) / math.log(y1 / y0)
    s = [f'<clipPath id="c{uid}"><rect x="{ox + LEFT}" y="{oy + TOP}" width="{pw}" height="{ph}"/></clipPath>',
         f'<text x="{ox + LEFT + pw / 2}" y="{oy + 18}" text-anchor="middle" font-weight="bold">{title}</text>']
    for t in decade_ticks(y0, y1):
        s.append(f'<line x1="{ox + LEFT}" x2="{ox + LEFT + pw}" y1="{fy(t):.1f}" y2="{fy(t):.1f}" stroke="#ddd"/>')
        s.append(f'<text x="{ox + LEFT - 5}" y="{fy(t) + 4:.1f}" text-anchor="end">{label(t)}</text>')
    for t in sorted(set(xs)):
        s.append(f'<line x1="{fx(t):.1f}" x2="{fx(t):.1f}" y1="{oy + TOP}" y2="{oy + TOP + ph}" stroke="#ddd"/>')
        s.append(f'<text x="{fx(t):.1f}" y="{oy + TOP + ph + 16}" text-anchor="middle">{label(t)}</text>')
    s.append(f'<rect x="{ox + LEFT}" y="{oy + TOP}" width="{pw}" height="{ph}" fill="none" stroke="#000"/>')
    s.append(f'<text x="{ox + LEFT + pw / 2}" y="{oy + H - 8}" text-anchor="middle">{xlabel}</text>')
    s.append(f'<text transform="translate({ox + 14},{oy + TOP + ph / 2}) rotate(-90)" text-anchor="middle">'
             f'{ylabel}</text>')
    # Slope 1 through the geometric mean of the curves' first points.
    first = [pts[0] for pts in data.values()]
    xa = min(x for x, _ in first)
    ya = math.exp(sum(math.log(y * xa / x) for x, y in first) / len(first))
    s.append(f'<line x1="{fx(x0):.1f}" y1="{fy(ya * x0 / xa):.1f}" x2="{fx(x1):.1f}" y2="{fy(ya * x1 / xa):.1f}" '
             f'stroke="#000" stroke-dasharray="6,4" clip-path="url(#c{uid})"/>')
    for i, (pool, pts) in enumerate(data.items()):
        color, ly = "#000" if pool == REFERENCE else COLORS[i % len(COLORS)], oy + TOP + 8 + 17 * i
        line = " ".join(f"{fx(x):.1f},{fy(y):.1f}" for x, y in pts)
        s.append(f'<polyline points="{line}" fill="none" stroke="{color}" stroke-width="1.8"/>')
        s += [marker(i % 3, fx(x), fy(y), color) for x, y in pts]
        lx = ox + W - RIGHT + 14
        s.append(f'<line x1="{lx}" x2="{lx + 22}" y1="{ly}" y2="{ly}" stroke="{color}" stroke-width="1.8"/>')
        s.append(marker(i % 3, lx + 11, ly, color))
        s.append(f'<text x="{lx + 28}" y="{ly + 4}">{pool} ({slope(pts):.2f})</text>')
    ly = oy + TOP + 8 + 17 * len(data)
    s.append(f'<line x1="{ox + W - RIGHT + 14}" x2="{ox + W - RIGHT + 36}" y1="{ly}" y2="{ly}" stroke="#000" '
             f'stroke-dasharray="6,4"/><text x="{ox + W - RIGHT + 42}" y="{ly + 4}">slope 1</text>')
    return s


def write_svg(path, panels, columns=2):
    panels = [p for p in panels if p[0]]  # a partial run: no empty panels
    rows = (len(panels) + columns - 1) // columns
    width, height = W * min(columns, len(panels)), H * rows
    body = []
    for i, (data, title, xlabel, ylabel) in enumerate(panels):
        body += panel(data, title, xlabel, ylabel, W * (i % columns), H * (i // columns), i)
    with open(path, "w") as f:
        f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
                f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">\n'
                f'<rect width="{width}" height="{height}" fill="#fff"/>\n' + "\n".join(body) + "\n</svg>\n")


def table(rows, kinds, x, where, xname):
    """Markdown: per pooler, 'time / peak' at each x, then the slopes (all points; upper half)."""
    t, m = curves(rows, kinds, x, "ms", where), curves(rows, kinds, x, "peak", where)
    xs = sorted({px for pts in t.values() for px, _ in pts})
    print("| pooler | " + " | ".join(f"{xname} = {label(v)}" for v in xs) +
          " | slope time | upper | slope peak | upper |")
    print("| --- |" + " ---: |" * (len(xs) + 4))
    for pool, pts in t.items():
        cell = {px: f"{py:.3g} ms / {my:.0f} MB" if py < 100 else f"{py:.0f} ms / {my:.0f} MB"
                for (px, py), (_, my) in zip(pts, m[pool])}
        print(f"| {pool} | " + " | ".join(cell.get(v, "–") for v in xs) +
              " | " + " | ".join(f"{slope(c, u):.2f}" for c in (pts, m[pool]) for u in (False, True)) + " |")
    print()


def per_entry(rows, kinds, where, per_k):
    """Markdown: ns per stored entry (per entry and cluster, E K, with per_k; SpMM's K is 16)."""
    for r in rows:
        r["ns_per_E"] = r["ms"] * 1e6 / r["E"] / ((r["K"] or 16) if per_k else 1)
    t = curves(rows, kinds, "N", "ns_per_E", where)
    xs = sorted({x for pts in t.values() for x, _ in pts})
    print("| pooler | " + " | ".join(f"N = {label(x)}" for x in xs) + " |\n| --- |" + " ---: |" * len(xs))
    for pool, pts in t.items():
        cell = dict(pts)
        print(f"| {pool} | " + " | ".join(f"{cell[x]:.3g}" if x in cell else "–" for x in xs) + " |")
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("json", nargs="+")
    ap.add_argument("--out", default="docs")
    args = ap.parse_args()
    rows = load(args.json)
    k16 = lambda r: r["K"] in (0, 16)  # the sparse poolers and SpMM have K = 0
    soft_ns = {r["N"] for r in rows if r["kind"] == "Soft" and r["K"] == 16}
    soft_n = lambda r: k16(r) and r["N"] in soft_ns
    n100k = lambda r: r["N"] == 100000
    sparse, soft, soft_only = ("Sparse", "Ref"), ("Soft", "Ref"), ("Soft",)
    write_svg(f"{args.out}/scale-time.svg", [
        (curves(rows, sparse, "N", "ms"), "sparse poolers: fwd+bwd time vs N (E = 10 N)", "N", "CPU time [ms]"),
        (curves(rows, soft, "N", "ms", soft_n), "soft poolers, K = 16: fwd+bwd time vs N", "N", "CPU time [ms]"),
        (curves(rows, soft_only, "K", "ms", n100k), "soft poolers, N = 10⁵: fwd+bwd time vs K", "K", "CPU time [ms]")])
    write_svg(f"{args.out}/scale-memory.svg", [
        (curves(rows, ("Sparse",), "N", "peak"), "sparse poolers: peak memory vs N", "N", "process peak [MB]"),
        (curves(rows, soft_only, "N", "peak", k16), "soft poolers, K = 16: peak memory vs N", "N", "process peak [MB]")])
    print("Sparse poolers, fwd+bwd vs N (E = 10 N): CPU time / process peak\n")
    table(rows, sparse, "N", k16, "N")
    print("Soft poolers, K = 16, fwd+bwd vs N\n")
    table(rows, soft, "N", soft_n, "N")
    print("Soft poolers, N = 10⁵, fwd+bwd vs K\n")
    table(rows, soft_only, "K", n100k, "K")
    print("ns per stored entry, sparse poolers\n")
    per_entry(rows, sparse, k16, False)
    print("ns per stored entry and cluster (E K), soft poolers at K = 16\n")
    per_entry(rows, soft, soft_n, True)
    n_max = max(r["N"] for r in rows)
    print(f"Memory at N = {label(n_max)} (K = 16 for the soft poolers): MB\n")
    print("| pooler | input graph | pooler's own (peak − start) | process peak |\n| --- | ---: | ---: | ---: |")
    for r in rows:
        if r["N"] == n_max and k16(r) and r["kind"] != "Ref":
            print(f"| {r['pool']} | {r['graph']:.0f} | {r['own']:.0f} | {r['peak']:.0f} |")


if __name__ == "__main__":
    main()
