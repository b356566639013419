"""Options of the Tiny Face Detector (face-api.js ``TinyFaceDetectorOptions.ts``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from ..errors import OptionsError


@dataclass(frozen=True)
class TinyFaceDetectorOptions:
    """How the Tiny Face Detector sees the image and filters its boxes.

    Parameters
    ----------
    input_size : int
        Side of the square the image is resized to; a multiple of 32 (face-api.js
        requires that), at least 32. Smaller is faster, larger finds smaller faces.
        Default 416.
    score_threshold : float
        Keep boxes scoring strictly above this; in (0, 1). Default 0.5.
    """

    #: Short name of the net these options select (see :mod:`faceapi_np.registry`).
    detector: ClassVar[str] = "tiny"

    input_size: int = field(default=416, metadata={"help": "input side, a multiple of 32"})
    score_threshold: float = field(default=0.5, metadata={"help": "keep scores above this"})

    def __post_init__(self):
        s = self.input_size
        if isinstance(s, bool) or not isinstance(s, int) or s < 32 or s % 32:
            raise OptionsError(
                f"TinyFaceDetectorOptions: input_size must be a positive multiple of 32 (e.g. 416), got {s!r}"
            )
        t = self.score_threshold
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t < 1:
            raise OptionsError(
                f"TinyFaceDetectorOptions: score_threshold must be a number between 0 and 1 (exclusive), got {t!r}"
            )
