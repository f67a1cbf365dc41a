"""Data: a named input whose value is fed from a dataset field.  () -> x: (N, *shape).

``field`` names the dataset field it reads: ``"x"`` the samples, ``"y"`` the labels. A label node of
shape ``[]`` receives class indices; of shape ``[C]``, one-hot rows. Exported to ONNX as a graph input
(``graphnn/interop/onnx_export.py``), unless only losses read it.
"""

from graphnn.ops.base import Op, object_schema
from graphnn.ops.registry import register

DIMENSION = {"type": "integer", "minimum": 1}


@register
class Data(Op):
    name = "data"
    n_inputs = 0
    is_input = True
    params_schema = object_schema({
        "shape": {"type": "array", "items": DIMENSION, "maxItems": 8,
                  "description": "Shape of one sample, without the batch dimension."},
        "field": {"type": "string", "minLength": 1, "maxLength": 64, "default": "x",
                  "description": "Dataset field this input reads: 'x' (samples) or 'y' (labels)."},
    }, required=["shape"])

    examples = ({"params": {"shape": [3, 2]}, "inputs": []},)

    def infer_shape(self, in_shapes):
        return tuple(self.params["shape"])

    def forward(self, weights, xs, ctx):
        raise TypeError("data nodes are fed, not computed")
