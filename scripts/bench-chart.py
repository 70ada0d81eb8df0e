#!/usr/bin/env python3
"""Draws scripts/bench-kea.sh's results as two SVG charts (standard library only).

Usage: bench-chart.py RESULTS LABELS OUT_DIR SUBTITLE

RESULTS  bench-kea.sh's results file: one line per measurement,
         "variant round dora/s ..."; a growth cell's variant is "base@leases".
LABELS   one "variant<TAB>label" line per cell, in the order they were run.
OUT_DIR  gets benchmarks-configs.svg (median DORA/s per configuration, each
         round as a dot) and, when growth cells ran, benchmarks-growth.svg
         (median DORA/s against the leases preloaded into Kea, log scale).
SUBTITLE one line under each title (the command and the machine).
"""

import math
import statistics
import sys
from collections import OrderedDict
from html import escape

# One colour per base cell, the same in both charts.
COLOURS = {
    "none": "#4d4d4d",
    "noop": "#a0a0a0",
    "kea": "#d62728",
    "ours": "#1f77b4",
    "worker": "#2ca02c",
    "workerpy": "#17becf",
    "spawnsync": "#9467bd",
    "workersync": "#8c564b",
    "parkspawn": "#e377c2",
    "parkworker": "#bcbd22",
}
FONT = 'font-family="sans-serif"'


def colour(base):
    return COLOURS.get(base, "#7f7f7f")


def read(results_path, labels_path):
    """Rounds per variant (in file order) and the labels in run order."""
    labels = OrderedDict()
    with open(labels_path, encoding="utf-8") as f:
        for line in f:
            if "\t" in line:
                variant, label = line.rstrip("\n").split("\t", 1)
                labels[variant] = label
    rounds = OrderedDict()
    with open(results_path, encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 3:
                rounds.setdefault(fields[0], []).append(float(fields[2]))
    return rounds, labels


def text(x, y, body, size=12, anchor="start", weight="normal", fill="#222", halo=False):
    # A white halo keeps a value readable where a line passes behind it.
    outline = ' stroke="white" stroke-width="3" paint-order="stroke"' if halo else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{fill}"{outline} {FONT}>{escape(body)}</text>')


def svg(width, height, title, subtitle, body):
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        text(16, 24, title, 15, weight="bold"),
        text(16, 42, subtitle, 11, fill="#555"),
        *body,
        "</svg>",
        "",
    ])


def nice_step(top, ticks=5):
    """A round tick step giving about `ticks` ticks up to `top`."""
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def configs_chart(rounds, labels, subtitle):
    """Horizontal bars: the median of each configuration, its rounds as dots."""
    cells = [v for v in labels if "@" not in v and v in rounds]
    if not cells:
        return None
    medians = {v: statistics.median(rounds[v]) for v in cells}
    baseline = medians.get("none")
    left, right, top, bar, gap = 190, 130, 64, 22, 10
    width = 820
    plot = width - left - right
    height = top + len(cells) * (bar + gap) + 40
    top_value = max(max(rounds[v]) for v in cells) * 1.05
    step = nice_step(top_value)
    scale = plot / (math.ceil(top_value / step) * step)
    body = []
    tick = 0.0
    while tick * scale <= plot + 0.5:
        x = left + tick * scale
        body.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 34}" '
                    'stroke="#ddd"/>')
        body.append(text(x, height - 20, f"{tick:,.0f}", 10, "middle", fill="#555"))
        tick += step
    body.append(text(left + plot / 2, height - 6, "DORA exchanges/s (median; dots: rounds)",
                     11, "middle", fill="#555"))
    for i, v in enumerate(cells):
        y = top + i * (bar + gap)
        base = v.split("@")[0]
        body.append(text(left - 8, y + bar * 0.7, labels[v], 12, "end"))
        body.append(f'<rect x="{left}" y="{y}" width="{medians[v] * scale:.1f}" '
                    f'height="{bar}" fill="{colour(base)}" opacity="0.85"/>')
        for value in rounds[v]:
            body.append(f'<circle cx="{left + value * scale:.1f}" cy="{y + bar / 2:.1f}" '
                        'r="2.5" fill="black" opacity="0.6"/>')
        note = f"{medians[v]:,.0f}"
        if baseline:
            note += f"  ({medians[v] / baseline:.2f}x)"
        body.append(text(left + medians[v] * scale + 6, y + bar * 0.7, note, 11))
    title = "kea-dhcp4 DORA/s per configuration (ratio to no hook)"
    return svg(width, height, title, subtitle, body)


