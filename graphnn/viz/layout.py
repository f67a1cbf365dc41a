"""A layered drawing of a DAG (Sugiyama's method), top to bottom, with no two boxes overlapping.

1. **Layers**: each node's layer is the longest path to it from a source; a source with consumers then
   moves down to just above its nearest consumer (so a label input sits beside the loss, not at the top).
2. **Slots**: layers are doubled. Boxes sit on even ranks; every edge passes the odd rank just above its
   target, where its label gets a slot of its own, and an edge that spans several layers gets a thin
   "bend" slot on every rank between. So edges only cross ranks through slots, never through a box.
3. **Order** within each rank: barycentre sweeps, down then up, keeping the order with fewest crossings
   (crossings between two ranks are counted as inversions, in O(E log V)).
4. **x**: sweeping down and up (then both ways at once), each rank's slots are moved as near as they
   can get to the weighted median x of their neighbours, keeping their order and spacing. Edges pull
   with different weights: a long edge's bends hardest, an edge between neighbouring layers next, a long
   edge's ends least, so chains of boxes line up and a skip connection bends round them instead of
   dragging them sideways. "As near as they can" is a least-squares fit under
   ``x[i+1] - x[i] >= gap``, solved exactly by pool-adjacent-violators. Last, each long edge's bends
   are set on one straight line where the ranks have room for it.
5. **y**: ranks are stacked, each as tall as its tallest slot.

Long edges cost a slot per rank they cross, so a chain whose every node also reads one early node would
need n²/2 of them. Past a budget linear in the graph's size (``BENDS_PER_ITEM``), the longest edges are
drawn in **lanes** instead: such an edge leaves its source through one slot just below it (shared by all
the source's lane edges), turns in the gap under that rank to a vertical lane right of the drawing,
runs down it, and turns back in the gap above its label's rank. Lanes are shared by sources whose spans
do not overlap (interval partitioning), so the cost stays O((V + E) log(V + E)).

Sizes are in SVG user units; ``layered_layout`` knows nothing of what the boxes hold.
"""

import heapq
import itertools
import math
from dataclasses import dataclass, field

GAP_X = 28  # between two boxes in a rank
GAP_LANE = 10  # between two lanes right of the drawing
GAP_VIRTUAL = 8  # between a bend or label slot and its neighbour
GAP_Y = 16  # between ranks
BEND_WIDTH = 2
LINE_INSET = 3  # a label slot's edge runs this far inside its left side; the text sits right of it
MARGIN = 20
SWEEPS = 24  # ordering sweeps at most
PLACEMENT_PASSES = 6  # down-and-up x passes, each rank pulled by one side
BALANCE_PASSES = 8  # then passes pulled by both sides
# How hard an edge pulls the slots it joins into line: a long edge's bends hardest (it runs straight), an
# edge between neighbouring layers next (its boxes line up), a long edge's ends least (it bends there).
PULL_INSIDE_LONG_EDGE, PULL_SHORT_EDGE, PULL_END_OF_LONG_EDGE = 8, 4, 1
BENDS_PER_ITEM, MIN_BENDS = 2, 1000  # bend slots allowed: this many per node and edge (at least MIN_BENDS)
LANE_SPAN = 4  # edges spanning fewer ranks than this are never drawn in a lane


@dataclass
class Slot:
    key: object  # a node id, or ("edge", edge index, rank) for a bend or label
    rank: int
    width: float
    height: float
    kind: str  # "box", "label" or "bend"
    up: list = field(default_factory=list)  # neighbouring slots in the rank above
    down: list = field(default_factory=list)  # ... and below
    long: bool = False  # a bend or label of an edge that spans more than one layer
    position: float = 0  # index within its rank while ordering
    x: float = 0  # centre

    @property
    def anchor(self):
        """Where an edge passes: a label slot's line runs down its left side, others' through the centre."""
        return self.x - self.width / 2 + LINE_INSET if self.kind == "label" else self.x


