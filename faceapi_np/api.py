"""The high-level API: a Pythonic mirror of face-api.js's global functions.

``detect_all_faces(image, options)`` runs the detector that the options name (SSD
MobileNetV1 by default, or the Tiny Face Detector) and returns a :class:`FaceResults`
list; ``detect_single_face`` returns the best face or None. Unlike face-api.js's lazy
tasks, every call here runs at once; each step of the chain returns a new result list
(``FaceResults``), which later steps (landmarks, descriptors, ...) extend.
Mirrors ``src/globalApi/DetectFacesTasks.ts``.
"""

from __future__ import annotations

from .backend import get_backend
from .errors import OptionsError
from .image import load_image
from .nets import get_net
from .results import FaceDetection
from .ssd_mobilenetv1 import SsdMobilenetv1Options
from .tiny_face_detector import TinyFaceDetectorOptions

#: Which shared net each options class selects.
_DETECTORS = {
    SsdMobilenetv1Options: "ssd",
    TinyFaceDetectorOptions: "tiny",
}


class FaceResults(list):
    """The faces found in one image, best first, plus the image they came from.

    A plain list of results (here :class:`~faceapi_np.results.FaceDetection`), so it
    can be indexed, iterated and serialised; ``image`` keeps the decoded image for the
    next step of the chain, ``backend`` the backend that produced it.
    """

    def __init__(self, items, image, backend=None):
        super().__init__(items)
        self.image = image
        self.backend = backend

    def as_dicts(self) -> list[dict]:
        """Each face as the CLI's JSON object (``{"box": {...}, "score": ...}``)."""
        return [r.as_dict() for r in self]


def detector_name(options) -> str:
    """Short name of the detector the options select (``"ssd"`` or ``"tiny"``)."""
    for cls, name in _DETECTORS.items():
        if isinstance(options, cls):
            return name
    raise OptionsError(
        f"expected SsdMobilenetv1Options or TinyFaceDetectorOptions, got {type(options).__name__}"
    )


def detect_all_faces(image, options=None, backend: str | None = None) -> FaceResults:
    """Detect every face in an image.

    Parameters
    ----------
    image : path, bytes, PIL.Image or ndarray
        Anything :func:`~faceapi_np.image.load_image` accepts.
    options : SsdMobilenetv1Options | TinyFaceDetectorOptions, optional
        Selects the detector and its thresholds; default ``SsdMobilenetv1Options()``.
    backend : str, optional
        Backend name for this call; default the active backend.

    Returns
    -------
    FaceResults
        :class:`FaceDetection` objects, best first, boxes in the image's pixels.
    """
    options = options if options is not None else SsdMobilenetv1Options()
    net = get_net(detector_name(options))
    img = load_image(image)
    bk = get_backend(backend)
    return FaceResults(net.locate_faces(img, options, bk), img, bk.name)


def detect_single_face(image, options=None, backend: str | None = None) -> FaceDetection | None:
    """The highest-scoring face in an image, or None when there is none.

    face-api.js's ``detectSingleFace`` runs the full detection and keeps the best score;
    the first strictly higher score wins ties.
    """
    faces = detect_all_faces(image, options, backend)
    best = None
    for face in faces:
        if best is None or face.score > best.score:
            best = face
    return best
