"""Facial expression classifier (face-api.js ``src/faceExpressionNet/``)."""

from .net import EXPRESSIONS, FaceExpressionNet

__all__ = ["EXPRESSIONS", "FaceExpressionNet"]
