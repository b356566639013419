"""Options of the SSD MobileNetV1 detector (face-api.js ``SsdMobilenetv1Options.ts``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from ..checks import integer, real


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
        # NumPy scalars are welcome; the stored values are plain Python numbers
        owner = type(self).__name__
        set_ = object.__setattr__
        set_(self, "min_confidence", real(owner, "min_confidence", self.min_confidence, 0, 1))
        set_(self, "max_results", integer(owner, "max_results", self.max_results, 1))
