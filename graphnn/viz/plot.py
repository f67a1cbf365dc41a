"""A small SVG line chart (no plotting library needed), e.g. the training loss against iteration."""

import math
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 640, 360
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 48, 44  # margins around the plot area
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]


def nice_ticks(low, high, count=6):
    """Round tick values covering [low, high]: steps of 1, 2 or 5 times a power of ten."""
    raw = (high - low) / max(1, count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def line_chart_svg(series, title, x_label, y_label):
    """SVG text for ``series``: {name: [(x, y), ...]}, each drawn as a polyline in its own colour.

    The legend sits in a row under the title, outside the plot area, so it never hides a line.
    """
    points = [p for values in series.values() for p in values] or [(0, 0), (1, 1)]
    x_low, x_high = min(p[0] for p in points), max(p[0] for p in points)
    y_low, y_high = min(p[1] for p in points), max(p[1] for p in points)
    x_high, y_high = (x_high if x_high > x_low else x_low + 1), (y_high if y_high > y_low else y_low + 1)
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x):
        return LEFT + (x - x_low) / (x_high - x_low) * plot_width

    def py(y):
        return TOP + plot_height - (y - y_low) / (y_high - y_low) * plot_height

    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
              f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">'),
             f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
             f'<text x="{WIDTH / 2}" y="18" text-anchor="middle" font-size="14">{escape(title)}</text>',
             f'<text x="{LEFT + plot_width / 2}" y="{HEIGHT - 8}" text-anchor="middle">{escape(x_label)}</text>',
             (f'<text x="14" y="{TOP + plot_height / 2}" transform="rotate(-90 14 {TOP + plot_height / 2})" '
              f'text-anchor="middle">{escape(y_label)}</text>')]
    for x in nice_ticks(x_low, x_high):
        parts.append(f'<text x="{px(x):.1f}" y="{TOP + plot_height + 16}" text-anchor="middle">{x:g}</text>')
    for y in nice_ticks(y_low, y_high):
        parts.append(f'<path d="M{LEFT},{py(y):.1f}H{LEFT + plot_width}" stroke="#eee"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y:.4g}</text>')
    parts.append(f'<path d="M{LEFT},{TOP}V{TOP + plot_height}H{LEFT + plot_width}" fill="none" stroke="#444"/>')
    legend_x = LEFT
    for index, (name, values) in enumerate(series.items()):
        colour = COLOURS[index % len(COLOURS)]
        coordinates = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in values)
        parts.append(f'<polyline points="{coordinates}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        parts.append(f'<path d="M{legend_x},32h16" stroke="{colour}" stroke-width="2"/>'
                     f'<text x="{legend_x + 20}" y="36" fill="{colour}">{escape(name)}</text>')
        legend_x += 28 + 7 * len(name)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
