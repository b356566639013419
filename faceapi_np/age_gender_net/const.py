"""Constants of AgeGenderNet (``src/ageGenderNet/AgeGenderNet.ts``, ``xception/TinyXception.ts``)."""

from ..const import FACE_MEAN_RGB as MEAN_RGB  # noqa: F401

#: Side of the square face crop the net sees.
INPUT_SIZE = 112
#: TinyXception divides by 256 after the mean is subtracted (the dense-block nets: 255).
INPUT_DIVISOR = 256.0
