"""The face descriptor net (face-api.js ``src/faceRecognitionNet/``)."""

from .net import FaceRecognitionNet

__all__ = ["FaceRecognitionNet"]