@dataclass
class Layout:
    width: float
    height: float
    boxes: dict  # node id -> (x, y, width, height), top-left corner
    routes: list  # per edge: [(x, y), ...] from the source's bottom to the target's top
    labels: list  # per edge: (x, y, width, height) of its label's text area, or None
    lanes: set = field(default_factory=set)  # numbers of the edges drawn in a lane


def layered_layout(sizes, edges, label_sizes=None):
    """Lay out boxes ``sizes`` ({id: (width, height)}, in tie-break order) joined by ``edges``
    ([(source id, target id)], acyclic, no self-loops); ``label_sizes`` gives each edge's label size."""
    ranks = _node_ranks(list(sizes), edges)
    lanes = _lane_edges(edges, ranks, len(sizes))
    slots, chains = _slots(sizes, edges, ranks, label_sizes, lanes)
    levels = [[] for _ in range(max((s.rank for s in slots), default=0) + 1)]
    for slot in slots:  # creation order: boxes in file order, then edges' slots in edge order
        slot.position = len(levels[slot.rank])
        levels[slot.rank].append(slot)
    _order(levels)
    _place_x(levels)
    _straighten(levels, [chain for number, chain in enumerate(chains) if number not in lanes])
    spans, height = _place_y(levels)
    return _assemble(levels, chains, spans, height, lanes)


def _node_ranks(nodes, edges):
    """Longest-path layers times two (boxes on even ranks); sources sink to just above a consumer."""
    index = {node: i for i, node in enumerate(nodes)}
    preds = {node: [] for node in nodes}
    succs = {node: [] for node in nodes}
    for source, target in edges:
        preds[target].append(source)
        succs[source].append(target)
    layer = {}
    waiting = {node: len(set(preds[node])) for node in nodes}
    ready = [(index[node], node) for node in nodes if not waiting[node]]
    heapq.heapify(ready)
    while ready:
        _, node = heapq.heappop(ready)
        layer[node] = max((layer[p] + 1 for p in preds[node]), default=0)
        for target in set(succs[node]):
            waiting[target] -= 1
            if not waiting[target]:
                heapq.heappush(ready, (index[target], target))
    if len(layer) != len(nodes):
        raise ValueError("layered_layout needs an acyclic graph")
    for node in nodes:
        if not preds[node] and succs[node]:
            layer[node] = min(layer[t] for t in succs[node]) - 1
    return {node: 2 * layer[node] for node in nodes}


def _lane_edges(edges, ranks, node_count):
    """The numbers of the edges drawn in lanes: the longest, as few as keep the bend slots within budget."""
    spans = [ranks[target] - ranks[source] for source, target in edges]
    bends = sum(span - 1 for span in spans)
    budget = max(MIN_BENDS, BENDS_PER_ITEM * (node_count + len(edges)))
    lanes = set()
    for number in sorted(range(len(edges)), key=lambda number: (-spans[number], number)):
        if bends <= budget or spans[number] < LANE_SPAN:
            break
        lanes.add(number)
        bends -= spans[number] - 3  # its bends but the exit and the label slot
    return lanes


