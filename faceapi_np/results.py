"""Result objects: plain frozen dataclasses of Python numbers, independent of any backend.

Mirrors face-api.js ``src/classes/`` (``Box``, ``FaceDetection``) and the result
composition of ``src/factories/WithFaceDetection.ts``: each step of the call chain
returns a new object that carries the previous step's results. Results are pure data:
they hold no image and run no net; the chain that runs the nets is :mod:`faceapi_np.api`,
which imports this module and never the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .errors import InputError
from .ops import js_round


def _plain(v):
    """A NumPy scalar as the Python number it holds; anything else unchanged."""
    return v.item() if isinstance(v, np.generic) else v


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in pixels (or relative units), face-api.js's ``Box``.

    ``right`` is ``x + width`` and ``area`` is ``width * height``, computed as face-api.js
    computes them.
    """

    x: float
    y: float
    width: float
    height: float

    def __post_init__(self):
        # NumPy scalars become Python numbers, so results print and serialise plainly
        for name in ("x", "y", "width", "height"):
            object.__setattr__(self, name, _plain(getattr(self, name)))

    @property
    def left(self) -> float:
        """Left edge, ``x``."""
        return self.x

    @property
    def top(self) -> float:
        """Top edge, ``y``."""
        return self.y

    @property
    def right(self) -> float:
        """Right edge, ``x + width``."""
        return self.x + self.width

    @property
    def bottom(self) -> float:
        """Bottom edge, ``y + height``."""
        return self.y + self.height

    @property
    def area(self) -> float:
        """``width * height``."""
        return self.width * self.height

    def rescale(self, sx: float, sy: float | None = None) -> Box:
        """Every coordinate times ``sx`` (x, width) and ``sy`` (y, height; default ``sx``)."""
        sy = sx if sy is None else sy
        return Box(self.x * sx, self.y * sy, self.width * sx, self.height * sy)

    def round(self) -> Box:
        """Coordinates rounded half up, as JavaScript's ``Math.round``."""

        return Box(*(js_round(v) for v in (self.x, self.y, self.width, self.height)))

    def as_dict(self) -> dict:
        """The JSON form used by the CLI."""
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height}


@dataclass(frozen=True)
class FaceDetection:
    """One detected face: score, box in original image pixels, and the image size.

    Attributes
    ----------
    score : float
        Detector confidence in (0, 1).
    box : Box
        In pixels of the image that was given to the detector.
    image_size : tuple of int
        ``(width, height)`` of that image.
    landmarks5 : ndarray (5, 2) or None
        MTCNN's 5 points (eyes, nose, mouth corners) in image pixels; None for the other
        detectors.
    """

    score: float
    box: Box
    image_size: tuple
    landmarks5: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "score", _plain(self.score))
        object.__setattr__(self, "image_size", tuple(int(v) for v in self.image_size))

    @property
    def relative_box(self) -> Box:
        """The box in units of the image size (0..1), as face-api.js's ``relativeBox``."""
        w, h = self.image_size
        return self.box.rescale(1.0 / w, 1.0 / h)

    def for_size(self, width: int, height: int) -> FaceDetection:
        """The same detection for an image of another size (face-api.js ``forSize``)."""
        pts = self.landmarks5
        if pts is not None:
            w0, h0 = self.image_size
            pts = pts * np.array([width / w0, height / h0])
        return FaceDetection(
            self.score, self.relative_box.rescale(width, height), (width, height), pts
        )

    def as_dict(self) -> dict:
        """The JSON form used by the CLI."""
        d = {"box": self.box.as_dict(), "score": self.score}
        if self.landmarks5 is not None:
            d["landmarks5"] = self.landmarks5.tolist()
        return d


