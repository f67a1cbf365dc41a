"""Interoperability with other frameworks' file formats.

- ``onnx_export``: a graphnn network -> an ONNX model (``graphnn export``);
- ``onnx_import``: an ONNX model -> a graphnn model file and bundle (``graphnn import``).

Both need the optional extra ``pip install 'graphnn[onnx]'`` (the ``onnx`` package; onnxruntime to run
the exported files). The module names avoid ``onnx`` itself, so they never shadow that package.
"""