def _slots(sizes, edges, ranks, label_sizes, lanes):
    slots = {node: Slot(node, ranks[node], w, h, "box") for node, (w, h) in sizes.items()}
    chains = []
    for number, (source, target) in enumerate(edges):
        chain = [slots[source]]
        if number in lanes:  # the source's exit slot (one for all its lane edges), then the label slot
            exit_key = ("exit", source)
            if exit_key not in slots:
                slots[exit_key] = Slot(exit_key, ranks[source] + 1, BEND_WIDTH, 0, "bend", long=True)
                slots[source].down.append(slots[exit_key])
                slots[exit_key].up.append(slots[source])
            chain.append(slots[exit_key])
            rank = ranks[target] - 1
            if label_sizes and label_sizes[number]:
                w, h = label_sizes[number]
                slot = Slot(("edge", number, rank), rank, w + LINE_INSET + 4, h, "label", long=True)
            else:
                slot = Slot(("edge", number, rank), rank, BEND_WIDTH, 0, "bend", long=True)
            slots[slot.key] = slot
            slot.down.append(slots[target])
            slots[target].up.append(slot)
            chains.append(chain + [slot, slots[target]])
            continue
        for rank in range(ranks[source] + 1, ranks[target]):
            if rank == ranks[target] - 1 and label_sizes and label_sizes[number]:
                w, h = label_sizes[number]
                slot = Slot(("edge", number, rank), rank, w + LINE_INSET + 4, h, "label")
            else:
                slot = Slot(("edge", number, rank), rank, BEND_WIDTH, 0, "bend")
            slots[slot.key] = slot
            chain.append(slot)
        for slot in chain[1:]:
            slot.long = len(chain) > 2
        chain.append(slots[target])
        for upper, lower in itertools.pairwise(chain):
            upper.down.append(lower)
            lower.up.append(upper)
        chains.append(chain)
    return list(slots.values()), chains


def _order(levels):
    """Barycentre sweeps; keeps the best order seen."""
    best, best_order = _crossings(levels), [list(level) for level in levels]
    for sweep in range(SWEEPS):
        if best == 0:
            break
        downward = sweep % 2 == 0
        sequence = range(1, len(levels)) if downward else range(len(levels) - 2, -1, -1)
        for rank in sequence:
            level = levels[rank]

            def barycentre(slot, downward=downward):
                neighbours = slot.up if downward else slot.down
                return sum(n.position for n in neighbours) / len(neighbours) if neighbours else slot.position

            level.sort(key=lambda slot: (barycentre(slot), slot.position))
            for position, slot in enumerate(level):
                slot.position = position
        count = _crossings(levels)
        if count < best:
            best, best_order = count, [list(level) for level in levels]
    for rank, level in enumerate(best_order):
        levels[rank] = level
        for position, slot in enumerate(level):
            slot.position = position


def _crossings(levels):
    """Edge crossings between consecutive ranks: inversions of lower positions sorted by upper ones."""
    total = 0
    for level, below in itertools.pairwise(levels):
        pairs = sorted((slot.position, lower.position) for slot in level for lower in slot.down)
        tree = [0] * (len(below) + 1)  # a Fenwick tree of lower positions seen so far
        for seen, (_, lower) in enumerate(pairs):
            i, not_greater = lower + 1, 0
            while i > 0:
                not_greater += tree[i]
                i -= i & -i
            total += seen - not_greater
            i = lower + 1
            while i <= len(below):
                tree[i] += 1
                i += i & -i
    return total


def _gap(left, right):
    return GAP_X if left.kind == right.kind == "box" else GAP_VIRTUAL


def _place_x(levels):
    for level in levels:  # start packed from the left
        x = 0
        for i, slot in enumerate(level):
            x += slot.width / 2 + (_gap(level[i - 1], slot) if i else 0)
            slot.x = x
            x += slot.width / 2
    for _ in range(PLACEMENT_PASSES):
        for rank in range(1, len(levels)):
            _fit(levels[rank], "up")
        for rank in range(len(levels) - 2, -1, -1):
            _fit(levels[rank], "down")
    for _ in range(BALANCE_PASSES):
        for rank in list(range(len(levels))) + list(range(len(levels) - 1, -1, -1)):
            _fit(levels[rank], "both")


def _pull(a, b):
    """How hard the edge between two neighbouring slots pulls them into line."""
    if a.kind != "box" and b.kind != "box":
        return PULL_INSIDE_LONG_EDGE
    virtual = a if a.kind != "box" else b
    return PULL_END_OF_LONG_EDGE if virtual.long else PULL_SHORT_EDGE


