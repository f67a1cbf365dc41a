"""Element-wise product of inputs of one shape (gating, as in GLU or squeeze-and-excitation weighting):

    y = x_1 * x_2 * ... * x_k,   x_i: (N, ...) all alike -> y: same shape
    dx_i = dy * prod_{j != i} x_j          (the other inputs' product; no division, so zeros are fine)

ONNX: Mul, chained for more than two inputs; a Mul of two computed tensors of one shape imports as multiply
(through binary's import of Mul, graphnn/ops/binary.py).
"""

import math

from graphnn.ops.base import Op
from graphnn.ops.merge import equal_shapes
from graphnn.ops.registry import register


@register
class Multiply(Op):
    name = "multiply"
    n_inputs = (2, None)
    examples = ({"params": {}, "inputs": [(3,), (3,)]}, {"params": {}, "inputs": [(2, 2), (2, 2), (2, 2)]})

    def infer_shape(self, in_shapes):
        return equal_shapes("multiply", in_shapes)

    def forward(self, weights, xs, ctx):
        y = xs[0] * xs[1]
        for x in xs[2:]:
            y *= x
        return y, xs

    def backward(self, weights, cache, dy, needs, grads):
        dxs = []
        for i, need in enumerate(needs):
            if not need:
                dxs.append(None)
                continue
            dx = dy.copy()
            for j, x in enumerate(cache):
                if j != i:
                    dx *= x
            dxs.append(dx)
        return dxs

    def flops(self):
        return (len(self.in_shapes) - 1) * math.prod(self.out_shape)

    def export_onnx(self, emit, step):
        product = step.inputs[0]
        for index, x in enumerate(step.inputs[1:], start=2):
            output = step.name if index == len(step.inputs) else emit.fresh(f"{step.name}.product{index}")
            emit.node("Mul", [product, x], output, output)
            product = output
