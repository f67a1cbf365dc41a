"""A model's summary table: one row per node (name, op, inputs, output shape, parameters, forward FLOPs per
sample) and a totals row. ``graphnn check`` prints it, and so do ``Model.summary()`` and the Model's
notebook view (graphnn/api.py).

    print(format_table(summary_table(model)))
"""


def summary_table(model):
    """Rows of (node, op, inputs, output shape, parameters, forward FLOPs per sample), and a totals row."""
    plan = model.plan
    rows = [("node", "op", "inputs", "output", "params", "flops")]
    for step in plan.steps:
        rows.append((step.name, step.op.name, ", ".join(step.inputs) or "-", str(step.out_shape),
                     f"{plan.parameter_count(step):,}", f"{plan.flops(step):,}"))
    rows.append(("total", "", f"{len(plan.steps)} nodes", "", f"{plan.parameter_count():,}",
                 f"{sum(plan.flops(step) for step in plan.steps):,}"))
    return rows


NUMERIC = (4, 5)  # the columns aligned right


def format_table(rows):
    """The rows as aligned text, with rules under the header and above the totals."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        cells = [cell.rjust(w) if i in NUMERIC else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if index == 0 or index == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def html_table(rows):
    """The rows as an HTML table (the notebook view)."""
    from html import escape

    def row(cells, tag):
        return "<tr>" + "".join(f"<{tag} style=\"text-align:{'right' if i in NUMERIC else 'left'}\">{escape(cell)}"
                                f"</{tag}>" for i, cell in enumerate(cells)) + "</tr>"

    body = [row(rows[0], "th")] + [row(cells, "td") for cells in rows[1:-1]] + [row(rows[-1], "th")]
    return "<table>" + "".join(body) + "</table>"
