"""``faceapi-np summary NET``: a net's layers, output shapes, parameters and mult-adds."""

from __future__ import annotations

import json

from ..registry import net_names

NAME = "summary"
HELP = "print a net's layers, shapes, parameters and mult-adds"


def add_arguments(parser) -> None:
    """The net, its input size, and the output format."""
    parser.add_argument("net", choices=net_names(), help="the net: " + ", ".join(net_names()))
    parser.add_argument(
        "--input-size", type=int, default=None, help="input side (default: the net's own)"
    )
    parser.add_argument("--json", action="store_true", help="print the table as JSON")


def run(args) -> int:
    """Load the net and print its summary."""
    from ..nets import get_net

    summary = get_net(args.net).summary(args.input_size)
    print(json.dumps(summary.as_dict()) if args.json else summary)
    return 0
