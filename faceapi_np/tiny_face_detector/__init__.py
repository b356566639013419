"""Tiny Face Detector (face-api.js ``src/tinyFaceDetector/`` on ``src/tinyYolov2/``)."""

from .net import TinyFaceDetector
from .options import TinyFaceDetectorOptions

__all__ = ["TinyFaceDetector", "TinyFaceDetectorOptions"]