@dataclass(frozen=True, eq=False)
class FaceResult:
    """One face as the call chain builds it up (face-api.js ``WithFaceDetection`` & co.).

    Pure data: each step of the chain in :mod:`faceapi_np.api` returns new FaceResults
    with more fields filled in.

    Attributes
    ----------
    detection : FaceDetection
    landmarks : FaceLandmarks68 or None
        In image pixels (shifted to the detection box's corner).
    unshifted_landmarks : FaceLandmarks68 or None
        In pixels of the face crop the landmark net saw.
    aligned_rect : FaceDetection or None
        The landmarks' bounding box padded by 20% (face-api.js ``alignedRect``).
    descriptor : ndarray (128,) float32 or None
    expressions : dict or None
        Probability of each of ``neutral, happy, sad, angry, fearful, disgusted, surprised``.
    age : float or None
        Years.
    gender : str or None
        ``"male"`` or ``"female"``; ``gender_probability`` is that gender's probability.
    """

    detection: FaceDetection
    landmarks: object = None
    unshifted_landmarks: object = None
    aligned_rect: FaceDetection | None = None
    descriptor: np.ndarray | None = None
    expressions: dict | None = None
    age: float | None = None
    gender: str | None = None
    gender_probability: float | None = None

    def __post_init__(self):
        for name in ("age", "gender_probability"):
            object.__setattr__(self, name, _plain(getattr(self, name)))
        if self.expressions is not None:
            object.__setattr__(
                self, "expressions", {k: _plain(v) for k, v in self.expressions.items()}
            )

    @property
    def score(self) -> float:
        """The detection's score."""
        return self.detection.score

    @property
    def box(self) -> Box:
        """The detection's box in image pixels."""
        return self.detection.box

    @property
    def image_size(self) -> tuple:
        """``(width, height)`` of the image the face was found in."""
        return self.detection.image_size

    @property
    def landmarks5(self) -> np.ndarray | None:
        """MTCNN's 5 points in image pixels, when MTCNN detected the face."""
        return self.detection.landmarks5

    @property
    def top_expression(self) -> tuple[str, float] | None:
        """The most probable expression and its probability, or None."""
        if not self.expressions:
            return None
        return max(self.expressions.items(), key=lambda kv: kv[1])

    def extended_with_landmarks(self, unshifted) -> FaceResult:
        """Add landmarks found in this face's crop (face-api.js ``extendWithFaceLandmarks``).

        The crop's landmarks are shifted to the detection box's corner, and the aligned
        rect is their padded bounding box, made relative to the image and back.
        """
        box = self.detection.box
        landmarks = unshifted.shift_by(box.x, box.y)
        rect = landmarks.align()
        w, h = self.detection.image_size
        aligned = FaceDetection(
            self.detection.score, rect.rescale(1.0 / w, 1.0 / h).rescale(w, h), (w, h)
        )
        return replace(
            self, landmarks=landmarks, unshifted_landmarks=unshifted, aligned_rect=aligned
        )

    def _chain_step(self, step: str):
        raise InputError(
            f"{step} needs the image the faces were found in; a FaceResult is plain data "
            "without it (e.g. after resize_results): run the chain on the original image, "
            "as detect_all_faces(image).with_face_landmarks()..."
        )

    # The chain steps lived here before results became plain data; for one release they
    # remain, saying where the chain is now.
    def with_face_landmarks(self, *args, **kwargs):
        """Moved to the chain (:class:`faceapi_np.api.FaceResults`); raises InputError."""
        self._chain_step("with_face_landmarks")

    def with_face_descriptor(self, *args, **kwargs):
        """Moved to the chain (:class:`faceapi_np.api.SingleFace`); raises InputError."""
        self._chain_step("with_face_descriptor")

    def with_face_expressions(self, *args, **kwargs):
        """Moved to the chain (:class:`faceapi_np.api.FaceResults`); raises InputError."""
        self._chain_step("with_face_expressions")

    def with_age_and_gender(self, *args, **kwargs):
        """Moved to the chain (:class:`faceapi_np.api.FaceResults`); raises InputError."""
        self._chain_step("with_age_and_gender")

    def for_size(self, width: int, height: int) -> FaceResult:
        """The result for the image shown at another size (face-api.js ``resizeResults``)."""
        det = self.detection.for_size(width, height)
        out = replace(self, detection=det, landmarks=None, unshifted_landmarks=None)
        out = replace(out, aligned_rect=None)
        if self.unshifted_landmarks is not None:
            crop = self.unshifted_landmarks.for_size(det.box.width, det.box.height)
            out = out.extended_with_landmarks(crop)
        return out

    def as_dict(self) -> dict:
        """The CLI's JSON object for this face: box, score, and what the chain added."""
        d = self.detection.as_dict()
        if self.landmarks is not None:
            d["landmarks"] = self.landmarks.as_list()
        if self.descriptor is not None:
            d["descriptor"] = [float(v) for v in self.descriptor]
        if self.expressions is not None:
            d["expressions"] = dict(self.expressions)
        if self.age is not None:
            d["age"], d["gender"] = self.age, self.gender
            d["gender_probability"] = self.gender_probability
        return d


def resize_results(results, width: int, height: int):
    """Rescale results (a list, one result, or None) to an image of ``width`` x ``height``.

    Mirrors face-api.js ``resizeResults``: useful when a photo is shown at another size
    than the one it was detected in.
    """
    for side in (width, height):  # a NaN or zero size would give NaN boxes silently
        if (
            isinstance(side, bool)
            or not isinstance(side, (int, float, np.number))
            or not 0 < side < float("inf")
        ):
            raise InputError(f"resize_results: width and height must be positive, got {side!r}")
    if results is None:
        return None
    if isinstance(results, (list, tuple)):
        return [resize_results(r, width, height) for r in results]
    if hasattr(results, "for_size"):
        return results.for_size(width, height)
    raise InputError(f"cannot resize {type(results).__name__}: expected face results")
