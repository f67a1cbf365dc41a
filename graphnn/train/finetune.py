"""Fine-tuning: start a network from another network's weights, matched by node name, as Caffe's
``--weights`` does. Nodes inside blocks carry their block path in their name (``stage2.block1.conv1``), so
they match their namesakes in the same place of the other graph.

    match = load_matching(network, bundle)        # copies every node whose arrays all fit
    match.loaded, match.new, match.dropped        # node names; match.mismatched: (node, array, ours, theirs)

A node is loaded when the bundle has a node of that name whose weights (and running state) have the same
names and shapes; it keeps its fresh initial values when the bundle has no such node (``new``), and the
bundle's nodes the network lacks are ``dropped``. A node whose arrays differ is refused (ShapeError naming
the node and both shapes) unless ``ignore_mismatch``, when it is initialised and listed in
``mismatched``. ``lr_mult: 0`` on a node freezes what was loaded into it.
"""

from dataclasses import dataclass, field

from graphnn.errors import ShapeError


@dataclass
class WeightMatch:
    source: str
    loaded: list = field(default_factory=list)
    new: list = field(default_factory=list)
    dropped: list = field(default_factory=list)
    mismatched: list = field(default_factory=list)  # (node, array, shape here, shape in the bundle)

    def lines(self):
        """What happened, a line per kind (for the command line)."""
        def names(nodes):
            return ", ".join(nodes[:12]) + (f" and {len(nodes) - 12} more" if len(nodes) > 12 else "")

        out = [f"weights from {self.source}: loaded {len(self.loaded)} node{'s' * (len(self.loaded) != 1)}"
               + (f" ({names(self.loaded)})" if self.loaded else "")]
        if self.new:
            out.append(f"new (initialised): {names(self.new)}")
        if self.mismatched:
            out.append("shape mismatch (initialised): " + ", ".join(
                f"{node} {array} {tuple(ours)} here, {tuple(theirs)} in the bundle"
                for node, array, ours, theirs in self.mismatched))
        if self.dropped:
            out.append(f"dropped (not in this model): {names(self.dropped)}")
        return out


def _arrays(named):
    return {name: tuple(array.shape) for name, array in named.items()}


def load_matching(network, bundle, ignore_mismatch=False, source=None):
    """Copy ``bundle``'s weights and state into ``network`` node by node (see the module docstring);
    returns the WeightMatch. Nothing is copied when a mismatch is refused."""
    match = WeightMatch(source or str(getattr(bundle.model, "file", None) or "the bundle"))
    theirs_nodes = {node for group in (bundle.weights, bundle.state) for node in group}
    ours_nodes = set()
    copies = []
    for step in network.plan.steps:
        weights, state = network.weights.get(step.name, {}), network.state.get(step.name, {})
        if not weights and not state:
            continue
        ours_nodes.add(step.name)
        if step.name not in theirs_nodes:
            match.new.append(step.name)
            continue
        pairs = ((weights, bundle.weights.get(step.name, {})), (state, bundle.state.get(step.name, {})))
        differences = []
        for ours, theirs in pairs:
            for name in sorted(set(ours) | set(theirs)):
                here = tuple(ours[name].shape) if name in ours else None
                there = tuple(theirs[name].shape) if name in theirs else None
                if here != there:
                    differences.append((step.name, name, here or "absent", there or "absent"))
        if differences:
            if not ignore_mismatch:
                node, name, here, there = differences[0]
                raise ShapeError(f"{name} has shape {here} in the model but {there} in {match.source}; give "
                                 "--ignore-mismatch to initialise this node instead", node=node)
            match.mismatched.extend(differences)
            continue
        copies.append(step.name)
        match.loaded.append(step.name)
    for node in copies:
        for ours, theirs in ((network.weights, bundle.weights), (network.state, bundle.state)):
            for name, array in theirs.get(node, {}).items():
                ours[node][name][...] = array
    match.dropped = [node for node in bundle.model.plan.by_name if node in theirs_nodes and node not in ours_nodes]
    return match
