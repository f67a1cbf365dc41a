"""Loss nodes across an ONNX round trip. ONNX files hold inference graphs, so ``graphnn export`` leaves
the losses out; it records them in the file's metadata (``metadata_props`` key ``graphnn.losses``), and
``graphnn import`` (without ``--loss``) puts them back, each with its function and ``loss_weight``, reading
the same prediction and a label data node of the same name and shape, so that an auxiliary head comes back
with its own weight and predictions come from the primary loss again.

    [{"name": "aux_loss", "function": "softmax_cross_entropy", "loss_weight": 0.3,
      "prediction": "fc_aux", "softmax": false, "label": {"name": "label", "shape": [], "field": "y"}}]

``prediction`` is the ONNX output carrying the loss's input (with ``export --softmax``, the Softmax output
named after the loss: ``softmax`` true, and the import reads the Softmax's input again). A loss whose label
is not a data node is not recorded.
"""

import json

KEY = "graphnn.losses"


def loss_records(plan, outputs, softmax_outputs):
    """The records of ``plan``'s losses; ``outputs`` maps a node to the ONNX output carrying it,
    ``softmax_outputs`` is the set of losses exported as a Softmax output of their name."""
    records = []
    for step in plan.losses:
        label = plan.by_name[step.inputs[1]] if len(step.inputs) > 1 else None
        if label is None or not label.op.is_input:
            continue
        softmax = step.name in softmax_outputs
        prediction = step.name if softmax else outputs.get(step.inputs[0], step.inputs[0])
        records.append({"name": step.name, "function": step.op.params["function"],
                        "loss_weight": step.op.params["loss_weight"], "prediction": prediction,
                        "softmax": softmax, "label": {"name": label.name, "shape": list(label.out_shape),
                                                      "field": label.op.params.get("field", "y")}})
    return records


def add_metadata(onnx, proto, records):
    if records:
        entry = proto.metadata_props.add()
        entry.key, entry.value = KEY, json.dumps(records, separators=(",", ":"))


def recorded(proto):
    """The records in an ONNX ModelProto's metadata, or None (none, or not in the recorded form)."""
    for entry in proto.metadata_props:
        if entry.key == KEY:
            try:
                records = json.loads(entry.value)
            except ValueError:
                return None
            valid = isinstance(records, list) and all(
                isinstance(r, dict) and isinstance(r.get("name"), str) and isinstance(r.get("function"), str)
                and isinstance(r.get("prediction"), str) and isinstance(r.get("label"), dict)
                and isinstance(r["label"].get("name"), str) and isinstance(r["label"].get("shape"), list)
                and isinstance(r.get("loss_weight", 1.0), (int, float)) for r in records)
            return records if valid else None
    return None


def restore_losses(importer, proto):
    """Add the recorded losses to an _Importer's nodes (graphnn/interop/onnx_import.py); True when it did.
    A record whose prediction is no output of the imported graph is skipped."""
    records = recorded(proto)
    if not records:
        return False
    by_output = {onnx_name: node for onnx_name, node, _ in importer.outputs if node is not None}
    nodes = {node["name"]: node for node in importer.nodes}
    labels = {}
    added = False
    for record in records:
        prediction = by_output.get(record["prediction"])
        if prediction is None:
            continue
        name = record["name"]
        if record.get("softmax") and nodes.get(prediction, {}).get("function") == "softmax":
            read = {source for node in importer.nodes for source in node.get("inputs", [])}
            softmax_node = nodes[prediction]
            prediction = softmax_node["inputs"][0]
            if softmax_node["name"] not in read:
                importer.nodes.remove(softmax_node)  # the loss applies the softmax itself
                nodes.pop(softmax_node["name"])
        label = record["label"]
        if label["name"] not in labels:
            labels[label["name"]] = label["name"] if label["name"] not in nodes else importer.unique(label["name"])
            importer.nodes.append({"name": labels[label["name"]], "op": "data", "shape": label["shape"],
                                   "field": label.get("field", "y")})
        loss_name = name if name not in nodes else importer.unique(name)
        node = {"name": loss_name, "op": "loss", "inputs": [prediction, labels[label["name"]]],
                "function": record["function"]}
        if record.get("loss_weight", 1.0) != 1.0:
            node["loss_weight"] = record["loss_weight"]
        importer.nodes.append(node)
        nodes[loss_name] = node
        added = True
    return added
