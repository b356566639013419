"""The high-level API: a Pythonic mirror of face-api.js's global functions and call chain.

``detect_all_faces(image, options)`` runs the detector that the options name (SSD
MobileNetV1 by default, or the Tiny Face Detector) and returns a :class:`FaceResults`
list; each step of the chain returns a new list with more filled in::

    faces = detect_all_faces(img).with_face_landmarks().with_face_descriptors()

``detect_single_face`` returns the best face as a :class:`~faceapi_np.results.FaceResult`
(or None), which chains the same way. Unlike face-api.js's lazy tasks every call runs at
once, and all faces of an image go through the landmark and recognition nets as one batch.
Mirrors ``src/globalApi/DetectFacesTasks.ts``, ``DetectFaceLandmarksTasks.ts`` and
``ComputeFaceDescriptorsTasks.ts``.
"""

from __future__ import annotations

from dataclasses import replace

from .backend import get_backend
from .errors import InputError, OptionsError
from .extract import face_region, rotated_face_crop
from .image import load_image
from .landmarks import FaceLandmarks68
from .mtcnn import MtcnnOptions
from .nets import get_net
from .results import FaceResult
from .ssd_mobilenetv1 import SsdMobilenetv1Options
from .tiny_face_detector import TinyFaceDetectorOptions

#: Which shared net each options class selects.
_DETECTORS = {
    SsdMobilenetv1Options: "ssd",
    TinyFaceDetectorOptions: "tiny",
    MtcnnOptions: "mtcnn",
}

#: Face crops for the recognition net: face-api.js's dlib-style box, or the same box
#: after undoing the face's in-plane rotation (beyond face-api.js).
ALIGNMENTS = ("faceapi", "similarity")


class FaceResults(list):
    """The faces found in one image, best first, plus the image they came from.

    A plain list of :class:`~faceapi_np.results.FaceResult`, so it can be indexed,
    iterated and serialised; ``image`` keeps the decoded image for the next step of the
    chain, ``backend`` names the backend that produced it.
    """

    def __init__(self, items, image, backend=None):
        super().__init__(items)
        self.image = image
        self.backend = backend

    def _new(self, items) -> FaceResults:
        return FaceResults(items, self.image, self.backend)

    def _need_image(self, step: str):
        if self.image is None:
            raise InputError(
                f"{step} needs the image the faces were found in; these results have none "
                "(e.g. after resize_results): run the chain on the original image"
            )

    def with_face_landmarks(
        self, use_tiny: bool = False, backend: str | None = None
    ) -> FaceResults:
        """Add 68-point landmarks to every face (face-api.js ``withFaceLandmarks``).

        Each detection box is cut out of the image (clipped and floored as face-api.js
        does), all crops go through FaceLandmark68Net (or the tiny net) as one batch, and
        each result gains ``landmarks``, ``unshifted_landmarks`` and ``aligned_rect``.
        """
        if not self:
            return self._new([])
        self._need_image("with_face_landmarks")
        bk = get_backend(backend)
        net = get_net("landmarks_tiny" if use_tiny else "landmarks")
        size = (self.image.shape[1], self.image.shape[0])
        regions = [face_region(size, r.detection) for r in self]
        crops = [self.image[b.y : b.y + b.height, b.x : b.x + b.width] for b in regions]
        relative = net.detect_landmarks(crops, bk)
        out = []
        for r, crop, rel in zip(self, crops, relative):
            unshifted = FaceLandmarks68(rel, (crop.shape[1], crop.shape[0]))
            out.append(r.extended_with_landmarks(unshifted))
        return self._new(out)

    def with_face_descriptors(
        self, alignment: str = "faceapi", backend: str | None = None
    ) -> FaceResults:
        """Add a 128-D descriptor to every face (face-api.js ``withFaceDescriptors``).

        Needs landmarks. ``alignment="faceapi"`` crops face-api.js's dlib-style square box
        (``align(useDlibAlignment)``); ``"similarity"`` crops the same box after rotating
        the image so the eyes are level, which undoes in-plane rotation (an option beyond
        face-api.js; its descriptors then differ from face-api.js's). All crops go through
        FaceRecognitionNet as one batch.
        """
        if alignment not in ALIGNMENTS:
            raise OptionsError(f"alignment must be one of {ALIGNMENTS}, got {alignment!r}")
        if not self:
            return self._new([])
        if any(r.landmarks is None for r in self):
            raise InputError("descriptors need landmarks: call with_face_landmarks() first")
        self._need_image("with_face_descriptors")
        bk = get_backend(backend)
        crops = [face_crop_for_descriptor(self.image, r.landmarks, alignment) for r in self]
        descriptors = get_net("recognition").compute_face_descriptors(crops, bk)
        return self._new([replace(r, descriptor=d) for r, d in zip(self, descriptors)])

    def _face_crops(self) -> list:
        """The crop each face's classifier sees: the aligned rect when landmarks ran,
        else the detection box (face-api.js ``extractAllFacesAndComputeResults``)."""
        self._need_image("expressions and age/gender")
        size = (self.image.shape[1], self.image.shape[0])
        crops = []
        for r in self:
            b = face_region(size, r.aligned_rect if r.landmarks is not None else r.detection)
            crops.append(self.image[b.y : b.y + b.height, b.x : b.x + b.width])
        return crops

    def with_face_expressions(self, backend: str | None = None) -> FaceResults:
        """Add the 7 expression probabilities to every face (face-api.js ``withFaceExpressions``).

        Each face is cut at its aligned rect when landmarks were found, else at its
        detection box; all crops go through FaceExpressionNet as one batch.
        """
        if not self:
            return self._new([])
        preds = get_net("expression").predict_expressions(self._face_crops(), get_backend(backend))
        return self._new([replace(r, expressions=p) for r, p in zip(self, preds)])

    def with_age_and_gender(self, backend: str | None = None) -> FaceResults:
        """Add age and gender to every face (face-api.js ``withAgeAndGender``); crops as
        :meth:`with_face_expressions`, one AgeGenderNet batch."""
        if not self:
            return self._new([])
        preds = get_net("age_gender").predict_age_and_gender(
            self._face_crops(), get_backend(backend)
        )
        return self._new([replace(r, **p) for r, p in zip(self, preds)])

    def as_dicts(self) -> list[dict]:
        """Each face as the CLI's JSON object (``{"box": {...}, "score": ..., ...}``)."""
        return [r.as_dict() for r in self]


