"""Data: a named input whose value is fed from a dataset field.  () -> x: (N, *shape).

``field`` names the dataset field it reads: ``"x"`` the samples, ``"y"`` the labels. A label node of
shape ``[]`` receives class indices; of shape ``[C]``, one-hot rows. Exported to ONNX as a graph input
(``graphnn/interop/onnx_export.py``), unless only losses read it.

``transform`` (Caffe's transform_param) prepares each sample as Caffe's DataTransformer does
(graphnn/datasets/transforms.py): y = (x - mean) * scale over a crop, mirrored or not. The node's ``shape``
is the shape after it: (C, crop_size, crop_size) with a crop. With a transform, raw uint8 samples are not
divided by 255 (``scale`` says what multiplies them: Caffe's 0.00390625 is 1/256).
"""

from graphnn.errors import ShapeError
from graphnn.ops.base import Op, object_schema
from graphnn.ops.registry import register

DIMENSION = {"type": "integer", "minimum": 1}

TRANSFORM = {
    "type": "object", "additionalProperties": False,
    "description": "Caffe's transform_param: y = (x - mean) * scale, over a crop of crop_size (random in training, "
                   "the centre in testing), flipped left-right at random in training with mirror.",
    "properties": {
        "scale": {"type": "number", "default": 1.0, "description": "Multiplies each value after the mean is taken."},
        "mean_value": {"type": "array", "items": {"type": "number"}, "minItems": 1, "maxItems": 4096,
                       "description": "Subtracted per channel (one value: from every channel)."},
        "mean_file": {"type": "string", "minLength": 1,
                      "description": "A Caffe .binaryproto mean (C, H, W) of the uncropped samples, subtracted "
                                     "before cropping; a relative path is taken from the model file's folder."},
        "mirror": {"type": "boolean", "default": False,
                   "description": "Flip each training sample left-right with probability 1/2 (never in testing)."},
        "crop_size": {"type": "integer", "minimum": 1,
                      "description": "Crop crop_size x crop_size: a random place in training, the centre in testing."},
    },
    "not": {"required": ["mean_value", "mean_file"]},
}


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
        "transform": TRANSFORM,
    }, required=["shape"])

    examples = ({"params": {"shape": [3, 2]}, "inputs": []},
                {"params": {"shape": [3, 4, 4], "transform": {"scale": 0.5, "mean_value": [1, 2, 3], "mirror": True,
                                                              "crop_size": 4}}, "inputs": []})

    def infer_shape(self, in_shapes):
        shape = tuple(self.params["shape"])
        transform = self.params.get("transform")
        if transform is not None:
            if self.params["field"] == "y":
                raise ShapeError("a label node (field 'y') takes no transform")
            crop = transform.get("crop_size")
            if crop is not None and (len(shape) != 3 or shape[1:] != (crop, crop)):
                raise ShapeError(f"with crop_size {crop} the shape must be [C, {crop}, {crop}] (the cropped "
                                 f"samples); got {list(shape)}")
            means = transform.get("mean_value", [0])
            if len(means) != 1 and (not shape or len(means) != shape[0]):
                raise ShapeError(f"mean_value has {len(means)} values; give one, or one per channel "
                                 f"({shape[0] if shape else 'no channel axis in shape []'})")
        return shape

    def forward(self, weights, xs, ctx):
        raise TypeError("data nodes are fed, not computed")
