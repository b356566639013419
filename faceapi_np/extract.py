"""Cut face crops out of an image, exactly as face-api.js cuts them.

Mirrors ``src/dom/extractFaceTensors.ts``: a detection is first re-expressed for the
image's size (``forSize``), a box is clipped to the image (``clipAtImageBorders``: corner
clamped at 0, far edges at the image size) and floored, then the pixels are sliced.
Beyond face-api.js, :func:`rotated_face_crop` also undoes the face's in-plane rotation.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import InputError
from .image import load_image
from .results import Box, FaceDetection


def clip_box(box: Box, width: int, height: int) -> Box:
    """``Box.clipAtImageBorders``: clamp to the image, then floor every coordinate."""
    x, y = max(box.x, 0.0), max(box.y, 0.0)
    w = min(box.right - x, width - x)
    h = min(box.bottom - y, height - y)
    return Box(math.floor(x), math.floor(y), math.floor(w), math.floor(h))


def face_region(image_size, face) -> Box:
    """Integer pixel region face-api.js slices for ``face`` (a FaceDetection, result or Box)."""
    width, height = image_size
    face = getattr(face, "detection", face)
    if isinstance(face, FaceDetection):
        face = face.for_size(width, height).box
    if not isinstance(face, Box):
        raise InputError(
            f"cannot cut a face out of a {type(face).__name__}: expected a FaceDetection, "
            "a result with a detection, or a Box"
        )
    try:
        finite = all(math.isfinite(v) for v in (face.x, face.y, face.width, face.height))
    except TypeError:  # a Box built by hand from strings or None
        finite = False
    if not finite:
        raise InputError(f"face box {face} needs finite numbers as coordinates")
    region = clip_box(face, width, height)
    if region.width <= 0 or region.height <= 0:
        raise InputError(
            f"face box (x={face.x:.1f}, y={face.y:.1f}, w={face.width:.1f}, h={face.height:.1f}) "
            f"lies outside the {width}x{height} image"
        )
    return region


def crop_face(image: np.ndarray, face) -> np.ndarray:
    """The pixels face-api.js slices out of ``image`` for ``face`` (see :func:`face_region`)."""
    r = face_region((image.shape[1], image.shape[0]), face)
    return image[r.y : r.y + r.height, r.x : r.x + r.width]


def extract_face_tensors(image, faces) -> list[np.ndarray]:
    """Face crops as arrays (H_i, W_i, 3), one per detection, result or Box.

    Parameters
    ----------
    image : anything :func:`~faceapi_np.image.load_image` accepts
    faces : iterable of FaceDetection, results with a ``detection``, or Box (pixels)
    """
    img = load_image(image)
    if isinstance(faces, (Box, FaceDetection)) or hasattr(faces, "detection"):
        faces = [faces]  # one face given alone
    try:
        faces = list(faces)
    except TypeError:
        raise InputError(
            f"faces must be a list of detections or boxes, got {type(faces).__name__}"
        ) from None
    return [crop_face(img, face) for face in faces]


def extract_faces(image, faces) -> list:
    """Face crops as PIL images (face-api.js ``extractFaces``)."""
    from PIL import Image

    return [Image.fromarray(_to_uint8(c)) for c in extract_face_tensors(image, faces)]


def _to_uint8(a: np.ndarray) -> np.ndarray:
    return a if a.dtype == np.uint8 else np.clip(np.round(a), 0, 255).astype(np.uint8)


def rotated_face_crop(image: np.ndarray, box: Box, angle: float) -> np.ndarray:
    """The square ``box`` of ``image`` after rotating the image by ``-angle`` about its centre.

    Used by the similarity alignment: ``box`` is the dlib-style box, ``angle`` the face's
    roll (eye line), so the eyes come out level. Bilinear sampling, zeros outside the
    image; the result is float32 (H, W, 3) with values 0..255.
    """
    size_w, size_h = int(box.width), int(box.height)
    cx, cy = box.x + box.width / 2, box.y + box.height / 2
    v, u = np.mgrid[0:size_h, 0:size_w].astype(np.float64)
    du, dv = (
        u + 0.5 - size_w / 2,
        v + 0.5 - size_h / 2,
    )  # pixel centres about the box centre
    c, s = math.cos(angle), math.sin(angle)
    sx = cx + c * du - s * dv - 0.5
    sy = cy + s * du + c * dv - 0.5
    h, w = image.shape[:2]
    x0, y0 = np.floor(sx).astype(np.int64), np.floor(sy).astype(np.int64)
    fx, fy = (sx - x0)[..., None], (sy - y0)[..., None]
    src = np.pad(image.astype(np.float32), ((1, 1), (1, 1), (0, 0)))  # zero border
    x0c, y0c = np.clip(x0 + 1, 0, w + 1), np.clip(y0 + 1, 0, h + 1)
    x1c, y1c = np.clip(x0 + 2, 0, w + 1), np.clip(y0 + 2, 0, h + 1)
    top = src[y0c, x0c] * (1 - fx) + src[y0c, x1c] * fx
    bot = src[y1c, x0c] * (1 - fx) + src[y1c, x1c] * fx
    return (top * (1 - fy) + bot * fy).astype(np.float32)
