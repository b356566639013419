"""``faceapi-np explain IMAGE --net NET --out DIR``: a page that walks through a net in pictures.

Writes ``DIR/index.html`` with its PNGs beside it (see :mod:`faceapi_np.explain`): plain
HTML, no JavaScript, links only to files inside ``DIR``, so it opens offline.
"""

from __future__ import annotations

NAME = "explain"
HELP = "write an HTML page that walks through a net, layer by layer, in pictures"


def add_arguments(parser) -> None:
    """The image, the net, the output folder, and the few knobs the report has."""
    from ..backend import BACKENDS
    from ..registry import net_names

    parser.add_argument("image", metavar="IMAGE", help="the photo to run the net on")
    parser.add_argument(
        "--net",
        choices=net_names(),
        default="ssd",
        help="the net to explain: " + ", ".join(net_names()) + " (default: ssd)",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default="report",
        help="folder for index.html and its pictures (default: report)",
    )
    parser.add_argument(
        "--input-size",
        metavar="N",
        type=int,
        default=None,
        help="input side of the Tiny Face Detector, a multiple of 32 (default: 416)",
    )
    parser.add_argument(
        "--max-faces",
        metavar="N",
        type=int,
        default=6,
        help="face nets: explain at most this many faces, the best first (default: 6)",
    )
    parser.add_argument(
        "--backend",
        metavar="NAME",
        help=f"compute backend: auto, {', '.join(BACKENDS)} (default: FACEAPI_NP_BACKEND or auto)",
    )


def run(args) -> int:
    """Write the report and print where it is."""
    from ..explain import explain

    index = explain(
        args.image,
        net=args.net,
        out=args.out,
        input_size=args.input_size,
        max_faces=args.max_faces,
    )
    print(index)
    return 0
