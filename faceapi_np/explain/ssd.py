"""Explain SSD MobileNetV1: from 512x512 pixels to face boxes, in pictures.

Follows ``SsdMobilenetv1.forward`` and ``locate_faces``: the backbone and the extra
feature maps (one mosaic per layer), then for each of the six feature maps the anchors
it predicts for and its face scores, then all 5118 decoded boxes: the candidates above
``min_confidence`` and the few that survive non-maximum suppression (``ops.nms_ssd``).
"""

from __future__ import annotations

import numpy as np

from ..image import reshaped_size, to_batch
from ..nets import get_net
from ..ops import nms_ssd
from ..ssd_mobilenetv1 import SsdMobilenetv1Options
from ..ssd_mobilenetv1.const import INPUT_SCALE, INPUT_SIZE, IOU_THRESHOLD
from . import pictures as pic
from .page import Page
from .walk import input_section, layer_sections, run_with_tap, summary_section

PANEL = 256  # side of each per-level panel, pixels


def feature_levels(outputs: dict) -> list[tuple[int, int, int]]:
    """(rows, columns, anchors per cell) of each box predictor, read from its class logits
    ``(N, H, W, anchors * 3)``: the order in which the 5118 anchors are concatenated."""
    levels, i = [], 0
    while f"prediction_layer/box_predictor_{i}/class_predictor" in outputs:
        _, h, w, c = outputs[f"prediction_layer/box_predictor_{i}/class_predictor"].shape
        levels.append((h, w, c // 3))
        i += 1
    return levels


def _level_slices(levels):
    start = 0
    for h, w, a in levels:
        yield slice(start, start + h * w * a)
        start += h * w * a


def _to_pixels(boxes, side: float) -> np.ndarray:
    """Relative (y_min, x_min, y_max, x_max) -> (x0, y0, x1, y1) in a square of ``side``."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    return np.stack([b[:, 1], b[:, 0], b[:, 3], b[:, 2]], axis=1) * side


def explain_ssd(page: Page, image, bk, options: SsdMobilenetv1Options | None = None) -> dict:
    """Add the SSD sections to ``page`` for one RGB image; returns counts for the caller."""
    options = options or SsdMobilenetv1Options()
    net = get_net("ssd")
    batch = to_batch([image], INPUT_SIZE, center=False, bk=bk)
    seen = np.asarray(bk.to_numpy(batch))[0]
    outputs, summary, _ = run_with_tap(net, batch, bk)
    boxes = outputs["output_layer/boxes"][0].astype(np.float64)  # (5118, 4) relative
    scores = outputs["output_layer/scores"][0].astype(np.float64)  # (5118,)
    anchors = np.asarray(bk.to_numpy(net.params.output_layer.extra_dim)).reshape(-1, 4)
    levels = feature_levels(outputs)

    input_section(
        page,
        seen,
        seen * np.float32(INPUT_SCALE) - np.float32(1),
        "x * 2/255 - 1, so every channel lies in [-1, 1]",
    )
    summary_section(page, summary)
    layer_sections(page, outputs, summary)
    under = pic.to_pil(seen).resize((PANEL, PANEL))
    _anchors_section(page, under, levels, anchors, scores)
    _heatmaps_section(page, under, levels, scores, options.min_confidence)
    keep = nms_ssd(boxes, scores, options.max_results, IOU_THRESHOLD, options.min_confidence)
    candidates = _nms_sections(page, pic.to_pil(seen), boxes, scores, anchors, keep, options)
    _faces_table(page, image.shape[:2], boxes, scores, keep)
    return {"candidates": candidates, "faces": len(keep)}


def _anchors_section(page, under, levels, anchors, scores) -> None:
    page.section(
        "anchors",
        "Anchors of each feature map",
        f"SSD predicts from {len(levels)} feature maps. Every cell of a map owns a few "
        "anchor boxes (fixed default boxes that ship in the weights as "
        "`Output/extra_dim`); the net only predicts, per anchor, a face score and a small "
        f"correction of the anchor. In all {len(anchors)} anchors. Dots: the centre of every "
        "cell; rectangles: the anchors of the cell whose best score is highest.",
    )
    panels, labels = [], []
    darker = under.point(lambda v: v // 2)
    for (h, w, a), sl in zip(levels, _level_slices(levels)):
        lvl_scores = scores[sl].reshape(h, w, a)
        lvl_anchors = anchors[sl].reshape(h, w, a, 4)
        r, c = np.unravel_index(np.argmax(lvl_scores.max(axis=2)), (h, w))
        # anchor centres, (y, x) -> (x, y), relative -> panel pixels
        centres = (lvl_anchors[..., :2] + lvl_anchors[..., 2:]).reshape(-1, 4)[:, [1, 0]] / 2
        img = pic.draw_points(darker, centres * PANEL, [(255, 255, 255)] * len(centres), 1)
        colours = [pic.PALETTE[k % len(pic.PALETTE)] for k in range(a)]
        panels.append(pic.draw_boxes(img, _to_pixels(lvl_anchors[r, c], PANEL), colours, width=1))
        labels.append(f"map {h}x{w}, {a} anchors/cell, {h * w * a} in all")
    page.image(
        "anchors.png",
        pic.grid(panels, labels, cols=3),
        "One panel per feature map, finest first; drawn over the input (darkened). Small "
        "cells on the fine maps look for small faces, the coarse maps for large ones.",
    )


def _heatmaps_section(page, under, levels, scores, min_confidence: float) -> None:
    page.section(
        "heatmaps",
        "Face scores per feature map",
        "Each anchor's score is the sigmoid of its face logit. Per cell the best of its "
        "anchors is shown, blended over the input.",
    )
    scale = pic.Scale(0.0, 1.0, "viridis")
    panels, labels = [], []
    for (h, w, a), sl in zip(levels, _level_slices(levels)):
        best = scores[sl].reshape(h, w, a).max(axis=2)
        panels.append(pic.heatmap(best, scale, (PANEL, PANEL), under, 0.7))
        labels.append(f"map {h}x{w}: max {best.max():.3f}")
    body = pic.grid(panels, labels, cols=3)
    page.image(
        "heatmaps.png",
        pic.stack([body, pic.colour_bar(scale, 320, marks=(min_confidence,))]),
        f"Best face score per cell of each feature map. Colour: {scale.describe()}; the mark "
        f"on the bar is min_confidence = {min_confidence}.",
    )


def _nms_sections(page, big, boxes, scores, anchors, keep, options) -> int:
    """The candidates above min_confidence, then the kept boxes; returns the candidates."""
    cand = np.nonzero(scores > options.min_confidence)[0]
    sscale = pic.Scale(options.min_confidence, 1.0, "viridis")
    page.section(
        "before-nms",
        "Candidates before non-maximum suppression",
        f"Every anchor's correction is decoded into a box; {len(cand)} boxes score above "
        f"min_confidence = {options.min_confidence}. Overlapping boxes around one face are "
        "the rule: neighbouring anchors all see the same face.",
    )
    colours = sscale.colours(scores[cand])
    img = pic.draw_boxes(big, _to_pixels(boxes[cand], INPUT_SIZE), colours, width=1)
    page.image(
        "before-nms.png",
        pic.stack([img, pic.colour_bar(sscale, 320, label="box colour = score")]),
        f"{len(cand)} candidate boxes on the 512x512 input. Colour: {sscale.describe()}.",
    )
    page.section(
        "after-nms",
        "Boxes after non-maximum suppression",
        f"NMS takes the best box, drops every remaining box overlapping it by IoU > "
        f"{IOU_THRESHOLD}, and repeats: {len(keep)} boxes remain. Thin grey: the anchor each "
        "kept box was decoded from.",
    )
    grey = [(170, 170, 170)] * len(keep)
    img = pic.draw_boxes(big, _to_pixels(anchors[keep], INPUT_SIZE), grey, width=1)
    labels = [f"#{k + 1} {scores[i]:.2f}" for k, i in enumerate(keep)]
    blue = [pic.PALETTE[2]] * len(keep)
    img = pic.draw_boxes(img, _to_pixels(boxes[keep], INPUT_SIZE), blue, labels)
    page.image("after-nms.png", img, f"The {len(keep)} faces found, with their scores.")
    return len(cand)


def _faces_table(page, image_shape, boxes, scores, keep) -> None:
    """The kept boxes in the image's pixels, as ``locate_faces`` makes them: clipped to
    the square, then scaled from the padded square back to the image."""
    height, width = image_shape
    rw, rh = reshaped_size(width, height, INPUT_SIZE)
    to_image = np.array([INPUT_SIZE / rh * height, INPUT_SIZE / rw * width] * 2)
    rows = []
    for k, i in enumerate(keep):
        y0, x0, y1, x1 = np.clip(boxes[i], 0.0, 1.0) * to_image
        cells = (scores[i], x0, y0, x1 - x0, y1 - y0)
        rows.append((k + 1, *(f"{v:.4f}" if j == 0 else f"{v:.1f}" for j, v in enumerate(cells))))
    page.para(
        "The same boxes in the pixels of the original image (clipped to the square, the "
        "padding undone):"
    )
    page.table(("face", "score", "x", "y", "width", "height"), rows, numeric=(0, 1, 2, 3, 4, 5))
