"""The call chain: a Pythonic mirror of face-api.js's global functions and tasks.

Data flows one way: image -> detector -> :class:`FaceResults` (the faces of one image
plus the image) -> landmarks -> descriptors / expressions / age and gender. Each step
runs one net on all faces of the image as one batch and returns a new chain with more
filled in; the faces themselves are pure data (:mod:`faceapi_np.results`)::

    faces = detect_all_faces(img).with_face_landmarks().with_face_descriptors()

``detect_single_face`` is the same chain over at most one face (:class:`SingleFace`).
Unlike face-api.js's lazy tasks every call runs at once. Mirrors
``src/globalApi/DetectFacesTasks.ts``, ``DetectFaceLandmarksTasks.ts`` and
``ComputeFaceDescriptorsTasks.ts``.
"""

from __future__ import annotations

from dataclasses import replace

from .backend import get_backend
from .errors import InputError, OptionsError
from .extract import crop_face, rotated_face_crop
from .image import load_image
from .landmarks import FaceLandmarks68
from .nets import get_net
from .registry import detector_of
from .results import Box, FaceDetection, FaceResult
from .ssd_mobilenetv1 import SsdMobilenetv1Options

#: Face crops for the recognition net: face-api.js's dlib-style box, or the same box
#: after undoing the face's in-plane rotation (beyond face-api.js).
ALIGNMENTS = ("faceapi", "similarity")


class FaceResults(list):
    """The faces found in one image, best first, plus the image they came from.

    A plain list of :class:`~faceapi_np.results.FaceResult`, so it can be indexed,
    iterated and serialised; ``image`` keeps the decoded image for the next step of the
    chain, ``backend`` names the backend that produced it. ``whole_image`` marks a chain
    made by :func:`face_crop_results`, whose one face is the whole image.
    """

    def __init__(self, items, image, backend=None, whole_image: bool = False):
        super().__init__(items)
        self.image = image
        self.backend = backend
        self.whole_image = whole_image

    def _new(self, items) -> FaceResults:
        return FaceResults(items, self.image, self.backend, self.whole_image)

    def _need_image(self, step: str):
        if self.image is None:
            raise InputError(
                f"{step} needs the image the faces were found in; these results have none "
                "(e.g. after resize_results): run the chain on the original image"
            )

    def _crops(self, step: str, boxes) -> list:
        self._need_image(step)
        return [crop_face(self.image, b) for b in boxes]

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
        crops = self._crops("with_face_landmarks", [r.detection for r in self])
        net = get_net("landmarks_tiny" if use_tiny else "landmarks")
        relative = net.detect_landmarks(crops, get_backend(backend))
        return self._new(
            [
                r.extended_with_landmarks(FaceLandmarks68(rel, (c.shape[1], c.shape[0])))
                for r, c, rel in zip(self, crops, relative)
            ]
        )

    def with_face_descriptors(
        self, alignment: str = "faceapi", backend: str | None = None
    ) -> FaceResults:
        """Add a 128-D descriptor to every face (face-api.js ``withFaceDescriptors``).

        Needs landmarks, except on a :func:`face_crop_results` chain, where the whole
        image is the face (face-api.js ``computeFaceDescriptor``). ``alignment="faceapi"``
        crops face-api.js's dlib-style square box (``align(useDlibAlignment)``);
        ``"similarity"`` crops the same box after rotating the image so the eyes are
        level, which undoes in-plane rotation (an option beyond face-api.js; its
        descriptors then differ from face-api.js's). One FaceRecognitionNet batch.
        """
        if alignment not in ALIGNMENTS:
            raise OptionsError(f"alignment must be one of {ALIGNMENTS}, got {alignment!r}")
        if not self:
            return self._new([])
        self._need_image("with_face_descriptors")
        if self.whole_image:
            crops = [self.image]
        elif any(r.landmarks is None for r in self):
            raise InputError("descriptors need landmarks: call with_face_landmarks() first")
        else:
            crops = [aligned_face_crop(self.image, r.landmarks, alignment) for r in self]
        descriptors = get_net("recognition").compute_face_descriptors(crops, get_backend(backend))
        return self._new([replace(r, descriptor=d) for r, d in zip(self, descriptors)])

    def _classifier_crops(self, step: str) -> list:
        """The crop each face's classifier sees: the aligned rect when landmarks ran,
        else the detection box (face-api.js ``extractAllFacesAndComputeResults``)."""
        boxes = [r.aligned_rect if r.landmarks is not None else r.detection for r in self]
        return self._crops(step, boxes)

    def with_face_expressions(self, backend: str | None = None) -> FaceResults:
        """Add the 7 expression probabilities to every face (face-api.js ``withFaceExpressions``).

        Each face is cut at its aligned rect when landmarks were found, else at its
        detection box; all crops go through FaceExpressionNet as one batch.
        """
        if not self:
            return self._new([])
        crops = self._classifier_crops("with_face_expressions")
        preds = get_net("expression").predict_expressions(crops, get_backend(backend))
        return self._new([replace(r, expressions=p) for r, p in zip(self, preds)])

    def with_age_and_gender(self, backend: str | None = None) -> FaceResults:
        """Add age and gender to every face (face-api.js ``withAgeAndGender``); crops as
        :meth:`with_face_expressions`, one AgeGenderNet batch."""
        if not self:
            return self._new([])
        crops = self._classifier_crops("with_age_and_gender")
        preds = get_net("age_gender").predict_age_and_gender(crops, get_backend(backend))
        return self._new([replace(r, **p) for r, p in zip(self, preds)])

    def as_dicts(self) -> list[dict]:
        """Each face as the CLI's JSON object (``{"box": {...}, "score": ..., ...}``)."""
        return [r.as_dict() for r in self]


