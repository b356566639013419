"""The shared shape of the nets that classify a face crop (face-api.js ``src/faceProcessor/``)."""

from .net import FaceProcessor

__all__ = ["FaceProcessor"]
