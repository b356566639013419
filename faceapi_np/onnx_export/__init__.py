"""ONNX export of faceapi_np's nets, and onnxruntime / OpenVINO as benchmark peers.

:func:`export_onnx` traces a net's own forward pass with a graph-building backend
(``graph_backend.py`` over the symbolic tensors of ``symbolic.py`` and the NumPy
look-alike of ``namespace.py``) and writes the graph (``export.py``); ``peers.py`` runs
exported graphs for ``faceapi-np bench --peers``. Importing this package loads neither
onnx nor a runtime: they are imported when first used (``pip install 'faceapi-np[onnx]'``).
"""

from __future__ import annotations


def export_onnx(net, path, input_size=None, batch=None):
    """Write ``net`` as an ONNX graph; see :func:`faceapi_np.onnx_export.export.export_onnx`."""
    from .export import export_onnx as _export

    return _export(net, path, input_size, batch)


__all__ = ["export_onnx"]
