"""Export a net as an ONNX graph (opset 17) by tracing its own forward pass.

:func:`build_model` runs ``net.forward`` on a symbolic NHWC float32 batch with the
:class:`~.graph_backend.GraphBackend`, so the graph carries exactly the layers and params
the NumPy backend runs, normalisation included; :func:`export_onnx` writes it. Outputs
are the raw outputs of ``forward`` (see :data:`OUTPUTS`), before any host-side decoding:
SSD's decoded boxes and scores before NMS, the tiny detector's grid, landmarks,
descriptors, logits. The MTCNN stage nets take the BGR, 0..255 patches (P-Net: the
transposed pyramid level) and normalise them in the graph with ``stages.normalize``.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import BackendError, OptionsError
from .graph import TRACE_BATCH, BatchDim, Graph, is_batch
from .graph_backend import GraphBackend
from .symbolic import ONNX_TYPES, Sym

OPSET = 17
#: IR version 8 goes with opset 17 and is read by every onnxruntime / OpenVINO since 2022.
IR_VERSION = 8

#: Short name -> names of the graph's outputs, in the order ``forward`` returns them (a
#: net missing here gets ``output_0``, ``output_1``, ...).
OUTPUTS = {
    "ssd": ("boxes", "scores"),
    "tiny": ("grid",),
    "landmarks": ("landmarks",),
    "landmarks_tiny": ("landmarks",),
    "recognition": ("descriptors",),
    "expression": ("logits",),
    "age_gender": ("age", "gender_logits"),
    "pnet": ("prob", "regions"),
    "rnet": ("prob", "regions"),
    "onet": ("prob", "regions", "points"),
}
#: MTCNN's stage nets, exported one by one (MTCNN itself is three nets and a pyramid).
MTCNN_STAGES = ("pnet", "rnet", "onet")


def exportable() -> list[str]:
    """The names :func:`export_onnx` takes: every single-pass net of the registry, and
    MTCNN's stages."""
    from ..registry import NET_CLASSES

    return [cls.name for cls in NET_CLASSES if cls.single_pass] + list(MTCNN_STAGES)


def resolve_net(net):
    """``(instance, short name, mtcnn stage or None)`` of a net instance or short name."""
    from .. import nets
    from ..mtcnn import Mtcnn
    from ..registry import NET_CLASSES

    if isinstance(net, str):
        if net not in exportable():
            raise OptionsError(f"cannot export {net!r}; choose one of {', '.join(exportable())}")
        if net in MTCNN_STAGES:
            return nets.get_net("mtcnn"), net, net
        return nets.get_net(net), net, None
    if isinstance(net, Mtcnn):
        raise OptionsError(f"MTCNN is three nets; export them by name: {', '.join(MTCNN_STAGES)}")
    if type(net) not in NET_CLASSES:
        raise OptionsError(f"cannot export {type(net).__name__}: not one of faceapi_np's nets")
    return net, type(net).name, None


def _check_sizes(input_size, batch):
    if input_size is not None and (not isinstance(input_size, int) or input_size < 1):
        raise OptionsError(f"input_size must be a positive int, got {input_size!r}")
    if batch not in (None, "dynamic") and (not isinstance(batch, int) or batch < 1):
        raise OptionsError(f"batch must be a positive int or 'dynamic', got {batch!r}")


def trace(net, input_size: int | None = None, batch: int | str | None = None):
    """Run ``net``'s forward pass on a symbolic batch.

    Returns ``(graph, input, outputs, info)``: the :class:`~.graph.Graph`, the input
    :class:`~.symbolic.Sym`, ``{output name: Sym}`` in NHWC order, and the net's
    ``(instance, short name, mtcnn stage or None)``.
    """
    from ..errors import WeightsError
    from ..mtcnn.net import STAGE_INPUT
    from ..mtcnn.stages import normalize

    _check_sizes(input_size, batch)
    info = instance, short, stage = resolve_net(net)
    if not instance.is_loaded:
        raise WeightsError(f"{type(instance).__name__}: load the weights before exporting")
    size = input_size or (STAGE_INPUT[stage] if stage else instance.default_input_size)
    dynamic = batch in (None, "dynamic")
    graph = Graph(dynamic)
    graph.input_name = "input"
    x = Sym(graph, "input", (BatchDim(TRACE_BATCH) if dynamic else batch, size, size, 3))
    bk = GraphBackend(graph)
    if stage:  # MTCNN's stages take normalised input; the graph takes 0..255
        outs = instance.forward(normalize(x), bk, stage=stage)
    else:
        outs = instance.forward(x, bk)
    outs = outs if isinstance(outs, tuple) else (outs,)
    names = OUTPUTS.get(short) or [f"output_{i}" for i in range(len(outs))]
    return graph, x, {n: o.logical() for n, o in zip(names, outs)}, info


