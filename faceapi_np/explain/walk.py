"""The part of every report that is the same for all nets: the input, the layer table,
and one picture per layer.

A net is run once with a :class:`~faceapi_np.tap.Tap` that both records the
``summary()`` rows and keeps every layer's output (what ``summary()`` and
``activations()`` do separately), so the table's shapes are those of the very input
the pictures show.
"""

from __future__ import annotations

import numpy as np

from ..net import Summary
from ..tap import Tap, recording
from . import pictures as pic
from .page import Page, slug

#: Feature maps shown per layer, and layers whose outputs are too long to draw as cells.
MOSAIC_CHANNELS = 16
MAX_VECTOR = 4096


def run_with_tap(net, batch, bk, **forward_kwargs):
    """Run ``net`` on ``batch`` once; return ``(outputs by layer name, Summary, result)``."""
    with recording(Tap(rows=True, capture=True, to_numpy=bk.to_numpy)) as tap:
        result = net.forward(batch, bk, **forward_kwargs)
    summary = Summary(type(net).__name__, tuple(batch.shape), tap.rows)
    return tap.outputs, summary, result


def input_section(
    page: Page,
    batch_image,
    normalised,
    how: str,
    stem: str = "input",
    title: str = "",
    channels=("R", "G", "B"),
) -> None:
    """Show one input as the net sees it: padded and resized, then normalised per channel.

    Parameters
    ----------
    batch_image : ndarray (S, S, 3), RGB 0..255 after padding and resizing
    normalised : ndarray (S, S, 3), the values the first layer receives
    how : str, the normalisation in words, e.g. ``x * 2/255 - 1``
    """
    s = batch_image.shape[0]
    page.section(stem, title or "The input as the net sees it")
    page.image(
        f"{stem}.png",
        pic.to_pil(batch_image),
        f"Padded to a square and resized to {s}x{batch_image.shape[1]}: the RGB values 0..255 "
        "of the batch (black bands are the zero padding).",
        zoom=max(1, 256 // s),
    )
    scale = pic.Scale.for_values(normalised)
    size = (min(256, s * 4), min(256, s * 4))
    chans = [pic.heatmap(normalised[:, :, c], scale, size) for c in range(3)]
    body = pic.grid(chans, [f"channel {k}: {c}" for k, c in enumerate(channels)], cols=3)
    page.image(
        f"{stem}-normalised.png",
        pic.stack([body, pic.colour_bar(scale, min(body.width, 320))]),
        f"Normalised ({how}): each channel as the first layer receives it. "
        f"Colour: {scale.describe()}. Values {np.min(normalised):.3g} .. {np.max(normalised):.3g}.",
    )


def summary_section(page: Page, summary: Summary, anchor: str = "layer-table") -> None:
    """The ``summary()`` table: layer, op, output shape, parameters, multiply-adds."""
    shape = "x".join(map(str, summary.input_shape))
    page.section(
        anchor,
        f"Layer table ({summary.net}, input {shape})",
        "What `net.summary()` prints, for this input: each named layer, its operation, its "
        "output shape (N, H, W, C), its parameter count and its multiply-adds.",
    )
    rows = [
        (r.name, r.op, "x".join(map(str, r.shape)), f"{r.params:,}", f"{r.macs:,}")
        for r in summary.rows
    ]
    rows.append(("total", "", "", f"{summary.total_params:,}", f"{summary.total_macs:,}"))
    page.table(("layer", "op", "output shape", "params", "mult-adds"), rows, numeric=(3, 4))


def layer_stats(out: np.ndarray) -> str:
    """Shape, value range and share of exact zeros of one layer output."""
    a = np.asarray(out)
    zeros = float(np.mean(a == 0)) * 100 if a.size else 0.0
    return (
        f"output {'x'.join(map(str, a.shape))} · range {float(a.min()):.4g} .. "
        f"{float(a.max()):.4g} · zeros {zeros:.1f} %"
    )


def layer_sections(
    page: Page,
    outputs: dict,
    summary: Summary,
    sample: int = 0,
    anchor: str = "layers",
    title: str = "Layer by layer",
    what: str = "the first image of the batch",
) -> None:
    """One heading, statistics line and picture per layer.

    Feature maps (N, H, W, C) become mosaics of their most active channels; vectors
    (N, D) rows of coloured cells; longer flat outputs (e.g. SSD's 5118 boxes) only get
    their statistics here and are pictured by the detector's own sections.
    """
    page.section(
        anchor,
        title,
        f"Each layer's output for {what}, after its activation. The statistics give the "
        "output shape, its smallest and largest value and the share of values that are "
        "exactly 0 (ReLU-type activations zero everything negative). Mosaics show the "
        f"{MOSAIC_CHANNELS} channels with the largest mean |value|, all on one colour scale "
        "so tiles can be compared; the scale is given under each picture.",
    )
    ops = {r.name: r.op for r in summary.rows}
    for k, (name, out) in enumerate(outputs.items()):
        out = np.asarray(out)
        page.subsection(f"{k + 1}. {name} — {ops.get(name, '')}", anchor=f"{anchor}-{name}")
        page.para(layer_stats(out), css="stats")
        one = out[sample] if out.ndim >= 1 and out.shape[0] > sample else out
        file = f"{slug(anchor)}-{k + 1:03d}-{slug(name)}.png"
        if one.ndim == 3 and one.shape[2] > 0:
            picture, channels, scale = pic.mosaic(one, MOSAIC_CHANNELS)
            shown = "all" if len(channels) == one.shape[2] else f"{len(channels)} of"
            page.image(
                file,
                picture,
                f"{name}: {shown} {one.shape[2]} channels of {one.shape[0]}x{one.shape[1]} "
                f"(most active first). Colour: {scale.describe()}.",
            )
        elif 0 < one.size <= MAX_VECTOR:
            picture, scale = pic.vector_picture(one)
            page.image(
                file,
                picture,
                f"{name}: the {one.size} values in order, 64 a row. Colour: {scale.describe()}.",
            )
        else:
            page.para(f"{one.size} values: pictured in the sections after this one.")
