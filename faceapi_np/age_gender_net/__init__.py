"""Age and gender from a face crop (face-api.js ``src/ageGenderNet/`` on ``src/xception/``)."""

from .net import AgeGenderNet

__all__ = ["AgeGenderNet"]
