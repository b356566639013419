"""faceapi_np: face-api.js rebuilt in Python from NumPy up.

Detect faces with SSD MobileNetV1 or the Tiny Face Detector, using face-api.js's own
weight files, with face-api.js's numbers::

    import faceapi_np as fa
    faces = fa.detect_all_faces("group.jpg")            # SSD MobileNetV1
    for face in faces:
        print(face.score, face.box)
    fa.draw_detections(faces.image, faces).save("out.png")

Importing this package loads NumPy only: numba and cupy are imported when their backend
is first asked for.
"""

__version__ = "0.1.0"

from .api import FaceResults, detect_all_faces, detect_single_face
from .backend import available_backends, get_backend, set_backend
from .draw import draw_detections
from .errors import (
    BackendError,
    FaceApiError,
    FetchError,
    ImageError,
    InputError,
    OptionsError,
    WeightsError,
)
from .image import load_image
from .results import Box, FaceDetection, resize_results
from .ssd_mobilenetv1 import SsdMobilenetv1, SsdMobilenetv1Options
from .tiny_face_detector import TinyFaceDetector, TinyFaceDetectorOptions
from . import nets

__all__ = [
    "__version__",
    "Box",
    "BackendError",
    "FaceApiError",
    "FaceDetection",
    "FaceResults",
    "FetchError",
    "ImageError",
    "InputError",
    "OptionsError",
    "SsdMobilenetv1",
    "SsdMobilenetv1Options",
    "TinyFaceDetector",
    "TinyFaceDetectorOptions",
    "WeightsError",
    "available_backends",
    "detect_all_faces",
    "detect_single_face",
    "draw_detections",
    "get_backend",
    "load_image",
    "nets",
    "resize_results",
    "set_backend",
]
