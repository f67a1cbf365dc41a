"""Small SVG charts (no plotting library needed): ``line_chart_svg`` (one chart of a few series) and
``training_chart_svg`` (a run folder's loss.svg: loss and accuracy against iteration, the training curve as a
line and the tests as marked points). Tick labels are rounded to the ticks' own step (0.05, 0.1, 0.15;
1,000, 2,000) so that they read as numbers, not as float noise."""

import math
import numbers
from html import escape

WIDTH, HEIGHT = 640, 360
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 48, 44  # margins around the plot area
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]


def finite(value):
    """``value`` as a float when it is a finite real number (not a bool; an int too large for a float is
    not finite), else None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        value = float(value)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def axis_range(values):
    """(low, high), low < high, covering the finite ``values`` with room for round ticks: a flat range, or
    one too thin for floats to tell round ticks apart (5e-324 beside 0), becomes [low, low + 1] (wider
    for large values); differences are taken of halves (``high / 2 - low / 2``) so that a range as wide
    as the floats (-1.7e308 to 1.7e308) never overflows."""
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if high / 2 - low / 2 < max(abs(low / 2 + high / 2) * 1e-9, 1e-300):
        width = max(1.0, abs(low) * 1e-6)
        low, high = (low, low + width) if math.isfinite(low + width) else (low - width, low)
    return low, high


def nice_ticks(low, high, count=6):
    """Round tick values covering [low, high] (finite, low < high, as ``axis_range`` gives): steps of 1,
    2 or 5 times a power of ten."""
    raw = (high / 2 - low / 2) / max(1, count - 1) * 2
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)  # in steps: no overflow
    return [number * step for number in range(first, last + 1)]


def tick_label(value, step):
    """``value`` written with as many decimals as the tick ``step`` needs (0.05 -> "0.35"), thousands
    separated ("12,000"), and in exponent form when very large or small ("1e-06", "3e+12")."""
    if value == 0:
        return "0"
    if abs(value) >= 1e9 or abs(step) < 1e-4:
        return f"{value:.3g}"
    decimals = max(0, -math.floor(math.log10(abs(step)) + 1e-9))
    return f"{value:,.{decimals}f}"


def line_chart_svg(series, title, x_label, y_label, markers=(), y_range=None):
    """SVG text for ``series``: {name: [(x, y), ...]}, each drawn as a polyline in its own colour; points
    that are not finite real numbers are left out. The series named in ``markers`` (a few measured points,
    as the tests of a run) are drawn dashed with a dot at each point. ``y_range``: (low, high) the y axis
    covers at least (accuracy: (0, 1)).

    The legend sits in a row under the title, outside the plot area, so it never hides a line.
    """
    series = {name: [(x, y) for x, y in ((finite(x), finite(y)) for x, y in values)
                     if x is not None and y is not None] for name, values in series.items()}
    points = [p for values in series.values() for p in values]
    x_low, x_high = axis_range([x for x, _ in points])
    y_low, y_high = axis_range([y for _, y in points] + list(y_range or ()))
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x):
        return LEFT + (x / 2 - x_low / 2) / (x_high / 2 - x_low / 2) * plot_width

    def py(y):
        return TOP + plot_height - (y / 2 - y_low / 2) / (y_high / 2 - y_low / 2) * plot_height

    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
              f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">'),
             f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
             f'<text x="{WIDTH / 2}" y="18" text-anchor="middle" font-size="14">{escape(title)}</text>',
             f'<text x="{LEFT + plot_width / 2}" y="{HEIGHT - 8}" text-anchor="middle">{escape(x_label)}</text>',
             (f'<text x="14" y="{TOP + plot_height / 2}" transform="rotate(-90 14 {TOP + plot_height / 2})" '
              f'text-anchor="middle">{escape(y_label)}</text>')]
    x_ticks, y_ticks = nice_ticks(x_low, x_high), nice_ticks(y_low, y_high)
    x_step = x_ticks[1] - x_ticks[0] if len(x_ticks) > 1 else 1.0
    y_step = y_ticks[1] - y_ticks[0] if len(y_ticks) > 1 else 1.0
    for x in x_ticks:
        parts.append(f'<text x="{px(x):.1f}" y="{TOP + plot_height + 16}" text-anchor="middle">'
                     f'{tick_label(x, x_step)}</text>')
    for y in y_ticks:
        parts.append(f'<path d="M{LEFT},{py(y):.1f}H{LEFT + plot_width}" stroke="#eee"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{tick_label(y, y_step)}</text>')
    parts.append(f'<path d="M{LEFT},{TOP}V{TOP + plot_height}H{LEFT + plot_width}" fill="none" stroke="#444"/>')
    legend_x = LEFT
    for index, (name, values) in enumerate(series.items()):
        colour = COLOURS[index % len(COLOURS)]
        coordinates = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in values)
        dashed = ' stroke-dasharray="4 3"' if name in markers else ""
        parts.append(f'<polyline points="{coordinates}" fill="none" stroke="{colour}" stroke-width="1.5"{dashed}/>')
        if name in markers:
            parts.extend(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>' for x, y in values)
        parts.append(f'<path d="M{legend_x},32h16" stroke="{colour}" stroke-width="2"/>'
                     f'<text x="{legend_x + 20}" y="36" fill="{colour}">{escape(name)}</text>')
        legend_x += 28 + 7 * len(name)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def training_chart_svg(records, title):
    """A run's loss.svg: the loss, and the accuracy when the records have one, against iteration, one chart
    above the other; ``records`` are metrics.jsonl's ({"phase": "train"|"test", "iteration", "loss",
    "accuracy"}), the training records drawn as a line and the test records as marked points."""
    charts = []
    for metric, y_range in (("loss", (0.0,)), ("accuracy", (0.0, 1.0))):
        series = {f"{phase} {metric}": [(r.get("iteration"), r[metric]) for r in records
                                        if r.get("phase") == phase and finite(r.get(metric)) is not None]
                  for phase in ("train", "test")}
        series = {name: values for name, values in series.items() if values}
        if series or metric == "loss":
            charts.append(line_chart_svg(series, f"{title}: {metric}", "iteration", metric,
                                         markers=(f"test {metric}",), y_range=y_range))
    if len(charts) == 1:
        return charts[0]
    inner = "".join(chart.replace("<svg ", f'<svg y="{HEIGHT * index}" ', 1) for index, chart in enumerate(charts))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT * len(charts)}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT * len(charts)}">\n{inner}</svg>\n')
