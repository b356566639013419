"""68-point landmarks and the face boxes face-api.js aligns from them.

Mirrors face-api.js ``src/classes/FaceLandmarks.ts`` and ``FaceLandmarks68.ts``. A
:class:`FaceLandmarks68` holds the points relative to the face crop the landmark net saw
(``relative_positions``, 0..1), that crop's size, and a shift (the crop's top-left corner
in the image); ``positions`` are ``relative * crop size + shift``, in image pixels. All
arithmetic is float64, in face-api.js's order, so aligned boxes agree to the last bit
that matters.

Two alignments, as in face-api.js: :meth:`FaceLandmarks68.align` (the landmarks'
bounding box padded by 20%, the ``alignedRect`` of a result) and
:meth:`FaceLandmarks68.align_dlib` (the square dlib-style box that face-api.js crops for
the recognition net).
"""

from __future__ import annotations

import math

import numpy as np

from .results import Box

#: dlib-style alignment constants (``FaceLandmarks.ts``): the box is ``eye-to-mouth / 0.45``
#: wide, and the centre of eyes and mouth sits at 50% across and 43% down.
ALIGN_REL_X = 0.5
ALIGN_REL_Y = 0.43
ALIGN_REL_SCALE = 0.45
#: Default padding of the landmarks' bounding box in :meth:`FaceLandmarks68.align`.
MIN_BOX_PADDING = 0.2

#: Index ranges of the 68-point groups (iBUG 300-W convention).
GROUPS = {
    "jaw_outline": slice(0, 17),
    "left_eye_brow": slice(17, 22),
    "right_eye_brow": slice(22, 27),
    "nose": slice(27, 36),
    "left_eye": slice(36, 42),
    "right_eye": slice(42, 48),
    "mouth": slice(48, 68),
}


def _center(points: np.ndarray) -> np.ndarray:
    """Mean point, summed left to right from (0, 0) as face-api.js ``getCenterPoint`` does."""
    total = np.zeros(2)
    for p in points:
        total = total + p
    return total / len(points)


class FaceLandmarks68:
    """68 facial landmarks of one face.

    Parameters
    ----------
    relative_positions : array, shape (68, 2)
        (x, y) relative to the face crop, 0..1.
    image_size : (width, height)
        Size of the face crop the landmark net saw (face-api.js ``imageDims``).
    shift : (x, y)
        Offset added to the crop's pixel positions, e.g. the crop's corner in the image.
    """

    def __init__(self, relative_positions, image_size, shift=(0.0, 0.0)):
        rel = np.asarray(relative_positions, dtype=np.float64).reshape(68, 2)
        self.image_size = (image_size[0], image_size[1])
        self.shift = (float(shift[0]), float(shift[1]))
        self.positions = rel * np.array(self.image_size, np.float64) + np.array(self.shift)
        self.positions.flags.writeable = False

    @property
    def relative_positions(self) -> np.ndarray:
        """(68, 2) positions relative to the crop, recomputed as face-api.js does."""
        return (self.positions - np.array(self.shift)) / np.array(self.image_size, np.float64)

    def shift_by(self, x: float, y: float) -> FaceLandmarks68:
        """The same landmarks with another shift (face-api.js ``shiftBy``)."""
        return FaceLandmarks68(self.relative_positions, self.image_size, (x, y))

    def for_size(self, width: int, height: int) -> FaceLandmarks68:
        """The landmarks for a crop of another size, shift reset (face-api.js ``forSize``)."""
        return FaceLandmarks68(self.relative_positions, (width, height))

    def group(self, name: str) -> np.ndarray:
        """Points of one group: ``jaw_outline``, ``left_eye_brow``, ..., ``mouth``."""
        return self.positions[GROUPS[name]]

    def ref_points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Centres of the left eye, right eye and mouth (``getRefPointsForAlignment``)."""
        return tuple(_center(self.group(g)) for g in ("left_eye", "right_eye", "mouth"))

    def align(
        self,
        detection=None,
        use_dlib: bool = False,
        min_box_padding: float = MIN_BOX_PADDING,
    ) -> Box:
        """The aligned face box (face-api.js ``align``).

        With ``detection`` (a FaceDetection or a Box), the landmarks are first shifted to
        its corner (floored for a FaceDetection, as face-api.js does). Default: the
        landmarks' bounding box padded by ``min_box_padding`` of its size; ``use_dlib``:
        :meth:`align_dlib`.
        """
        if detection is not None:
            box = getattr(detection, "box", detection)
            x, y = (
                (math.floor(box.x), math.floor(box.y)) if box is not detection else (box.x, box.y)
            )
            return self.shift_by(x, y).align(None, use_dlib, min_box_padding)
        if use_dlib:
            return self.align_dlib()
        return self.align_min_bbox(min_box_padding)

    def align_min_bbox(self, padding: float = MIN_BOX_PADDING) -> Box:
        """Bounding box of the points, grown by ``padding`` of its width and height.

        face-api.js ``minBbox`` starts its running maxima at 0, not at -infinity; that only
        matters for points left of or above the origin, and is reproduced.
        """
        xs, ys = self.positions[:, 0], self.positions[:, 1]
        min_x, min_y = float(xs.min()), float(ys.min())
        max_x, max_y = max(0.0, float(xs.max())), max(0.0, float(ys.max()))
        w, h = max_x - min_x, max_y - min_y
        pad_x, pad_y = w * padding, h * padding
        return Box(min_x - pad_x / 2, min_y - pad_y / 2, w + pad_x, h + pad_y)

    def align_dlib(self) -> Box:
        """The square box face-api.js crops for the recognition net (``alignDlib``).

        Side ``floor(mean eye-to-mouth distance / 0.45)``, placed so the centre of the eyes
        and the mouth sits at (50%, 43%) of it, corner floored and clamped at 0.
        """
        left_eye, right_eye, mouth = self.ref_points()
        dist = (math.hypot(*(mouth - left_eye)) + math.hypot(*(mouth - right_eye))) / 2
        size = math.floor(dist / ALIGN_REL_SCALE)
        ref = _center(np.stack([left_eye, right_eye, mouth]))
        x = math.floor(max(0.0, ref[0] - ALIGN_REL_X * size))
        y = math.floor(max(0.0, ref[1] - ALIGN_REL_Y * size))
        # face-api.js clamps with the *crop* size plus the corner (a no-op in practice)
        return Box(x, y, min(size, self.image_size[0] + x), min(size, self.image_size[1] + y))

    def roll_angle(self) -> float:
        """In-plane rotation of the face, radians: the angle of the line from eye to eye."""
        left_eye, right_eye, _ = self.ref_points()
        return math.atan2(right_eye[1] - left_eye[1], right_eye[0] - left_eye[0])

    def as_list(self) -> list:
        """Positions as 68 ``[x, y]`` pairs of Python floats (the CLI's JSON)."""
        return self.positions.tolist()

    def __repr__(self) -> str:
        return (
            f"FaceLandmarks68(crop {self.image_size[0]}x{self.image_size[1]}, shift {self.shift})"
        )
