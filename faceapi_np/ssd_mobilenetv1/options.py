"""Options of the SSD MobileNetV1 detector (face-api.js ``SsdMobilenetv1Options.ts``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from ..errors import OptionsError


@dataclass(frozen=True)
class SsdMobilenetv1Options:
    """How the SSD detector filters its boxes.

    Parameters
    ----------
    min_confidence : float
        Keep boxes scoring strictly above this; in (0, 1). Default 0.5.
    max_results : int
        At most this many faces, best first. Default 100.

    face-api.js replaces falsy values (``0``) by the defaults; here 0 is an error like
    any other value out of range.
    """

    #: Short name of the net these options select (see :mod:`faceapi_np.registry`).
    detector: ClassVar[str] = "ssd"

    min_confidence: float = field(default=0.5, metadata={"help": "keep scores above this"})
    max_results: int = field(default=100, metadata={"help": "at most this many faces"})

    def __post_init__(self):
        c = self.min_confidence
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not 0 < c < 1:
            raise OptionsError(
                f"SsdMobilenetv1Options: min_confidence must be a number between 0 and 1 (exclusive), got {c!r}"
            )
        m = self.max_results
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            raise OptionsError(
                f"SsdMobilenetv1Options: max_results must be a positive integer, got {m!r}"
            )
