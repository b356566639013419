"""MTCNN's three stages (``src/mtcnn/stage1.ts``, ``stage2.ts``, ``stage3.ts``).

Boxes are float64 arrays of rows ``(x, y, width, height)`` — face-api.js's ``Box`` —
and every rounding, squaring and calibration follows face-api.js, including:

* P-Net runs on each pyramid level of the *transposed* BGR image, so its output rows
  are image columns;
* stage 1 keeps cells with ``score >= threshold``, stages 2 and 3 ``score > threshold``;
* stage 3's NMS divides by the smaller area ('Min'), and face-api.js takes each face's 5
  points from the O-Net output at the face's index *among the survivors of the
  threshold*, but reads that output in the unfiltered list — the same reading is done
  here (:func:`stage3`), so points agree with face-api.js whenever no box was dropped
  before a kept one, and reproduce its mix-up when one was.

R-Net and O-Net patches are cut and resampled as the reference tool's canvas stand-in
does (:func:`extract_patches`); all patches of a stage go through their net as one batch.
"""

from __future__ import annotations

import numpy as np

from ..ops import js_round, nms, resize_bilinear
from .onet import onet
from .pnet import pnet
from .pyramid import CELL_SIZE, CELL_STRIDE, size_for_scale
from .rnet import rnet

#: ``src/mtcnn/normalize.ts``: (x - 127.5) * 0.0078125 (= 1/128)
PIXEL_MEAN = 127.5
PIXEL_SCALE = 0.0078125


def to_square_and_round(left, top, right, bottom) -> np.ndarray:
    """``BoundingBox(l, t, r, b).toSquare().round()`` for arrays of boxes -> (K, 4) x, y, w, h."""
    x, y = np.array(left, np.float64), np.array(top, np.float64)
    w, h = np.asarray(right, np.float64) - x, np.asarray(bottom, np.float64) - y
    diff = np.abs(w - h)
    wide, tall = h < w, w < h
    x = np.where(tall, x - diff / 2, x)
    w = np.where(tall, w + diff, w)
    y = np.where(wide, y - diff / 2, y)
    h = np.where(wide, h + diff, h)
    return np.stack([js_round(x), js_round(y), js_round(w), js_round(h)], axis=1).reshape(-1, 4)


def calibrate(boxes, regions) -> np.ndarray:
    """``Box.calibrate``: move each edge by its regression times the box size, square, round."""
    x, y, w, h = boxes.T
    r = np.asarray(regions, np.float64).reshape(-1, 4)
    return to_square_and_round(
        x + r[:, 0] * w, y + r[:, 1] * h, (x + w) + r[:, 2] * w, (y + h) + r[:, 3] * h
    )


def normalize(x):
    """Pixels to MTCNN's input range, in float32 as face-api.js (exact: 1/128 is a power of 2)."""
    return (x - np.float32(PIXEL_MEAN)) * np.float32(PIXEL_SCALE)


def stage1(bgr, scales, threshold: float, params, bk, stats: dict):
    """P-Net on every pyramid level, NMS per level (IoU 0.5) and over all (IoU 0.7).

    Parameters
    ----------
    bgr : ndarray (H, W, 3) float32, the image with channels reversed

    Returns
    -------
    boxes : (K, 4) squared, rounded, regressed boxes; scores : (K,)
    """
    height, width = bgr.shape[:2]
    all_cells, all_scores, all_regions = [], [], []
    stats["stage1"] = []
    for scale in scales:
        h, w = size_for_scale(scale, height, width)
        level = normalize(resize_bilinear(bgr[None], h, w)).transpose(0, 2, 1, 3)  # (1, w, h, 3)
        prob, regions = pnet(bk.asarray(np.ascontiguousarray(level)), params, bk)
        prob, regions = (
            bk.to_numpy(prob)[0],
            bk.to_numpy(regions)[0],
        )  # rows: image x, cols: image y
        ys, xs = np.nonzero(prob >= threshold)
        entry = {"scale": scale}  # face-api.js adds numBoxes only for levels with boxes
        stats["stage1"].append(entry)
        if not len(ys):
            continue
        cells = np.stack(
            [
                js_round((ys * CELL_STRIDE + 1) / scale),
                js_round((xs * CELL_STRIDE + 1) / scale),
                js_round((ys * CELL_STRIDE + CELL_SIZE) / scale),
                js_round((xs * CELL_STRIDE + CELL_SIZE) / scale),
            ],
            axis=1,
        )  # left, top, right, bottom
        scores = prob[ys, xs].astype(np.float64)
        keep = nms(np.c_[cells[:, :2], cells[:, 2:] - cells[:, :2]], scores, 0.5)
        entry["numBoxes"] = len(keep)
        all_cells.append(cells[keep])
        all_scores.append(scores[keep])
        all_regions.append(regions[ys, xs].astype(np.float64)[keep])
    if not all_cells:
        return np.zeros((0, 4)), np.zeros(0)
    cells, scores, regions = (
        np.concatenate(all_cells),
        np.concatenate(all_scores),
        np.concatenate(all_regions),
    )
    keep = nms(np.c_[cells[:, :2], cells[:, 2:] - cells[:, :2]], scores, 0.7)
    cells, regions = cells[keep], regions[keep]
    cw, ch = cells[:, 2] - cells[:, 0], cells[:, 3] - cells[:, 1]
    boxes = to_square_and_round(
        cells[:, 0] + regions[:, 0] * cw,
        cells[:, 1] + regions[:, 1] * ch,
        cells[:, 2] + regions[:, 2] * cw,
        cells[:, 3] + regions[:, 3] * ch,
    )
    return boxes, scores[keep]


