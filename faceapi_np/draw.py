"""Draw results onto an image with Pillow (face-api.js ``src/draw/``).

``draw_detections`` draws each face box with its score, like ``faceapi.draw.drawDetections``
(blue boxes, line width 2, a filled label box above-left; lines and text grow on
images larger than 640 px so they stay visible). Pillow is imported inside the
functions so that the rest of the library does not need it at import time.
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


def draw_box(
    draw,
    box,
    label: str | None = None,
    color=BOX_COLOR,
    line_width: int = LINE_WIDTH,
    font=None,
):
    """Draw one box (and an optional label above it) with an ``ImageDraw.Draw``."""
    x0, y0 = box.x, box.y
    draw.rectangle([x0, y0, box.right, box.bottom], outline=color, width=line_width)
    if label:
        left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
        tw, th = right - left, bottom - top
        pad = max(3, th // 4)
        ty = max(0, y0 - th - 2 * pad)
        draw.rectangle([x0, ty, x0 + tw + 2 * pad, ty + th + 2 * pad], fill=LABEL_BACKGROUND)
        draw.text((x0 + pad, ty + pad - top), label, fill=LABEL_COLOR, font=font)


def draw_detections(image, detections, with_score: bool = True):
    """A copy of ``image`` (any :func:`load_image` input) with the detections drawn on it.

    Parameters
    ----------
    image : path, bytes, PIL.Image or ndarray
    detections : iterable of FaceDetection (or results with a ``detection``)
    with_score : bool
        Write each score (two decimals) above its box, as face-api.js does.

    Returns
    -------
    PIL.Image.Image
    """
    from PIL import ImageDraw

    out = _to_pil(image).copy()
    draw = ImageDraw.Draw(out)
    width, font = _style(out.size)
    for det in detections:
        det = getattr(det, "detection", det)
        draw_box(
            draw,
            det.box,
            f"{det.score:.2f}" if with_score else None,
            line_width=width,
            font=font,
        )
    return out


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
    """A copy of ``image`` with each face's 68 landmarks drawn (``faceapi.draw.drawFaceLandmarks``).

    ``results`` are FaceResults (or FaceLandmarks68 objects in image pixels).
    """
    from PIL import ImageDraw

    out = _to_pil(image).copy()
    draw = ImageDraw.Draw(out)
    width, _ = _style(out.size)
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


def draw_labels(image, results, labels, color=BOX_COLOR):
    """A copy of ``image`` with each face's box and its label, like face-api.js's ``DrawBox``.

    Parameters
    ----------
    results : sequence of FaceResult / FaceDetection
    labels : sequence of str, one per result (e.g. ``str(face_match)``)
    """
    from PIL import ImageDraw

    out = _to_pil(image).copy()
    draw = ImageDraw.Draw(out)
    width, font = _style(out.size)
    for r, label in zip(results, labels):
        det = getattr(r, "detection", r)
        draw_box(draw, det.box, label, color=color, line_width=width, font=font)
    return out
