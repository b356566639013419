"""Explain MTCNN: an image pyramid and three cascaded nets, in pictures.

Follows ``Mtcnn.detect`` using its public stages (``mtcnn/stages.py``): the pyramid
(``select_scales``), P-Net's face probability on every level, and the boxes that survive
P-Net (stage 1), R-Net (stage 2) and O-Net (stage 3, with 5 points). Each of the three
nets also gets its layer table and per-layer pictures: P-Net on the largest pyramid
level, R-Net and O-Net on the patch of their best-scoring input box.
"""

from __future__ import annotations

import functools

import numpy as np

from ..errors import ImageError
from ..mtcnn import MtcnnOptions
from ..mtcnn.pyramid import select_scales, size_for_scale
from ..mtcnn.stages import PIXEL_MEAN, extract_patches, normalize, stage1, stage2, stage3
from ..nets import get_net
from ..ops import resize_bilinear
from . import pictures as pic
from .page import Page
from .walk import input_section, layer_sections, run_with_tap, summary_section

SHOWN_SIDE = 640
NORMALISATION = f"(x - {PIXEL_MEAN}) / 128, channels in BGR order, image transposed"


def _level(bgr: np.ndarray, scale: float) -> np.ndarray:
    """One pyramid level as P-Net receives it: resized, normalised, transposed (W', H', 3)."""
    h, w = size_for_scale(scale, *bgr.shape[:2])
    return normalize(resize_bilinear(bgr[None], h, w))[0].transpose(1, 0, 2)


def _unnormalise(x: np.ndarray) -> np.ndarray:
    """MTCNN input values back to 0..255, still BGR and transposed: what the net sees."""
    return x * 128.0 + PIXEL_MEAN


def _stage_boxes(page, name, boxes, scores, caption, points=None, *, shown, factor):
    """The boxes (and points) of one stage, drawn on the image shown at ``factor``."""
    xyxy = np.c_[boxes[:, :2], boxes[:, :2] + boxes[:, 2:]] * factor
    labels = [f"{s:.2f}" for s in scores] if len(boxes) <= 20 else ()
    img = pic.draw_boxes(shown, xyxy, [pic.PALETTE[2]] * len(boxes), labels, width=2)
    if points is not None and len(points):
        pts = np.asarray(points).reshape(-1, 2) * factor
        img = pic.draw_points(img, pts, [pic.PALETTE[0]] * len(pts), 2.5)
    page.image(name, img, caption)


def _net_walk(page, net, patch, bk, stage: str, what: str) -> None:
    """Layer table and per-layer pictures of one of the three nets on one input."""
    title = {"pnet": "P-Net", "rnet": "R-Net", "onet": "O-Net"}[stage] + " layer by layer"
    outputs, summary, _ = run_with_tap(net, bk.asarray(patch), bk, stage=stage)
    summary_section(page, summary, anchor=f"{stage}-table")
    layer_sections(page, outputs, summary, anchor=f"{stage}-layers", title=title, what=what)