def growth_chart(rounds, labels, subtitle):
    """DORA/s against preloaded leases, one line per cell, logarithmic DORA/s axis."""
    cells = [v for v in labels if "@" in v and v in rounds]
    if not cells:
        return None
    sizes = sorted({int(v.split("@")[1]) for v in cells})
    bases = list(OrderedDict.fromkeys(v.split("@")[0] for v in cells))
    medians = {v: statistics.median(rounds[v]) for v in cells}
    left, right, top, bottom = 80, 210, 64, 56
    width, height = 860, 420
    plot_w, plot_h = width - left - right, height - top - bottom
    inset = 50  # room for the value labels beside the first and last points
    low = 10 ** math.floor(math.log10(max(1.0, min(medians.values()))))
    high = 10 ** math.ceil(math.log10(max(medians.values())))
    if high == low:
        high = low * 10

    def ypos(value):
        span = math.log10(high) - math.log10(low)
        return top + plot_h * (1 - (math.log10(max(value, low)) - math.log10(low)) / span)

    def xpos(index):
        inner = plot_w - 2 * inset
        return left + inset + (inner * index / (len(sizes) - 1) if len(sizes) > 1 else inner / 2)

    body = []
    decade = low
    while decade <= high * 1.0001:
        for m in range(1, 10):
            value = decade * m
            if value > high * 1.0001:
                break
            y = ypos(value)
            stroke = "#ccc" if m == 1 else "#eee"
            body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
                        f'stroke="{stroke}"/>')
            if m in (1, 2, 5):
                body.append(text(left - 6, y + 4, f"{value:,.0f}", 10, "end", fill="#555"))
        decade *= 10
    for i, size in enumerate(sizes):
        x = xpos(i)
        body.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" '
                    'stroke="#eee"/>')
        body.append(text(x, top + plot_h + 18, f"{size:,}", 11, "middle"))
    body.append(text(left + plot_w / 2, height - 14,
                     "leases preloaded into Kea's memfile", 11, "middle", fill="#555"))
    body.append(text(18, top + plot_h / 2, "DORA/s (median, log scale)", 11, "middle",
                     fill="#555").replace("<text ", f'<text transform="rotate(-90 18 '
                                                    f'{top + plot_h / 2:.1f})" ', 1))
    for n, base in enumerate(bases):
        points = [(xpos(i), ypos(medians[f"{base}@{s}"]), medians[f"{base}@{s}"])
                  for i, s in enumerate(sizes) if f"{base}@{s}" in medians]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour(base)}" '
                    'stroke-width="2.5"/>')
        for (x, y, value), size in zip(points, sizes):
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour(base)}"/>')
            # Beside the point when another line passes just above it, so close lines'
            # labels do not overlap.
            crowded = any(value < medians.get(f"{b}@{size}", 0) <= value * 1.35
                          for b in bases if b != base)
            if crowded:
                body.append(text(x + 8, y + 4, f"{value:,.0f}", 10, fill=colour(base), halo=True))
            else:
                body.append(text(x, y - 8, f"{value:,.0f}", 10, "middle", fill=colour(base),
                                 halo=True))
        label = labels[f"{base}@{sizes[0]}"] if f"{base}@{sizes[0]}" in labels else base
        ly = top + 14 + n * 20
        body.append(f'<line x1="{left + plot_w + 16}" y1="{ly - 4}" x2="{left + plot_w + 36}" '
                    f'y2="{ly - 4}" stroke="{colour(base)}" stroke-width="2.5"/>')
        body.append(text(left + plot_w + 42, ly, label.split(" @ ")[0], 11))
    title = "kea-dhcp4 DORA/s as Kea's lease memory grows"
    return svg(width, height, title, subtitle, body)


def main(argv):
    if len(argv) != 5:
        sys.exit(__doc__)
    rounds, labels = read(argv[1], argv[2])
    for name, chart in (("benchmarks-configs.svg", configs_chart(rounds, labels, argv[4])),
                        ("benchmarks-growth.svg", growth_chart(rounds, labels, argv[4]))):
        if chart is None:
            continue
        path = f"{argv[3]}/{name}"
        with open(path, "w", encoding="utf-8") as f:
            f.write(chart)
        print(f"chart: {path}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)