def _fit(level, side):
    """Move a rank's slots as near as their order and gaps allow to their neighbours' weighted mean anchor
    (the exact minimum, for this rank, of the sum over edges of pull * (x - x_neighbour)^2)."""
    if not level:
        return
    offsets, targets, weights = [0.0], [], []
    for left, right in itertools.pairwise(level):
        offsets.append(offsets[-1] + left.width / 2 + _gap(left, right) + right.width / 2)
    for slot, offset in zip(level, offsets):
        neighbours = {"up": slot.up, "down": slot.down, "both": slot.up + slot.down}[side]
        pulls = [_pull(slot, n) for n in neighbours]
        if neighbours:
            desired = _weighted_median([n.anchor for n in neighbours], pulls) + slot.x - slot.anchor
        else:
            desired, pulls = slot.x, [0.01]
        targets.append(desired - offset)
        weights.append(sum(pulls))
    for slot, offset, value in zip(level, offsets, _nondecreasing_fit(targets, weights)):
        slot.x = value + offset


def _weighted_median(values, weights):
    """The x minimising sum(weight * |x - value|); the middle of the tied stretch when there is one."""
    pairs = sorted(zip(values, weights))
    half, seen = sum(weights) / 2, 0
    for i, (value, weight) in enumerate(pairs):
        seen += weight
        if seen > half + 1e-9:
            return value
        if abs(seen - half) <= 1e-9:
            return (value + pairs[i + 1][0]) / 2
    return pairs[-1][0]