def _dims(shape):
    return ["N" if is_batch(d) else int(d) for d in shape]


def _prune(nodes, outputs):
    """Nodes needed for ``outputs``, in order (a forward pass may compute things it drops)."""
    needed, kept = set(outputs), []
    for node in reversed(nodes):
        if needed & set(node[2]):
            kept.append(node)
            needed |= set(node[1])
    return kept[::-1], needed


def _onnx():
    """The onnx package, or a BackendError saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise BackendError(
            "ONNX export needs the onnx package: pip install 'faceapi-np[onnx]'"
        ) from None
    return onnx


def model_from_graph(graph: Graph, x: Sym, outputs: dict, name: str, props=None):
    """An ONNX ``ModelProto`` from a traced graph with input ``x`` and named outputs."""
    onnx = _onnx()
    from onnx import helper, numpy_helper

    from .. import __version__

    for out_name, out in outputs.items():
        graph.nodes.append(("Identity", [out.name], [out_name], {}))
    nodes, needed = _prune(graph.nodes, list(outputs))

    def attr(v):
        return numpy_helper.from_array(v) if isinstance(v, np.ndarray) else v

    protos = [
        helper.make_node(op, ins, outs, name=f"{op}_{i}", **{k: attr(v) for k, v in at.items()})
        for i, (op, ins, outs, at) in enumerate(nodes)
    ]
    inits = [numpy_helper.from_array(a, n) for n, a in graph.initializers.items() if n in needed]
    g = helper.make_graph(
        protos,
        name,
        [helper.make_tensor_value_info(x.name, ONNX_TYPES[x.dtype], _dims(x.shape))],
        [
            helper.make_tensor_value_info(n, ONNX_TYPES[o.dtype], _dims(o.shape))
            for n, o in outputs.items()
        ],
        initializer=inits,
    )
    model = helper.make_model(
        g,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="faceapi_np",
        producer_version=__version__,
        ir_version=IR_VERSION,
    )
    if props:
        helper.set_model_props(model, props)
    onnx.checker.check_model(model)
    return model


def build_model(net, input_size: int | None = None, batch: int | str | None = None):
    """The ONNX ``ModelProto`` of ``net`` (see :func:`export_onnx` for the arguments)."""
    graph, x, outputs, (instance, short, stage) = trace(net, input_size, batch)
    layout = "NWHC float32 BGR 0..255" if stage else "NHWC float32 RGB 0..255"
    props = {"net": short, "model_name": instance.model_name, "input": layout}
    return model_from_graph(graph, x, outputs, f"faceapi_np_{short}", props)


def export_onnx(net, path: str | os.PathLike, input_size: int | None = None, batch=None):
    """Write ``net`` as an ONNX graph (opset 17) to ``path``; return the ``ModelProto``.

    The graph is traced from the net's own ``forward`` (one definition of each
    architecture) and carries its weights. Its input ``input`` is the NHWC float32 batch
    in 0..255 that ``forward`` takes; normalisation is inside the graph.

    Parameters
    ----------
    net : NeuralNetwork or str
        A loaded net, or a short name: ``ssd``, ``tiny``, ``landmarks``,
        ``landmarks_tiny``, ``recognition``, ``expression``, ``age_gender``, or MTCNN's
        ``pnet``, ``rnet``, ``onet`` (names load the shared instance's weights).
    path : str or path-like
        Where to write; written to a temporary file first, then renamed.
    input_size : int, optional
        Side of the square input (default: the net's own, e.g. 512 for ssd, 12 / 24 / 48
        for the MTCNN stages).
    batch : int or 'dynamic' or None
        A fixed batch size, or a dynamic batch dimension ``N`` (the default).

    Returns
    -------
    onnx.ModelProto

    Raises
    ------
    OptionsError
        An unknown net, or a bad ``input_size`` / ``batch``.
    BackendError
        The onnx package is not installed.
    """
    from ..fileio import write_bytes

    _onnx()  # before any work: say at once when the extra is missing
    model = build_model(net, input_size, batch)
    write_bytes(path, model.SerializeToString())
    return model