def explain_mtcnn(page: Page, image, bk, options: MtcnnOptions | None = None) -> dict:
    """Add the MTCNN sections to ``page`` for one RGB image; returns the survivors' counts."""
    options = options or MtcnnOptions()
    net = get_net("mtcnn")
    p = net.params_on(bk)
    height, width = image.shape[:2]
    scales = select_scales(options, height, width)
    if not scales:
        raise ImageError(
            f"image is {width}x{height}: too small for a pyramid with min_face_size="
            f"{options.min_face_size}"
        )
    bgr = image[:, :, ::-1].astype(np.float32)
    levels = [_level(bgr, s) for s in scales]
    input_section(
        page,
        np.clip(_unnormalise(levels[0]), 0, 255),
        levels[0],
        NORMALISATION,
        title="The input as P-Net sees it (the largest pyramid level)",
        channels=("B", "G", "R"),
    )
    page.para(
        "MTCNN reverses the channels to BGR and transposes the image (rows become columns), "
        "as face-api.js does, so this level looks mirrored along its diagonal and "
        "colour-swapped: that is exactly what P-Net receives. Channel 0 is blue."
    )
    labels = [f"{s:.3f}: {lv.shape[0]}x{lv.shape[1]}" for s, lv in zip(scales, levels)]
    _pyramid_section(page, levels, labels, options)
    _pnet_section(page, net, levels, labels, bk, options.score_thresholds[0])

    shown = pic.fit(pic.to_pil(image), SHOWN_SIDE)
    draw = functools.partial(_stage_boxes, page, shown=shown, factor=shown.width / width)
    t1, t2, t3 = options.score_thresholds
    stats: dict = {}  # the stages' face-api.js-style statistics, unused here
    boxes1, scores1 = stage1(bgr, scales, t1, p.pnet, bk, stats)
    draw("stage1.png", boxes1, scores1, f"{len(boxes1)} boxes survive P-Net (squared, corrected).")
    counts = {"stage1": len(boxes1), "stage2": 0, "stage3": 0}
    _net_walk(page, net, levels[0][None], bk, "pnet", "the largest pyramid level")
    if not len(boxes1):
        page.para("P-Net found nothing, so R-Net and O-Net have no input.")
        return counts

    patches = extract_patches(image, boxes1, 24)
    boxes2, scores2 = stage2(image, boxes1, t2, p.rnet, bk, stats)
    counts["stage2"] = len(boxes2)
    page.section(
        "rnet",
        "R-Net: refining the candidates",
        f"Each stage-1 box is cut out, resized to 24x24 and given to R-Net, which scores it "
        f"again (kept above {t2}), NMS (IoU 0.7) and a finer correction: "
        f"{len(boxes1)} boxes in, {len(boxes2)} out.",
    )
    tiles = [pic.fit(pic.to_pil(np.clip(_unnormalise(x), 0, 255)), 48, False) for x in patches]
    page.image(
        "rnet-patches.png",
        pic.grid(tiles[:24], cols=12),
        "The first 24x24 patches as R-Net sees them (transposed, BGR), enlarged.",
    )
    draw("stage2.png", boxes2, scores2, f"{len(boxes2)} boxes survive R-Net.")
    best = int(np.argmax(scores1))
    _net_walk(page, net, patches[best : best + 1], bk, "rnet", "the patch of the best stage-1 box")
    if not len(boxes2):
        return counts

    patches = extract_patches(image, boxes2, 48)
    boxes3, scores3, points = stage3(image, boxes2, t3, p.onet, bk, stats)
    counts["stage3"] = len(boxes3)
    page.section(
        "onet",
        "O-Net: final boxes and 5 points",
        f"The stage-2 boxes are cut at 48x48; O-Net scores them (kept above {t3}), corrects "
        "them, runs NMS (IoU 0.7 over the smaller area) and places 5 points: eyes, nose and "
        f"mouth corners. {len(boxes2)} boxes in, {len(boxes3)} faces out.",
    )
    draw("stage3.png", boxes3, scores3, f"The {len(boxes3)} faces with their 5 points.", points)
    best = int(np.argmax(scores2))
    _net_walk(page, net, patches[best : best + 1], bk, "onet", "the patch of the best stage-2 box")
    return counts


def _upright(level: np.ndarray):
    """A pyramid level as a picture for the eye: untransposed, RGB, 0..255."""
    return pic.to_pil(np.clip(_unnormalise(level.transpose(1, 0, 2)[:, :, ::-1]), 0, 255))


def _pyramid_section(page, levels, labels, options) -> None:
    page.section(
        "pyramid",
        "The image pyramid",
        f"P-Net looks at 12x12 windows, so the image is scaled by 12 / min_face_size = "
        f"12 / {options.min_face_size} first and then by {options.scale_factor} per level, "
        f"while the shorter side stays above 12: {len(levels)} levels.",
    )
    thumbs = [_upright(lv) for lv in levels]
    top = max(t.width for t in thumbs)
    thumbs = [pic.fit(t, max(16, round(max(t.size) * 320 / top))) for t in thumbs]
    page.image(
        "pyramid.png",
        pic.grid(thumbs, labels, cols=min(4, len(thumbs))),
        "Each level (scale: width x height), drawn at sizes proportional to each other, "
        "upright and in RGB for the eye.",
    )


def _pnet_section(page, net, levels, labels, bk, threshold: float) -> None:
    scale = pic.Scale(0.0, 1.0, "viridis")
    maps = []
    for lv in levels:
        prob, _ = net.forward(bk.asarray(np.ascontiguousarray(lv[None])), bk, stage="pnet")
        prob = np.asarray(bk.to_numpy(prob))[0].T  # (h, w): back to image rows
        w = min(256, max(prob.shape[1] * 4, 64))
        size = (w, max(1, round(w * prob.shape[0] / prob.shape[1])))
        maps.append(pic.heatmap(prob, scale, size, _upright(lv).resize(size), 0.7))
    page.section(
        "pnet",
        "P-Net: face probability on every level",
        "P-Net is fully convolutional: on each level it outputs, for every 12x12 window "
        f"(stride 2), a face probability and a box correction. Windows scoring at least "
        f"{threshold} become boxes in the image; NMS runs per level (IoU 0.5) and over all "
        "levels (IoU 0.7).",
    )
    body = pic.grid(maps, labels, cols=min(4, len(maps)))
    page.image(
        "pnet-probability.png",
        pic.stack([body, pic.colour_bar(scale, 320, marks=(threshold,))]),
        f"Face probability per window, over each level. Colour: {scale.describe()}; the mark "
        f"is the stage-1 threshold {threshold}.",
    )
