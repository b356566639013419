"""Options of the Tiny Face Detector (face-api.js ``TinyFaceDetectorOptions.ts``)."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from .. import limits
from ..checks import real
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
        # NumPy scalars are welcome; the stored values are plain Python numbers
        owner = type(self).__name__
        s = self.input_size
        if (
            not isinstance(s, numbers.Integral)
            or isinstance(s, (bool, np.bool_))
            or s < 32
            or s % 32
        ):
            raise OptionsError(
                f"{owner}: input_size must be a positive multiple of 32 (e.g. 416), got {s!r}"
            )
        limits.check("max_input_size", int(s), f"{owner}: input_size", OptionsError)
        object.__setattr__(self, "input_size", int(s))
        t = real(owner, "score_threshold", self.score_threshold, 0, 1)
        object.__setattr__(self, "score_threshold", t)