def _straighten(levels, chains):
    """Run each long edge's bends down one straight line where the ranks have room for it: the line
    goes as near the median of their anchors as the neighbours on both sides allow. (The label, just
    above the target, stays where the placement put it: the edge turns towards its target there.)"""
    for _ in range(2):  # a second round uses the room the first made
        for chain in chains:
            virtual = [slot for slot in chain if slot.kind == "bend"]
            if len(virtual) < 2:
                continue
            low, high = -math.inf, math.inf  # where the common anchor may go
            for slot in virtual:
                level, i, inset = levels[slot.rank], slot.position, slot.anchor - (slot.x - slot.width / 2)
                if i > 0:
                    left = level[i - 1]
                    low = max(low, left.x + left.width / 2 + _gap(left, slot) + inset)
                if i + 1 < len(level):
                    right = level[i + 1]
                    high = min(high, right.x - right.width / 2 - _gap(slot, right) - slot.width + inset)
            if low <= high:
                anchors = sorted(slot.anchor for slot in virtual)
                line = min(max(anchors[len(anchors) // 2], low), high)
                for slot in virtual:
                    slot.x += line - slot.anchor


def _nondecreasing_fit(values, weights):
    """The nondecreasing sequence nearest to ``values`` in weighted least squares (pool adjacent
    violators: merge neighbouring blocks while they are out of order; a block sits at its weighted mean)."""
    blocks = []  # [mean, total weight, count]
    for value, weight in zip(values, weights):
        blocks.append([value, weight, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, weight, count = blocks.pop()
            last = blocks[-1]
            total = last[1] + weight
            blocks[-1] = [(last[0] * last[1] + mean * weight) / total, total, last[2] + count]
    return [mean for mean, _, count in blocks for _ in range(count)]


def _place_y(levels):
    """(top, height) of each rank, and the total height; ranks holding only bends take no height."""
    spans, y = [], MARGIN
    for level in levels:
        height = max((slot.height for slot in level), default=0)
        spans.append((y, height))
        y += height + (GAP_Y if height else GAP_Y / 2)
    return spans, y - GAP_Y + MARGIN


def _lane_columns(levels, chains, lanes):
    """{source key: x of its lane}: sources whose lane spans (from the exit rank to the last label rank)
    do not overlap share a lane; lanes start right of every slot."""
    spans = {}
    for number in sorted(lanes):
        exit_slot, entry = chains[number][1], chains[number][-2]
        low, high = spans.get(exit_slot.key, (exit_slot.rank, entry.rank))
        spans[exit_slot.key] = (low, max(high, entry.rank))
    right = max((slot.x + slot.width / 2 for level in levels for slot in level), default=0)
    free, ends, columns, count = [], [], {}, 0  # free lanes; (last rank, lane) of the lanes in use
    for key, (low, high) in sorted(spans.items(), key=lambda item: item[1]):  # stable: first use breaks ties
        while ends and ends[0][0] < low:
            heapq.heappush(free, heapq.heappop(ends)[1])
        if not free:
            heapq.heappush(free, count)
            count += 1
        columns[key] = heapq.heappop(free)
        heapq.heappush(ends, (high, columns[key]))
    return {key: right + GAP_X + lane * GAP_LANE for key, lane in columns.items()}


def _lane_route(chain, spans, column):
    """Points of a lane edge between its ports: down out of the exit slot, across under its rank to the
    lane, down the lane, back across above the label's rank, and down through the label slot."""
    exit_slot, entry = chain[1], chain[-2]
    top, rank_height = spans[exit_slot.rank]
    below = (top + rank_height + spans[exit_slot.rank + 1][0]) / 2
    entry_top, entry_height = spans[entry.rank]
    above = (spans[entry.rank - 1][0] + spans[entry.rank - 1][1] + entry_top) / 2
    points = [(exit_slot.anchor, top), (exit_slot.anchor, below), (column, below), (column, above),
              (entry.anchor, above), (entry.anchor, entry_top)]
    return points + ([(entry.anchor, entry_top + entry_height)] if entry_height else [])


def _assemble(levels, chains, spans, height, lanes):
    slots = [slot for level in levels for slot in level]
    shift = MARGIN - min((slot.x - slot.width / 2 for slot in slots), default=0)
    for slot in slots:
        slot.x += shift
    boxes = {}
    for slot in slots:
        if slot.kind == "box":
            top, rank_height = spans[slot.rank]
            boxes[slot.key] = (slot.x - slot.width / 2, top + (rank_height - slot.height) / 2, slot.width,
                               slot.height)
    ports_out, ports_in = _ports(boxes, chains)
    columns = _lane_columns(levels, chains, lanes)
    routes, labels = [], []
    for number, chain in enumerate(chains):
        points = _lane_route(chain, spans, columns[chain[1].key]) if number in lanes else [
            point for slot in chain[1:-1] for point in _through(slot, spans)]
        routes.append([ports_out[number], *points, ports_in[number]])
        entry = chain[-2]  # the label slot, when the edge has one, sits just above the target
        top, rank_height = spans[entry.rank]
        labels.append((entry.anchor + 4, top + (rank_height - entry.height) / 2, entry.width - LINE_INSET - 4,
                       entry.height) if entry.kind == "label" else None)
    width = max([slot.x + slot.width / 2 for slot in slots] + list(columns.values()), default=0) + MARGIN
    return Layout(width, height, boxes, routes, labels, set(lanes))


def _through(slot, spans):
    """Where an edge passes a slot: straight down through its rank, in the slot's own column."""
    top, rank_height = spans[slot.rank]
    return [(slot.anchor, top), (slot.anchor, top + rank_height)] if rank_height else [(slot.anchor, top)]


def _ports(boxes, chains):
    """Where each edge leaves its source and enters its target: spread along the box's bottom or top,
    in the order of where the edge goes next, so that edges fanning out or in do not cross there."""
    outgoing, incoming = {}, {}
    for number, chain in enumerate(chains):
        outgoing.setdefault(chain[0].key, []).append((chain[1].anchor, number))
        incoming.setdefault(chain[-1].key, []).append((chain[-2].anchor, number))
    ports_out, ports_in = {}, {}
    for ports, groups, at_bottom in ((ports_out, outgoing, True), (ports_in, incoming, False)):
        for key, group in groups.items():
            x, y, width, height = boxes[key]
            group.sort()
            for j, (_, number) in enumerate(group):
                ports[number] = (x + width * (0.2 + 0.6 * (j + 1) / (len(group) + 1)),
                                 y + height if at_bottom else y)
    return ports_out, ports_in
