"""MTCNN face detector with 5 landmarks (face-api.js ``src/mtcnn/``)."""

from .net import Mtcnn
from .options import MtcnnOptions

__all__ = ["Mtcnn", "MtcnnOptions"]
