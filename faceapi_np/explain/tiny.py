"""Explain the Tiny Face Detector: a YOLO grid from pixels to boxes, in pictures.

Follows ``TinyFaceDetector.forward`` and ``locate_faces``: the separable-conv layers
(one mosaic each), then the output grid, one cell per 32x32 input pixels with 5
anchors, each anchor's objectness as a heatmap, the boxes decoded from the grid
(``decode_grid``) and those left after non-maximum suppression (``ops.nms``).
"""

from __future__ import annotations

import numpy as np

from ..image import reshaped_size, to_batch
from ..nets import get_net
from ..ops import nms, sigmoid
from ..tiny_face_detector import TinyFaceDetectorOptions
from ..tiny_face_detector.const import (
    BOX_ANCHORS,
    BOX_ENCODING_SIZE,
    INPUT_DIVISOR,
    IOU_THRESHOLD,
    MEAN_RGB,
)
from ..tiny_face_detector.net import decode_grid
from . import pictures as pic
from .page import Page
from .walk import input_section, layer_sections, run_with_tap, summary_section

PANEL = 256
SHOWN_SIDE = 640  # the original image is drawn at most this large


def explain_tiny(page: Page, image, bk, options: TinyFaceDetectorOptions | None = None) -> dict:
    """Add the Tiny Face Detector sections to ``page`` for one RGB image."""
    options = options or TinyFaceDetectorOptions()
    size = options.input_size
    net = get_net("tiny")
    batch = to_batch([image], size, center=False, bk=bk)
    seen = np.asarray(bk.to_numpy(batch))[0]
    outputs, summary, grid = run_with_tap(net, batch, bk)
    grid = np.asarray(bk.to_numpy(grid))[0]  # (cells, cells, 25)
    cells = grid.shape[0]

    input_section(
        page,
        seen,
        (seen - np.asarray(MEAN_RGB, np.float32)) / np.float32(INPUT_DIVISOR),
        f"(x - mean RGB {MEAN_RGB}) / {INPUT_DIVISOR:g}",
    )
    summary_section(page, summary)
    layer_sections(page, outputs, summary)

    under = pic.to_pil(seen).resize((PANEL, PANEL))
    g = grid.reshape(cells, cells, len(BOX_ANCHORS), BOX_ENCODING_SIZE).astype(np.float64)
    objectness = sigmoid(g[..., 4])  # (cells, cells, anchors)
    page.section(
        "objectness",
        "The output grid: objectness per anchor",
        f"The last layer outputs a {cells}x{cells} grid, one cell per {size // cells}x{size // cells} "
        f"input pixels, and per cell {len(BOX_ANCHORS)} anchors of fixed shape, each with 5 "
        "numbers: the box centre's offset in the cell (tx, ty), its width and height as "
        "exp(tw), exp(th) times the anchor's, and the objectness logit. One panel per "
        "anchor: sigmoid(objectness) of every cell, over the input; the rectangle is the "
        "anchor's shape at its best cell.",
    )
    scale = pic.Scale(0.0, 1.0, "viridis")
    panels, labels = [], []
    for k, (aw, ah) in enumerate(BOX_ANCHORS):
        img = pic.heatmap(objectness[:, :, k], scale, (PANEL, PANEL), under, 0.7)
        r, c = np.unravel_index(np.argmax(objectness[:, :, k]), (cells, cells))
        cx, cy, cell = (c + 0.5) * PANEL / cells, (r + 0.5) * PANEL / cells, PANEL / cells
        box = [cx - aw * cell / 2, cy - ah * cell / 2, cx + aw * cell / 2, cy + ah * cell / 2]
        panels.append(pic.draw_boxes(img, [box], [(255, 255, 255)], width=1))
        labels.append(f"anchor {k}: {aw:.1f}x{ah:.1f} cells, max {objectness[:, :, k].max():.3f}")
    body = pic.grid(panels, labels, cols=3)
    page.image(
        "objectness.png",
        pic.stack([body, pic.colour_bar(scale, 320, marks=(options.score_threshold,))]),
        f"Objectness of each anchor in each cell. Colour: {scale.describe()}; the mark on the "
        f"bar is score_threshold = {options.score_threshold}.",
    )

    height, width = image.shape[:2]
    boxes, scores = decode_grid(grid, *reshaped_size(width, height, size), options.score_threshold)
    keep = nms(boxes * size, scores, IOU_THRESHOLD)
    shown = pic.fit(pic.to_pil(image), SHOWN_SIDE)
    sx, sy = shown.width, shown.height
    xyxy = np.c_[boxes[:, :2], boxes[:, :2] + boxes[:, 2:]] * [sx, sy, sx, sy]
    sscale = pic.Scale(options.score_threshold, 1.0, "viridis")
    page.section(
        "before-nms",
        "Decoded boxes before non-maximum suppression",
        f"Every anchor scoring above score_threshold = {options.score_threshold} is decoded "
        f"into a box ({len(boxes)} boxes) and stretched to undo the square padding, so the "
        "boxes are drawn on the original image.",
    )
    img = pic.draw_boxes(shown, xyxy, sscale.colours(scores), width=1)
    page.image(
        "before-nms.png",
        pic.stack([img, pic.colour_bar(sscale, 320, label="box colour = score")]),
        f"{len(boxes)} decoded boxes. Colour: {sscale.describe()}.",
    )
    page.section(
        "after-nms",
        "Boxes after non-maximum suppression",
        f"Best box first, every box overlapping a kept one by IoU > {IOU_THRESHOLD} is "
        f"dropped: {len(keep)} boxes remain.",
    )
    labels = [f"#{k + 1} {scores[i]:.2f}" for k, i in enumerate(keep)]
    page.image(
        "after-nms.png",
        pic.draw_boxes(shown, xyxy[keep], [pic.PALETTE[2]] * len(keep), labels),
        f"The {len(keep)} faces found, with their scores.",
    )
    rows = [
        (
            k + 1,
            f"{scores[i]:.4f}",
            *(f"{v:.1f}" for v in boxes[i] * np.array([width, height, width, height])),
        )
        for k, i in enumerate(keep)
    ]
    page.para("The same boxes in the pixels of the original image:")
    page.table(("face", "score", "x", "y", "width", "height"), rows, numeric=(0, 1, 2, 3, 4, 5))
    return {"candidates": len(boxes), "faces": len(keep)}