def extract_patches(rgb: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """Patches of ``boxes`` resampled to ``size`` x ``size``, as MTCNN's nets take them.

    face-api.js ``extractImagePatches`` with the reference tool's canvas stand-in: the box
    is clamped by ``Box.padAtBorders``, its pixels (zero outside the image) are resampled
    bilinearly with half-pixel centres and edge clamping, rounded to integers, put in BGR
    order, transposed and normalised.

    Returns
    -------
    ndarray (K, size, size, 3) float32
    """
    height, width = rgb.shape[:2]
    out = np.empty((len(boxes), size, size, 3), np.float32)
    for k, (x, y, w, h) in enumerate(np.asarray(boxes, np.float64)):
        left, top = max(x, 1.0), max(y, 1.0)  # padAtBorders
        right, bottom = min(x + w, float(width)), min(y + h, float(height))
        fx0, fy0 = int(round(left - 1)), int(round(top - 1))
        sw, sh = int(round(right - (left - 1))), int(round(bottom - (top - 1)))
        region = np.zeros((max(sh, 1), max(sw, 1), 3), np.float64)
        ys = slice(max(fy0, 0), min(fy0 + sh, height))
        xs = slice(max(fx0, 0), min(fx0 + sw, width))
        region[ys.start - fy0 : ys.stop - fy0, xs.start - fx0 : xs.stop - fx0] = rgb[ys, xs]
        patch = _canvas_resize(region, size)
        out[k] = normalize(patch[:, :, ::-1].transpose(1, 0, 2).astype(np.float32))
    return out


def _canvas_resize(src: np.ndarray, size: int) -> np.ndarray:
    """The canvas stand-in's ``drawImage`` scaling: bilinear, half-pixel centres, clamped, rounded."""
    sh, sw = src.shape[:2]

    def axis(n_src):
        f = (np.arange(size) + 0.5) * (n_src / size) - 0.5
        f = np.clip(f, 0, n_src - 1)
        i0 = np.floor(f).astype(np.int64)
        return np.clip(i0, 0, n_src - 1), np.clip(i0 + 1, 0, n_src - 1), (f - i0)

    ya, yb, wy = axis(sh)
    xa, xb, wx = axis(sw)
    wx, wy = wx[None, :, None], wy[:, None, None]
    top = src[ya][:, xa] * (1 - wx) + src[ya][:, xb] * wx
    bot = src[yb][:, xa] * (1 - wx) + src[yb][:, xb] * wx
    return np.floor(top * (1 - wy) + bot * wy + 0.5)


def stage2(rgb, boxes, threshold: float, params, bk, stats: dict):
    """R-Net on 24x24 patches of the stage-1 boxes; threshold, NMS (IoU 0.7), calibrate."""
    stats["stage2_numInputBoxes"] = len(boxes)
    prob, regions = rnet(bk.asarray(extract_patches(rgb, boxes, 24)), params, bk)
    prob, regions = bk.to_numpy(prob).astype(np.float64), bk.to_numpy(regions)
    idx = np.nonzero(prob > threshold)[0]
    if not len(idx):
        return np.zeros((0, 4)), np.zeros(0)
    keep = nms(boxes[idx], prob[idx], 0.7)
    return calibrate(boxes[idx][keep], regions[idx[keep]]), prob[idx][keep]


def stage3(rgb, boxes, threshold: float, params, bk, stats: dict):
    """O-Net on 48x48 patches; threshold, calibrate, NMS ('Min', 0.7); 5 points per face."""
    stats["stage3_numInputBoxes"] = len(boxes)
    prob, regions, points = onet(bk.asarray(extract_patches(rgb, boxes, 48)), params, bk)
    prob = bk.to_numpy(prob).astype(np.float64)
    regions, points = bk.to_numpy(regions), bk.to_numpy(points).astype(np.float64)
    idx = np.nonzero(prob > threshold)[0]
    if not len(idx):
        return np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2))
    calibrated = calibrate(boxes[idx], regions[idx])
    keep = nms(calibrated, prob[idx], 0.7, use_iou=False)
    final = calibrated[keep]
    # face-api.js reads points at the index among the filtered boxes, from the unfiltered outputs
    pts = points[keep]
    xs = pts[:, :5] * (final[:, 2:3] + 1) + final[:, 0:1]
    ys = pts[:, 5:] * (final[:, 3:4] + 1) + final[:, 1:2]
    return final, prob[idx][keep], np.stack([xs, ys], axis=2)