class SingleFace:
    """The chain over one face (face-api.js ``detectSingleFace(...)``'s task).

    Its steps mirror :class:`FaceResults`'s in the singular (``with_face_descriptor``);
    every attribute of the face itself (``detection``, ``landmarks``, ``descriptor``,
    ``score``, ``box``, ...) reads through to :attr:`result`.
    """

    def __init__(self, chain: FaceResults):
        if len(chain) != 1:
            raise InputError(f"a single-face chain holds one face, got {len(chain)}")
        self._chain = chain

    @property
    def result(self) -> FaceResult:
        """The face as plain data."""
        return self._chain[0]

    @property
    def image(self):
        """The image the face was found in."""
        return self._chain.image

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._chain[0], name)

    def __repr__(self) -> str:
        return f"SingleFace({self.result!r})"

    def with_face_landmarks(self, use_tiny: bool = False, backend: str | None = None) -> SingleFace:
        """This face with 68 landmarks (see :meth:`FaceResults.with_face_landmarks`)."""
        return SingleFace(self._chain.with_face_landmarks(use_tiny, backend))

    def with_face_descriptor(
        self, alignment: str = "faceapi", backend: str | None = None
    ) -> SingleFace:
        """This face with its descriptor (see :meth:`FaceResults.with_face_descriptors`)."""
        return SingleFace(self._chain.with_face_descriptors(alignment, backend))

    def with_face_expressions(self, backend: str | None = None) -> SingleFace:
        """This face with expression probabilities (see :meth:`FaceResults.with_face_expressions`)."""
        return SingleFace(self._chain.with_face_expressions(backend))

    def with_age_and_gender(self, backend: str | None = None) -> SingleFace:
        """This face with age and gender (see :meth:`FaceResults.with_age_and_gender`)."""
        return SingleFace(self._chain.with_age_and_gender(backend))


def aligned_face_crop(image, landmarks: FaceLandmarks68, alignment: str = "faceapi"):
    """The face crop the recognition net sees for a face with these (image-pixel) landmarks."""
    box = landmarks.align(use_dlib=True)
    if alignment == "similarity":
        return rotated_face_crop(image, box, landmarks.roll_angle())
    return crop_face(image, box)


#: The name this helper had before; kept for one release.
face_crop_for_descriptor = aligned_face_crop


def detector_name(options) -> str:
    """Short name of the detector the options select (``"ssd"``, ``"tiny"`` or ``"mtcnn"``)."""
    return detector_of(options)


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
    net = get_net(detector_of(options))
    img = load_image(image)
    bk = get_backend(backend)
    faces = [FaceResult(d) for d in net.locate_faces(img, options, bk)]
    return FaceResults(faces, img, bk.name)


def detect_single_face(image, options=None, backend: str | None = None) -> SingleFace | None:
    """The highest-scoring face in an image as a one-face chain, or None when there is none.

    face-api.js's ``detectSingleFace`` runs the full detection and keeps the best score;
    the first strictly higher score wins ties.
    """
    faces = detect_all_faces(image, options, backend)
    if not faces:
        return None
    best = max(range(len(faces)), key=lambda i: (faces[i].score, -i))
    return SingleFace(faces._new([faces[best]]))


def face_crop_results(image, backend: str | None = None) -> FaceResults:
    """A chain over an image that is already one face crop: no detection.

    The one face's box is the whole image (score 1), so landmarks, expressions and age run
    on the whole image, and descriptors are computed on the whole image as face-api.js's
    ``computeFaceDescriptor(input)`` does (like the 150x150 portraits of its examples).
    """
    img = load_image(image)
    h, w = img.shape[:2]
    face = FaceResult(FaceDetection(1.0, Box(0.0, 0.0, float(w), float(h)), (w, h)))
    return FaceResults([face], img, get_backend(backend).name, whole_image=True)


def compute_face_descriptors(crops, backend: str | None = None):
    """Descriptors (N, 128) of images that are each one face crop.

    face-api.js ``computeFaceDescriptor(input)``: the whole image is the face, padded to a
    square (centred) and resized to 150x150; no detection, no alignment.
    """
    crops = list(crops)
    if not crops:
        raise InputError("compute_face_descriptors needs at least one face crop")
    imgs = [load_image(c) for c in crops]
    return get_net("recognition").compute_face_descriptors(imgs, get_backend(backend))
