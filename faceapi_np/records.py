"""Results as flat rows and as rounded JSON: output people can use as it is.

:func:`to_records` turns results (one image's faces, many images, video frames) into
one flat ``dict`` per face, every value a plain ``str``, ``int`` or ``float``, ready for
``pandas.DataFrame(rows)`` or ``csv.DictWriter`` without pandas being needed here.

:func:`round_record` rounds a JSON record as the command line prints it: pixels to
0.01 px, probabilities and distances to 1e-4, descriptors to the shortest decimal that
reads back as the same float32. :func:`round_distance` and :func:`distance_text` keep
a distance from reading as equal to the match threshold when it is not (0.5999 is not
printed as 0.6 next to a threshold of 0.6). face-api.js has no counterpart: it hands
back its class instances and leaves formatting to the page.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping

import numpy as np

#: Decimal places kept by :func:`round_record`, by JSON key. Pixels: 0.01 px is far below
#: what a detector resolves; probabilities and distances: 1e-4 separates any two values
#: a decision depends on (see :func:`round_distance` for the threshold itself).
PIXEL_DIGITS = 2
PROBABILITY_DIGITS = 4
AGE_DIGITS = 2
TIME_DIGITS = 4
_DIGITS = {
    "box": PIXEL_DIGITS,
    "landmarks": PIXEL_DIGITS,
    "landmarks5": PIXEL_DIGITS,
    "score": PROBABILITY_DIGITS,
    "distance": PROBABILITY_DIGITS,
    "gender_probability": PROBABILITY_DIGITS,
    "expressions": PROBABILITY_DIGITS,
    "age": AGE_DIGITS,
    "time": TIME_DIGITS,
}


def _plain(v):
    """NumPy scalars as the Python number they hold; everything else unchanged."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return float(v)
    return v


def _round_tree(v, digits: int | None):
    """Nested lists / dicts of plain numbers, each float rounded to ``digits`` (None: kept)."""
    if isinstance(v, Mapping):
        return {k: _round_tree(x, digits) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_round_tree(x, digits) for x in v]
    v = _plain(v)
    return round(v, digits) if isinstance(v, float) and digits is not None else v


def float32_exact(values) -> list[float]:
    """Each value as the shortest decimal that reads back as the same float32.

    A float32 descriptor element written as a float64 carries 17 digits
    (``0.12345679104328156``); its float32 repr (``0.12345679``) is half as long and
    ``np.float32(0.12345679)`` is exactly the original value.
    """
    # str() of a NumPy float32 is its shortest round-trip decimal (Dragon4, unique=True)
    return [float(str(v)) for v in np.asarray(values, dtype=np.float32).ravel()]


def round_distance(distance: float, threshold: float | None = None, digits: int = 4) -> float:
    """``distance`` rounded to ``digits`` places, with more where it would equal ``threshold``.

    A distance of 0.59996 is a match at threshold 0.6 while 0.6 is not; rounded to 4
    places both would read 0.6, so this keeps the digits that tell them apart.
    """
    distance = float(distance)
    out = round(distance, digits)
    while threshold is not None and out == threshold and distance != threshold and digits < 17:
        digits += 1
        out = round(distance, digits)
    return out


def distance_text(distance: float, threshold: float | None = None, digits: int = 2) -> str:
    """``distance`` as text with ``digits`` decimals, more where it would read as ``threshold``.

    face-api.js truncates to two decimals, so a distance of 0.608 at threshold 0.6 shows as
    ``unknown (0.6)``; here it shows as ``0.608``, and 0.5996 as ``0.5996``, not ``0.60``.
    """
    distance = float(distance)
    text = f"{distance:.{digits}f}"
    while (
        threshold is not None
        and float(text) == float(threshold)
        and distance != threshold
        and digits < 17
    ):
        digits += 1
        text = f"{distance:.{digits}f}"
    return text


