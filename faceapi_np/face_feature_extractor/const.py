"""Constants of the dense-block feature extractors (``src/faceFeatureExtractor/``)."""

from ..const import FACE_MEAN_RGB as MEAN_RGB  # noqa: F401

#: Side of the square face crop the extractor sees.
INPUT_SIZE = 112
#: FaceFeatureExtractor divides by 255 after the mean is subtracted.
INPUT_DIVISOR = 255.0