def face_crop_for_descriptor(image, landmarks: FaceLandmarks68, alignment: str = "faceapi"):
    """The face crop the recognition net sees for a face with these (image-pixel) landmarks."""
    box = landmarks.align(use_dlib=True)
    if alignment == "similarity":
        return rotated_face_crop(image, box, landmarks.roll_angle())
    size = (image.shape[1], image.shape[0])
    r = face_region(size, box)
    return image[r.y : r.y + r.height, r.x : r.x + r.width]


def detector_name(options) -> str:
    """Short name of the detector the options select (``"ssd"``, ``"tiny"`` or ``"mtcnn"``)."""
    for cls, name in _DETECTORS.items():
        if isinstance(options, cls):
            return name
    raise OptionsError(
        f"expected SsdMobilenetv1Options, TinyFaceDetectorOptions or MtcnnOptions, got {type(options).__name__}"
    )


def detect_all_faces(image, options=None, backend: str | None = None) -> FaceResults:
    """Detect every face in an image.

    Parameters
    ----------
    image : path, bytes, PIL.Image or ndarray
        Anything :func:`~faceapi_np.image.load_image` accepts.
    options : SsdMobilenetv1Options | TinyFaceDetectorOptions | MtcnnOptions, optional
        Selects the detector and its thresholds; default ``SsdMobilenetv1Options()``.
    backend : str, optional
        Backend name for this call; default the active backend.

    Returns
    -------
    FaceResults
        One :class:`FaceResult` per face, best first, boxes in the image's pixels.
    """
    options = options if options is not None else SsdMobilenetv1Options()
    net = get_net(detector_name(options))
    img = load_image(image)
    bk = get_backend(backend)
    faces = []
    for d in net.locate_faces(img, options, bk):
        if isinstance(options, MtcnnOptions):  # MTCNN faces come with 5 points
            faces.append(FaceResult(d.detection, landmarks5=d.landmarks5, image=img))
        else:
            faces.append(FaceResult(d, image=img))
    return FaceResults(faces, img, bk.name)


def detect_single_face(image, options=None, backend: str | None = None) -> FaceResult | None:
    """The highest-scoring face in an image, or None when there is none.

    face-api.js's ``detectSingleFace`` runs the full detection and keeps the best score;
    the first strictly higher score wins ties.
    """
    best = None
    for face in detect_all_faces(image, options, backend):
        if best is None or face.score > best.score:
            best = face
    return best


def compute_face_descriptors(crops, backend: str | None = None):
    """Descriptors (N, 128) of images that are each one face crop.

    face-api.js ``computeFaceDescriptor(input)``: the whole image is the face, padded to a
    square (centred) and resized to 150x150; no detection, no alignment.
    """
    imgs = [load_image(c) for c in crops]
    return get_net("recognition").compute_face_descriptors(imgs, get_backend(backend))
