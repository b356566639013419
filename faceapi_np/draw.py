"""Draw results onto an image with Pillow (face-api.js ``src/draw/``).

``draw_detections`` draws each face box with its score, like ``faceapi.draw.drawDetections``
(blue boxes, line width 2, a filled label box above-left; lines and text grow on
images larger than 640 px so they stay visible). Unlike face-api.js, a label that would
leave the image or cover another face moves below or inside its box
(:func:`layout_labels`), MTCNN's five points are drawn, and match distances are printed
with the digits that keep them apart from the threshold (:func:`match_text`). Pillow is
imported inside the functions so that the rest of the library does not need it at
import time.
"""

from __future__ import annotations

import numpy as np

#: face-api.js ``DrawBox`` defaults: 'rgba(0, 0, 255, 1)', line width 2.
BOX_COLOR = (0, 0, 255)
LINE_WIDTH = 2
LABEL_BACKGROUND = (0, 0, 0)
LABEL_COLOR = (255, 255, 255)


def _to_pil(image):
    from PIL import Image

    from .image import load_image

    if isinstance(image, Image.Image):
        return image.convert("RGB")
    arr = load_image(image)
    return Image.fromarray(
        np.clip(np.round(arr), 0, 255).astype(np.uint8) if arr.dtype != np.uint8 else arr
    )


def _style(size):
    """Line width and label font for an image of ``size`` (width, height).

    face-api.js draws 2 px lines and 14 px text whatever the image size; on a 1920 px
    photo that is hard to see, so both grow with images larger than 640 px.
    """
    from PIL import ImageFont

    scale = max(1.0, max(size) / 640)
    try:
        font = ImageFont.load_default(size=round(14 * scale))
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font only
        font = ImageFont.load_default()
    return max(LINE_WIDTH, round(LINE_WIDTH * scale)), font


def _box_of(result):
    """The box of a FaceResult, a FaceDetection, or a Box itself."""
    det = getattr(result, "detection", result)
    return getattr(det, "box", det)


def _overlap(a, b) -> float:
    """Area shared by two ``(x0, y0, x1, y1)`` rectangles."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def layout_labels(boxes, sizes, image_size) -> list[tuple[float, float]]:
    """Top-left corner of each box's label: inside the image, clear of other faces.

    Each label tries, in order, the places face-api.js and most viewers use: above the
    box's left corner, below it, then inside its top-left corner; it is shifted left or
    right to stay in the image. The first place that covers no other face's box and no
    label already placed wins; when every place covers something, the one covering the
    least area does.

    Parameters
    ----------
    boxes : sequence of Box
        In image pixels.
    sizes : sequence of (width, height)
        Each label's size in pixels, background included.
    image_size : (width, height)

    Returns
    -------
    list of (x, y)
    """
    img_w, img_h = image_size
    rects = [(b.x, b.y, b.right, b.bottom) for b in boxes]
    placed, out = [], []
    for i, (box, (w, h)) in enumerate(zip(boxes, sizes)):
        x = min(max(box.x, 0.0), max(img_w - w, 0.0))
        tries = []
        if box.y - h >= 0:  # above: only where it fits, else it would cover its own face
            tries.append((x, box.y - h))
        if box.bottom + 1 + h <= img_h:  # the outline's last row is ``bottom`` itself
            tries.append((x, box.bottom + 1))
        tries.append((x, min(max(box.y, 0.0), max(img_h - h, 0.0))))  # inside, top-left
        others = rects[:i] + rects[i + 1 :] + placed

        def covered(xy, others=others, w=w, h=h):
            rect = (xy[0], xy[1], xy[0] + w, xy[1] + h)
            return sum(_overlap(rect, o) for o in others)

        best = min(tries, key=covered)  # min() keeps the first of equal candidates
        placed.append((best[0], best[1], best[0] + w, best[1] + h))
        out.append(best)
    return out


def _label_size(draw, text, font) -> tuple[int, int, int, int]:
    """(width, height, padding, text top offset) of a label with its background."""
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = max(3, (bottom - top) // 4)
    return right - left + 2 * pad, bottom - top + 2 * pad, pad, top


def draw_boxes_and_labels(
    draw, image_size, boxes, labels, color=BOX_COLOR, line_width=LINE_WIDTH, font=None
):
    """Draw every box, then every label (see :func:`layout_labels`) on an ``ImageDraw.Draw``.

    Labels come last so that no box line crosses a label; a label of ``None`` or ``""``
    is not drawn.
    """
    for box in boxes:
        draw.rectangle([box.x, box.y, box.right, box.bottom], outline=color, width=line_width)
    shown = [(b, t) for b, t in zip(boxes, labels) if t]
    sizes = [_label_size(draw, t, font) for _, t in shown]
    corners = layout_labels([b for b, _ in shown], [s[:2] for s in sizes], image_size)
    for (_, text), (w, h, pad, top), (x, y) in zip(shown, sizes, corners):
        draw.rectangle([x, y, x + w - 1, y + h - 1], fill=LABEL_BACKGROUND)
        draw.text((x + pad, y + pad - top), text, fill=LABEL_COLOR, font=font)


def match_text(match, threshold: float | None = None) -> str:
    """``"label (distance)"`` for a FaceMatch, the distance never reading as the threshold.

    face-api.js prints ``unknown (0.6)`` for a distance of 0.608 at threshold 0.6; here
    two decimals are shown, and more where two would read as the threshold
    (``unknown (0.608)``, ``ann (0.5996)``); see :func:`~faceapi_np.records.distance_text`.
    """
    from .matching import DEFAULT_THRESHOLD
    from .records import distance_text

    threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    return f"{match.label} ({distance_text(match.distance, threshold)})"


def draw_detections(image, detections, with_score: bool = True, with_points: bool = True):
    """A copy of ``image`` (any :func:`load_image` input) with the detections drawn on it.

    Parameters
    ----------
    image : path, bytes, PIL.Image or ndarray
    detections : iterable of FaceDetection (or results with a ``detection``)
    with_score : bool
        Write each score (two decimals) by its box, as face-api.js does.
    with_points : bool
        Also draw MTCNN's five points (eyes, nose, mouth corners) where a result has them.

    Returns
    -------
    PIL.Image.Image
    """
    from PIL import ImageDraw

    detections = list(detections)
    out = _to_pil(image).copy()
    draw = ImageDraw.Draw(out)
    width, font = _style(out.size)
    dets = [getattr(d, "detection", d) for d in detections]
    labels = [f"{d.score:.2f}" if with_score else None for d in dets]
    draw_boxes_and_labels(
        draw, out.size, [d.box for d in dets], labels, line_width=width, font=font
    )
    if with_points:
        _draw_points5(draw, detections, width)
    return out


def _draw_points5(draw, results, width) -> None:
    """MTCNN's five points of each result that has them (face-api.js ``FaceLandmarks5``)."""
    rad = max(1.5, width)
    for r in results:
        pts = getattr(r, "landmarks5", None)
        for x, y in [] if pts is None else np.asarray(pts, dtype=float).reshape(-1, 2):
            draw.ellipse([x - rad, y - rad, x + rad, y + rad], fill=LANDMARK_POINT_COLOR)


