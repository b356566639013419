"""Options of the MTCNN detector (face-api.js ``src/mtcnn/MtcnnOptions.ts``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

from .. import limits
from ..checks import integer, real
from ..errors import OptionsError


@dataclass(frozen=True)
class MtcnnOptions:
    """How MTCNN builds its image pyramid and filters each stage.

    Parameters
    ----------
    min_face_size : float
        Smallest face to find, in pixels; sets the pyramid's first scale (12 / size). 20.
    scale_factor : float
        Ratio between pyramid levels, in (0, 1). 0.709.
    max_num_scales : int
        At most this many pyramid levels (the largest first). 10; at most the limit
        ``max_pyramid_scales`` (see :mod:`faceapi_np.limits`).
    score_thresholds : (float, float, float)
        Minimum face score after P-Net, R-Net and O-Net. (0.6, 0.7, 0.7).
    scale_steps : sequence of float, optional
        Explicit pyramid scales instead of the ones derived from the options above.

    face-api.js replaces falsy values (0) by the defaults; here they are errors.
    """

    #: Short name of the net these options select (see :mod:`faceapi_np.registry`).
    detector: ClassVar[str] = "mtcnn"

    min_face_size: float = field(default=20, metadata={"help": "smallest face in pixels"})
    scale_factor: float = field(default=0.709, metadata={"help": "pyramid step"})
    max_num_scales: int = field(default=10, metadata={"help": "at most this many levels"})
    score_thresholds: tuple = field(
        default=(0.6, 0.7, 0.7),
        metadata={"help": "P-Net, R-Net, O-Net thresholds", "nargs": 3, "metavar": ("P", "R", "O")},
    )
    scale_steps: tuple | None = field(
        default=None, metadata={"help": "explicit pyramid scales", "nargs": "+", "metavar": "S"}
    )

    def __post_init__(self):
        # NumPy scalars are welcome; the stored values are plain Python numbers. The
        # pyramid's size also depends on the image, so select_scales checks its pixels.
        owner, set_ = type(self).__name__, object.__setattr__
        set_(self, "min_face_size", real(owner, "min_face_size", self.min_face_size, 0, math.inf))
        set_(self, "scale_factor", real(owner, "scale_factor", self.scale_factor, 0, 1))
        n = integer(owner, "max_num_scales", self.max_num_scales, 1)
        limits.check("max_pyramid_scales", n, f"{owner}: max_num_scales", OptionsError)
        set_(self, "max_num_scales", n)
        t = self.score_thresholds
        if not isinstance(t, (tuple, list)) or len(t) != 3:
            raise OptionsError(
                f"{owner}: score_thresholds must be three numbers in [0, 1], got {t!r}"
            )
        tt = tuple(
            real(owner, "score_thresholds", v, 0, 1, open_low=False, open_high=False) for v in t
        )
        set_(self, "score_thresholds", tt)
        s = self.scale_steps
        if s is not None:
            if not isinstance(s, (tuple, list)) or not s:
                raise OptionsError(
                    f"{owner}: scale_steps must be a list of positive numbers, got {s!r}"
                )
            limits.check("max_pyramid_scales", len(s), f"{owner}: len(scale_steps)", OptionsError)
            set_(self, "scale_steps", tuple(real(owner, "scale_steps", v, 0, math.inf) for v in s))
