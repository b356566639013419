"""SSD MobileNetV1 face detector (face-api.js ``src/ssdMobilenetv1/``)."""

from .net import SsdMobilenetv1
from .options import SsdMobilenetv1Options

__all__ = ["SsdMobilenetv1", "SsdMobilenetv1Options"]