#: face-api.js ``DrawFaceLandmarksOptions`` defaults.
LANDMARK_LINE_COLOR = (0, 255, 255)
LANDMARK_POINT_COLOR = (255, 0, 255)
#: Groups drawn as polylines; eyes and lips are closed loops.
_OUTLINES = (
    ("jaw_outline", False),
    ("left_eye_brow", False),
    ("right_eye_brow", False),
    ("nose", False),
    ("left_eye", True),
    ("right_eye", True),
    ("mouth", True),
)


def draw_face_landmarks(image, results, draw_lines: bool = True, draw_points: bool = True):
    """A copy of ``image`` with each face's landmarks drawn (``faceapi.draw.drawFaceLandmarks``).

    ``results`` are FaceResults (or FaceLandmarks68 objects in image pixels): the 68
    landmarks as outlines and points, and MTCNN's five points where a result has them.
    """
    from PIL import ImageDraw

    out = _to_pil(image).copy()
    draw = ImageDraw.Draw(out)
    width, _ = _style(out.size)
    results = list(results)
    if draw_points:
        _draw_points5(draw, results, width)
    for r in results:
        lm = getattr(r, "landmarks", r)
        if lm is None:
            continue
        if draw_lines:
            for name, closed in _OUTLINES:
                pts = [tuple(p) for p in lm.group(name)]
                draw.line(
                    pts + pts[:1] if closed else pts,
                    fill=LANDMARK_LINE_COLOR,
                    width=max(1, width // 2),
                )
        if draw_points:
            rad = max(1.0, width / 2)
            for x, y in lm.positions:
                draw.ellipse([x - rad, y - rad, x + rad, y + rad], fill=LANDMARK_POINT_COLOR)
    return out


def draw_labels(image, results, labels, color=BOX_COLOR, threshold: float | None = None):
    """A copy of ``image`` with each face's box and its label, like face-api.js's ``DrawBox``.

    Labels are placed inside the image and clear of other faces where possible (see
    :func:`layout_labels`).

    Parameters
    ----------
    results : sequence of FaceResult / FaceDetection / Box
    labels : sequence of str or FaceMatch, one per result
        A FaceMatch is written by :func:`match_text`, its distance never reading as the
        threshold when it is not.
    threshold : float, optional
        The matcher's distance threshold (default 0.6), for FaceMatch labels.
    """
    from PIL import ImageDraw

    out = _to_pil(image).copy()
    draw = ImageDraw.Draw(out)
    width, font = _style(out.size)
    texts = [
        match_text(t, threshold) if hasattr(t, "distance") and hasattr(t, "label") else t
        for t in labels
    ]
    boxes = [_box_of(r) for r in results]
    draw_boxes_and_labels(draw, out.size, boxes, texts, color=color, line_width=width, font=font)
    return out
