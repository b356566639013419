"""MTCNN's image pyramid (``src/mtcnn/pyramidDown.ts``, ``getSizesForScale.ts``).

P-Net sees 12x12 windows, so a face of ``min_face_size`` pixels must be scaled by
``12 / min_face_size``; further levels shrink by ``scale_factor`` while the shorter side
stays at least 12. Levels whose size would be 12 or less are dropped, and at most
``max_num_scales`` are kept.

Beyond face-api.js, the pyramid is bounded: scales are generated only as far as they can
be kept (a ``scale_factor`` a hair below 1 would otherwise loop for ever), and the pixels
of all kept levels together must stay within the limit ``max_pyramid_pixels`` (a
``min_face_size`` of 1 on a photo would otherwise ask for gigabytes).
"""

from __future__ import annotations

import math

from .. import limits
from ..errors import OptionsError

CELL_SIZE = 12  # P-Net's window
CELL_STRIDE = 2  # P-Net's output stride


def pyramid_down(
    min_face_size: float, scale_factor: float, height: int, width: int, max_count: int = 10**6
) -> list[float]:
    """Scales from ``12 / min_face_size`` down by ``scale_factor`` (``pyramidDown``).

    At most ``max_count`` scales, the largest first: the levels are only ever used from
    the top, so generating more would be wasted work.
    """
    m = CELL_SIZE / min_face_size
    scales, min_layer, exp = [], min(height, width) * m, 0
    while min_layer >= 12 and len(scales) < max_count:
        scales.append(m * math.pow(scale_factor, exp))
        min_layer *= scale_factor
        exp += 1
    return scales


def size_for_scale(scale: float, height: int, width: int) -> tuple[int, int]:
    """(height, width) of the image at ``scale``, floored (``getSizesForScale``)."""
    return math.floor(height * scale), math.floor(width * scale)


def select_scales(options, height: int, width: int) -> list[float]:
    """The pyramid levels MTCNN runs P-Net on (``Mtcnn.forwardInput``).

    Raises :class:`~faceapi_np.errors.OptionsError` when the levels together would hold
    more pixels than the limit ``max_pyramid_pixels``.
    """
    # Sizes shrink with the scale, so the levels kept are a prefix of pyramid_down's list
    # and generating max_num_scales of them is enough.
    scales = options.scale_steps or pyramid_down(
        options.min_face_size, options.scale_factor, height, width, options.max_num_scales
    )
    limits.check(
        "max_pyramid_scales",
        min(len(scales), options.max_num_scales),
        "MTCNN pyramid levels",
        OptionsError,
    )
    # Pixels counted in floats before any level is sized: a huge scale must give an error,
    # not an OverflowError from flooring infinity.
    pixels = sum(height * s * width * s for s in scales[: options.max_num_scales])
    if not pixels <= limits.get("max_pyramid_pixels"):
        raise limits.exceeded(
            "max_pyramid_pixels",
            f"the MTCNN pyramid of this {width}x{height} image (min_face_size="
            f"{options.min_face_size:g}, {min(len(scales), options.max_num_scales)} levels) "
            f"holds {pixels:.4g} pixels",
            OptionsError,
            "use a larger min_face_size or fewer, smaller scale_steps",
        )
    kept = [s for s in scales if min(size_for_scale(s, height, width)) > CELL_SIZE]
    kept = kept[: options.max_num_scales]
    return kept
