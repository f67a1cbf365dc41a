"""A model's summary table: one row per node (name, op, inputs, output shape, parameters, forward FLOPs per
sample) and a totals row. ``graphnn check`` prints it, and so do ``Model.summary()`` and the Model's
notebook view (graphnn/api.py). Counts are written whole with thousands separated (``count``), durations to
three significant digits (``seconds``), metrics to four decimals: the same in every summary line of the
command line (``graphnn run``, ``test``); the JSON outputs keep full precision.

    print(format_table(summary_table(model)))

A model with blocks (graphnn/model/blocks.py) is summed up by block: a row per top-level node, per block
instance (op: its block) and per repeated chain (op: "bottleneck ×4"), with what feeds it, its output and
the parameters and FLOPs inside (``expand=True``: every node; ``block_table``: one row per block).
"""


def summary_table(model, expand=False):
    """Rows of (node, op, inputs, output shape, parameters, forward FLOPs per sample), and a totals row; with
    blocks, a row per top-level item (node, instance or chain) unless ``expand``."""
    plan = model.plan
    rows = [("node", "op", "inputs", "output", "params", "flops")]
    if model.expansion.has_blocks and not expand:
        return rows + [_item_row(model, item) for item in model.expansion.items] + [_total(plan)]
    for step in plan.steps:
        rows.append((step.name, step.op.name, ", ".join(step.inputs) or "-", str(step.out_shape),
                     f"{plan.parameter_count(step):,}", f"{plan.flops(step):,}"))
    return rows + [_total(plan)]


def _total(plan):
    return ("total", "", f"{len(plan.steps)} nodes", "", f"{plan.parameter_count():,}",
            f"{sum(plan.flops(step) for step in plan.steps):,}")


def _steps_in(model, item):
    """The plan's steps of the expanded nodes in an item of the expansion (a node index, Instance or Chain)."""
    if isinstance(item, int):
        return [model.plan.by_name[model.nodes[item]["name"]]]
    return [step for inner in item.items for step in _steps_in(model, inner)]


def _item_row(model, item):
    from graphnn.model.blocks import Chain

    plan, steps = model.plan, _steps_in(model, item)
    path = model.expansion.origin(item).path if isinstance(item, int) else item.use_path
    inputs = ", ".join(model.document["nodes"][int(path.split("/")[2])].get("inputs", [])) or "-"  # as written
    if isinstance(item, int):
        (step,) = steps
        return (step.name, step.op.name, inputs, str(step.out_shape), f"{plan.parameter_count(step):,}",
                f"{plan.flops(step):,}")
    first, last = (item.items[0], item.items[-1]) if isinstance(item, Chain) else (item, item)
    op = f"{item.block} ×{item.count}" if isinstance(item, Chain) else item.block
    if isinstance(item, Chain) and first.block != item.block:
        op += f" (first: {first.block})"
    shapes = ", ".join(str(plan.shapes[name]) for name in last.outputs)
    return (item.path, op, inputs, shapes,
            f"{sum(plan.parameter_count(step) for step in steps):,}", f"{sum(plan.flops(step) for step in steps):,}")


def block_table(model):
    """Rows of (block, instances, nodes, parameters, forward FLOPs per sample) of a model's blocks, summed over
    their instances (a nested instance counts in its own block and in those round it), and a totals row."""
    from graphnn.model.blocks import Chain

    found = {}  # block -> [instances, nodes, parameters, flops]

    def walk(items):
        for item in items:
            if isinstance(item, int):
                continue
            if not isinstance(item, Chain):
                steps = _steps_in(model, item)
                entry = found.setdefault(item.block, [0, 0, 0, 0])
                entry[0] += 1
                entry[1] += len(steps)
                entry[2] += sum(model.plan.parameter_count(step) for step in steps)
                entry[3] += sum(model.plan.flops(step) for step in steps)
            walk(item.items)

    walk(model.expansion.items)
    rows = [("block", "instances", "nodes", "params", "flops")]
    rows += [(name, f"{n:,}", f"{nodes:,}", f"{params:,}", f"{flops:,}")
             for name, (n, nodes, params, flops) in found.items()]
    return rows


def seconds(value):
    """A duration for reading, as every summary line writes it: three significant digits under 100 s
    ("0.0213 s", "11.8 s"), whole seconds with thousands separated above ("4,342 s")."""
    return f"{value:.3g} s" if value < 100 else f"{value:,.0f} s"


def count(value):
    """A count for reading (samples, parameters, iterations): every digit, thousands separated ("10,000")."""
    return f"{value:,}"


NUMERIC = (4, 5)  # the columns aligned right


def format_table(rows, numeric=NUMERIC, total=True):
    """The rows as aligned text, with rules under the header and above the totals (the last row, if ``total``);
    the columns ``numeric`` are aligned right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        cells = [cell.rjust(w) if i in numeric else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if index == 0 or (total and index == len(rows) - 2):
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
