"""``faceapi-np export NET --onnx FILE``: a net as an ONNX graph (see :mod:`faceapi_np.onnx_export`)."""

from __future__ import annotations

import argparse

NAME = "export"
HELP = "write a net as an ONNX graph with its weights (needs the onnx extra)"


def _batch(text: str):
    """``--batch``: a positive int, or ``dynamic``."""
    if text == "dynamic":
        return text
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise argparse.ArgumentTypeError(f"expected a positive int or 'dynamic', got {text!r}")


def add_arguments(parser) -> None:
    """The net, the output file, the input size and the batch."""
    from ..onnx_export.export import exportable

    names = exportable()
    parser.add_argument("net", choices=names, help="the net: " + ", ".join(names))
    parser.add_argument("--onnx", required=True, metavar="FILE", help="the .onnx file to write")
    parser.add_argument(
        "--input-size", type=int, default=None, help="input side (default: the net's own)"
    )
    parser.add_argument(
        "--batch",
        type=_batch,
        default="dynamic",
        help="a fixed batch size, or 'dynamic' (the default: a batch dimension N)",
    )


def run(args) -> int:
    """Export the net and say what was written."""
    from ..onnx_export import export_onnx

    model = export_onnx(args.net, args.onnx, args.input_size, args.batch)

    def dims(v):
        return "x".join(d.dim_param or str(d.dim_value) for d in v.type.tensor_type.shape.dim)

    outs = ", ".join(f"{o.name} {dims(o)}" for o in model.graph.output)
    print(
        f"wrote {args.onnx}: {args.net}, input {dims(model.graph.input[0])}, outputs {outs}, "
        f"{len(model.graph.node)} nodes, opset {model.opset_import[0].version}"
    )
    return 0
