"""68-point face landmark nets (face-api.js ``src/faceLandmarkNet/``)."""

from .net import FaceLandmark68Net, FaceLandmark68TinyNet

__all__ = ["FaceLandmark68Net", "FaceLandmark68TinyNet"]
