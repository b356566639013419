"""Result objects: plain frozen dataclasses of Python floats, independent of any backend.

Mirrors face-api.js ``src/classes/`` (``Box``, ``FaceDetection``) and the result
composition of ``src/factories/WithFaceDetection.ts``: each step of the call chain
returns a new object that carries the previous step's results.
"""

from __future__ import annotations

from dataclasses import dataclass


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

    @property
    def left(self) -> float:
        return self.x

    @property
    def top(self) -> float:
        return self.y

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    @property
    def area(self) -> float:
        return self.width * self.height

    def rescale(self, sx: float, sy: float | None = None) -> "Box":
        """Every coordinate times ``sx`` (x, width) and ``sy`` (y, height; default ``sx``)."""
        sy = sx if sy is None else sy
        return Box(self.x * sx, self.y * sy, self.width * sx, self.height * sy)

    def round(self) -> "Box":
        """Coordinates rounded half up, as JavaScript's ``Math.round``."""
        import math

        return Box(*(math.floor(v + 0.5) for v in (self.x, self.y, self.width, self.height)))

    def as_dict(self) -> dict:
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
    """

    score: float
    box: Box
    image_size: tuple

    @property
    def relative_box(self) -> Box:
        """The box in units of the image size (0..1), as face-api.js's ``relativeBox``."""
        w, h = self.image_size
        return self.box.rescale(1.0 / w, 1.0 / h)

    def for_size(self, width: int, height: int) -> "FaceDetection":
        """The same detection for an image of another size (face-api.js ``forSize``)."""
        return FaceDetection(self.score, self.relative_box.rescale(width, height), (width, height))

    def as_dict(self) -> dict:
        return {"box": self.box.as_dict(), "score": self.score}


def resize_results(results, width: int, height: int):
    """Rescale results (a list, one result, or None) to an image of ``width`` x ``height``.

    Mirrors face-api.js ``resizeResults``: useful when a photo is shown at another size
    than the one it was detected in.
    """
    if results is None:
        return None
    if isinstance(results, (list, tuple)):
        return [resize_results(r, width, height) for r in results]
    if hasattr(results, "for_size"):
        return results.for_size(width, height)
    raise TypeError(f"cannot resize {type(results).__name__}")