def round_record(record: dict, full: bool = False, threshold: float | None = None) -> dict:
    """A JSON record (one image's or one face's) with its numbers rounded for printing.

    Parameters
    ----------
    record : dict
        As ``detect --json`` prints it (``{"image", ..., "faces": [...]}``) or one face's
        object (``{"box", "score", ...}``). Keys this function does not know are kept.
    full : bool
        Keep full precision: only NumPy scalars become Python numbers.
    threshold : float, optional
        The match threshold, so that no ``distance`` is rounded onto it.

    Returns
    -------
    dict
        A new record; ``record`` is not changed.
    """
    out = {}
    for key, v in record.items():
        if full:
            out[key] = _round_tree(v, None)
        elif key == "faces" and isinstance(v, list):
            out[key] = [round_record(f, full, threshold) for f in v]
        elif key == "descriptor" and v is not None:
            out[key] = float32_exact(v)
        elif key == "distance" and v is not None:
            out[key] = round_distance(v, threshold, PROBABILITY_DIGITS)
        elif key in _DIGITS:
            out[key] = _round_tree(v, _DIGITS[key])
        else:
            out[key] = _round_tree(v, None)
    return out


def _flatten(face: dict) -> dict:
    """One face's JSON object as flat columns: box -> x, y, width, height; lists numbered."""
    row = {}
    for key, v in face.items():
        if key == "box":
            row.update({k: _plain(x) for k, x in v.items()})
        elif isinstance(v, Mapping):  # expressions: expressions_happy, ...
            row.update({f"{key}_{k}": _plain(x) for k, x in v.items()})
        elif isinstance(v, (list, tuple, np.ndarray)):
            for i, x in enumerate(v):
                if isinstance(x, (list, tuple, np.ndarray)):  # points: landmarks_0_x, ...
                    row.update({f"{key}_{i}_{a}": _plain(c) for a, c in zip("xy", x)})
                else:  # descriptor_0 ... descriptor_127
                    row[f"{key}_{i}"] = _plain(x)
        else:
            row[key] = _plain(v)
    return row


def _face_dict(face) -> dict:
    if isinstance(face, Mapping):
        return dict(face)
    if hasattr(face, "as_dict"):
        return face.as_dict()
    raise TypeError(f"cannot make a record of {type(face).__name__}")


def _is_face(x) -> bool:
    return hasattr(x, "detection") or (isinstance(x, Mapping) and "box" in x)


def to_records(results, image=None) -> list[dict]:
    """Flat rows, one per face, ready for ``pandas.DataFrame(rows)``.

    Parameters
    ----------
    results
        The faces of one image (``detect_all_faces(...)``, a list of results, or one
        result), a list or other iterable of such per-image results, a ``{name: faces}``
        mapping, or the frames :func:`~faceapi_np.detect_video` yields.
    image : str or int, optional
        The ``image`` column for the faces of one image; for many images it is the
        mapping's key or the position in the list.

    Returns
    -------
    list of dict
        Columns ``image``, ``face`` (index within the image, best first), ``x``, ``y``,
        ``width``, ``height``, ``score``; ``frame`` and ``time`` for video frames; and
        what the chain added: ``landmarks_0_x`` .. ``landmarks_67_y``, ``landmarks5_0_x``
        .., ``descriptor_0`` .. ``descriptor_127``, ``expressions_<name>``, ``age``,
        ``gender``, ``gender_probability``. All values are plain Python numbers or str.

    Examples
    --------
    >>> rows = to_records({"a.jpg": faces_a, "b.jpg": faces_b})  # doctest: +SKIP
    >>> pandas.DataFrame(rows).groupby("image").score.max()  # doctest: +SKIP
    """
    if _is_face(results):
        return _rows([results], {"image": image})
    if hasattr(results, "faces") and hasattr(results, "index"):  # one video frame
        return _rows(results.faces, {"image": image, "frame": results.index, "time": results.time})
    if isinstance(results, Mapping):
        return [row for name, faces in results.items() for row in to_records(faces, name)]
    if not isinstance(results, Iterable):
        raise TypeError(f"cannot make records of {type(results).__name__}")
    items = list(results)
    if all(_is_face(x) for x in items):  # one image's faces (or none)
        return _rows(items, {"image": image})
    rows = []
    for i, item in enumerate(items):
        is_frame = hasattr(item, "faces") and hasattr(item, "index")
        rows += to_records(item, image if is_frame or image is not None else i)
    return rows


def _rows(faces, head: dict) -> list[dict]:
    head = {k: _plain(v) for k, v in head.items()}
    return [head | {"face": i} | _flatten(_face_dict(f)) for i, f in enumerate(faces)]
