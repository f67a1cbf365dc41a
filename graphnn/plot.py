"""A small SVG line chart (no plotting library needed), e.g. the training loss against iteration."""

from xml.sax.saxutils import escape

WIDTH, HEIGHT, MARGIN = 640, 360, 48


def _ticks(low, high, count=5):
    return [low + (high - low) * i / (count - 1) for i in range(count)]


def line_chart_svg(series, title, x_label, y_label):
    """SVG text for ``series``: {name: [(x, y), ...]}, each drawn as a polyline in its own colour."""
    points = [p for values in series.values() for p in values]
    if not points:
        points = [(0, 0), (1, 1)]
    x_low, x_high = min(p[0] for p in points), max(p[0] for p in points)
    y_low, y_high = min(p[1] for p in points), max(p[1] for p in points)
    x_high, y_high = (x_high if x_high > x_low else x_low + 1), (y_high if y_high > y_low else y_low + 1)

    def px(x):
        return MARGIN + (x - x_low) / (x_high - x_low) * (WIDTH - 2 * MARGIN)

    def py(y):
        return HEIGHT - MARGIN - (y - y_low) / (y_high - y_low) * (HEIGHT - 2 * MARGIN)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">',
             f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
             f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" font-size="14">{escape(title)}</text>',
             f'<text x="{WIDTH / 2}" y="{HEIGHT - 8}" text-anchor="middle">{escape(x_label)}</text>',
             f'<text x="12" y="{HEIGHT / 2}" transform="rotate(-90 12 {HEIGHT / 2})" text-anchor="middle">'
             f'{escape(y_label)}</text>',
             f'<path d="M{MARGIN},{MARGIN}V{HEIGHT - MARGIN}H{WIDTH - MARGIN}" fill="none" stroke="#444"/>']
    for x in _ticks(x_low, x_high):
        parts.append(f'<text x="{px(x):.1f}" y="{HEIGHT - MARGIN + 14}" text-anchor="middle">{x:g}</text>')
    for y in _ticks(y_low, y_high):
        parts.append(f'<text x="{MARGIN - 4}" y="{py(y) + 4:.1f}" text-anchor="end">{y:.3g}</text>')
        parts.append(f'<path d="M{MARGIN},{py(y):.1f}H{WIDTH - MARGIN}" stroke="#eee"/>')
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    for index, (name, values) in enumerate(series.items()):
        colour = colours[index % len(colours)]
        coordinates = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in values)
        parts.append(f'<polyline points="{coordinates}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        parts.append(f'<text x="{WIDTH - MARGIN}" y="{MARGIN + 14 * index}" text-anchor="end" fill="{colour}">'
                     f'{escape(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
