"""Options of the MTCNN detector (face-api.js ``src/mtcnn/MtcnnOptions.ts``)."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import ClassVar

from ..errors import OptionsError


def _number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


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
        At most this many pyramid levels (the largest first). 10.
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
        if not _number(self.min_face_size) or self.min_face_size <= 0:
            raise OptionsError(
                f"MtcnnOptions: min_face_size must be a positive number of pixels, got {self.min_face_size!r}"
            )
        if not _number(self.scale_factor) or not 0 < self.scale_factor < 1:
            raise OptionsError(
                f"MtcnnOptions: scale_factor must be a number between 0 and 1, got {self.scale_factor!r}"
            )
        if (
            not isinstance(self.max_num_scales, int)
            or isinstance(self.max_num_scales, bool)
            or self.max_num_scales < 1
        ):
            raise OptionsError(
                f"MtcnnOptions: max_num_scales must be a positive integer, got {self.max_num_scales!r}"
            )
        t = self.score_thresholds
        if (
            not isinstance(t, (tuple, list))
            or len(t) != 3
            or not all(_number(v) and 0 <= v <= 1 for v in t)
        ):
            raise OptionsError(
                f"MtcnnOptions: score_thresholds must be three numbers in [0, 1], got {t!r}"
            )
        object.__setattr__(self, "score_thresholds", tuple(float(v) for v in t))
        s = self.scale_steps
        if s is not None:
            if (
                not isinstance(s, (tuple, list))
                or not s
                or not all(_number(v) and v > 0 for v in s)
            ):
                raise OptionsError(
                    f"MtcnnOptions: scale_steps must be a list of positive numbers, got {s!r}"
                )
            object.__setattr__(self, "scale_steps", tuple(float(v) for v in s))
