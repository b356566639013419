"""faceapi_np: face-api.js rebuilt in Python from NumPy up.

Detect faces, find 68 landmarks, compute 128-D descriptors and match them, using
face-api.js's own weight files, with face-api.js's numbers::

    import faceapi_np as fa
    faces = fa.detect_all_faces("group.jpg").with_face_landmarks().with_face_descriptors()
    for face in faces:
        print(face.score, face.box, face.descriptor[:3])
    fa.draw_detections(faces.image, faces).save("out.png")

Importing this package loads NumPy only: numba and cupy are imported when their backend
is first asked for.
"""

__version__ = "0.1.0"

from . import (
    _source_tree,  # noqa: F401  (binds kernels/ when run from a checkout)
    explain,  # a callable package: faceapi_np.explain(image, net, out)
    limits,
    nets,
)
from .age_gender_net import AgeGenderNet
from .api import (
    FaceResults,
    SingleFace,
    compute_face_descriptors,
    detect_all_faces,
    detect_single_face,
    face_crop_results,
)
from .backend import available_backends, get_backend, set_backend
from .draw import draw_detections, draw_face_landmarks, draw_labels
from .errors import (
    BackendError,
    FaceApiError,
    FetchError,
    ImageError,
    InputError,
    OptionsError,
    OutputError,
    WeightsError,
)
from .extract import extract_face_tensors, extract_faces
from .face_expression_net import EXPRESSIONS, FaceExpressionNet
from .face_landmark_net import FaceLandmark68Net, FaceLandmark68TinyNet
from .face_recognition_net import FaceRecognitionNet
from .gallery import Gallery, index_photos
from .image import load_image
from .landmarks import FaceLandmarks68
from .matching import FaceMatch, FaceMatcher, LabeledFaceDescriptors, euclidean_distance
from .mtcnn import Mtcnn, MtcnnOptions
from .onnx_export import export_onnx
from .records import round_record, to_records
from .results import Box, FaceDetection, FaceResult, resize_results
from .ssd_mobilenetv1 import SsdMobilenetv1, SsdMobilenetv1Options
from .tiny_face_detector import TinyFaceDetector, TinyFaceDetectorOptions
from .video import FrameResult, detect_video
from .warmup import warmup

__all__ = [
    "__version__",
    "AgeGenderNet",
    "EXPRESSIONS",
    "FaceExpressionNet",
    "Box",
    "BackendError",
    "FaceApiError",
    "FaceDetection",
    "FaceLandmark68Net",
    "FaceLandmark68TinyNet",
    "FaceLandmarks68",
    "FaceMatch",
    "FaceMatcher",
    "FaceRecognitionNet",
    "FaceResult",
    "FaceResults",
    "SingleFace",
    "LabeledFaceDescriptors",
    "Mtcnn",
    "MtcnnOptions",
    "FetchError",
    "FrameResult",
    "Gallery",
    "ImageError",
    "InputError",
    "OptionsError",
    "OutputError",
    "SsdMobilenetv1",
    "SsdMobilenetv1Options",
    "TinyFaceDetector",
    "TinyFaceDetectorOptions",
    "WeightsError",
    "available_backends",
    "compute_face_descriptors",
    "detect_all_faces",
    "detect_single_face",
    "detect_video",
    "draw_detections",
    "draw_face_landmarks",
    "draw_labels",
    "euclidean_distance",
    "explain",
    "export_onnx",
    "extract_face_tensors",
    "extract_faces",
    "face_crop_results",
    "get_backend",
    "limits",
    "index_photos",
    "load_image",
    "nets",
    "resize_results",
    "round_record",
    "set_backend",
    "to_records",
    "warmup",
]
