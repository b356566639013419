"""Constants of FaceRecognitionNet (``src/faceRecognitionNet/FaceRecognitionNet.ts``)."""

from ..const import FACE_MEAN_RGB as MEAN_RGB  # noqa: F401

#: Side of the square face crop the net sees.
INPUT_SIZE = 150
#: dlib's scaling after the mean is subtracted.
INPUT_DIVISOR = 256.0
