"""MTCNN's image pyramid (``src/mtcnn/pyramidDown.ts``, ``getSizesForScale.ts``).

P-Net sees 12x12 windows, so a face of ``min_face_size`` pixels must be scaled by
``12 / min_face_size``; further levels shrink by ``scale_factor`` while the shorter side
stays at least 12. Levels whose size would be 12 or less are dropped, and at most
``max_num_scales`` are kept.
"""

from __future__ import annotations

import math

CELL_SIZE = 12  # P-Net's window
CELL_STRIDE = 2  # P-Net's output stride


def pyramid_down(min_face_size: float, scale_factor: float, height: int, width: int) -> list[float]:
    """Scales from ``12 / min_face_size`` down by ``scale_factor`` (``pyramidDown``)."""
    m = CELL_SIZE / min_face_size
    scales, min_layer, exp = [], min(height, width) * m, 0
    while min_layer >= 12:
        scales.append(m * math.pow(scale_factor, exp))
        min_layer *= scale_factor
        exp += 1
    return scales


def size_for_scale(scale: float, height: int, width: int) -> tuple[int, int]:
    """(height, width) of the image at ``scale``, floored (``getSizesForScale``)."""
    return math.floor(height * scale), math.floor(width * scale)


def select_scales(options, height: int, width: int) -> list[float]:
    """The pyramid levels MTCNN runs P-Net on (``Mtcnn.forwardInput``)."""
    scales = options.scale_steps or pyramid_down(
        options.min_face_size, options.scale_factor, height, width
    )
    kept = [s for s in scales if min(size_for_scale(s, height, width)) > CELL_SIZE]
    return kept[: options.max_num_scales]
