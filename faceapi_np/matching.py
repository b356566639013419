"""Matching faces by their descriptors (face-api.js ``FaceMatcher``, ``euclideanDistance``).

Two faces are the same person when the Euclidean distance of their 128-D descriptors is
small; face-api.js's usual threshold is 0.6. A :class:`FaceMatcher` holds labelled
reference descriptors; a query gets the label whose *mean* distance is smallest, or
``'unknown'`` unless that mean is strictly below the threshold.

Distances are computed as one matrix product for many queries against many references
(``|q|^2 + |r|^2 - 2 q.r``, refined exactly for the winners), so a gallery of 100,000
descriptors answers a query in milliseconds; :func:`euclidean_distance` is face-api.js's
plain formula.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .fileio import write_text

DESCRIPTOR_SIZE = 128
DEFAULT_THRESHOLD = 0.6
UNKNOWN = "unknown"
#: Labels whose matrix-form mean distance is within this of the best are re-checked exactly.
_NEAR_TIE = 1e-5


def as_descriptor(d, what: str = "descriptor") -> np.ndarray:
    """Check and convert one descriptor to a float32 (128,) array; InputError otherwise."""
    try:
        a = np.asarray(d)
    except ValueError as exc:  # ragged nested lists
        raise InputError(f"{what} is not a flat list of {DESCRIPTOR_SIZE} numbers: {exc}") from None
    if a.dtype == object or not (
        np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)
    ):
        raise InputError(f"{what} must be numbers, got dtype {a.dtype}")
    if a.shape != (DESCRIPTOR_SIZE,):
        raise InputError(f"{what} must have shape ({DESCRIPTOR_SIZE},), got {a.shape}")
    with np.errstate(over="ignore"):  # a value beyond float32 becomes inf, refused below
        a = a.astype(np.float32)
    if not np.isfinite(a).all():
        raise InputError(f"{what} contains NaN or infinite values")
    return a


def euclidean_distance(a, b) -> float:
    """Euclidean distance of two descriptors, in float64 (face-api.js ``euclideanDistance``)."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise InputError(f"descriptors differ in length: {a.size} and {b.size}")
    return math.sqrt(float(np.sum((a - b) ** 2)))


@dataclass(frozen=True)
class FaceMatch:
    """A label and its (mean) distance to the query."""

    label: str
    distance: float

    def __str__(self) -> str:
        # face-api.js ``utils.round`` truncates: Math.floor(d * 100) / 100
        return f"{self.label} ({math.floor(self.distance * 100) / 100})"


class LabeledFaceDescriptors:
    """One person: a label and one or more reference descriptors (face-api.js class of that name)."""

    def __init__(self, label: str, descriptors):
        if not isinstance(label, str) or not label:
            raise InputError(f"label must be a non-empty string, got {label!r}")
        descs = [
            as_descriptor(d, f"descriptor {i} of {label!r}") for i, d in enumerate(descriptors)
        ]
        if not descs:
            raise InputError(f"{label!r} has no descriptors")
        self.label = label
        self.descriptors = descs

    def to_json(self) -> dict:
        """``{"label", "descriptors": [[128 floats], ...]}``, as face-api.js ``toJSON``."""
        return {
            "label": self.label,
            "descriptors": [d.tolist() for d in self.descriptors],
        }

    @classmethod
    def from_json(cls, obj) -> LabeledFaceDescriptors:
        """Inverse of :meth:`to_json`."""
        if (
            not isinstance(obj, dict)
            or "label" not in obj
            or not isinstance(obj.get("descriptors"), list)
        ):
            raise InputError("a labelled entry must be an object with 'label' and 'descriptors'")
        return cls(obj["label"], obj["descriptors"])

    def __repr__(self) -> str:
        return f"LabeledFaceDescriptors({self.label!r}, {len(self.descriptors)} descriptors)"


class FaceMatcher:
    """Match query descriptors against labelled references.

    Parameters
    ----------
    inputs : LabeledFaceDescriptors, descriptor, result with a ``descriptor``, or a list of them
        Bare descriptors and results are labelled ``person 1``, ``person 2``, ... as in face-api.js.
    distance_threshold : float
        A best mean distance at or above this gives ``'unknown'``. Default 0.6.
    """

    def __init__(self, inputs, distance_threshold: float = DEFAULT_THRESHOLD):
        if (
            isinstance(distance_threshold, (bool, np.bool_))
            or not isinstance(distance_threshold, numbers.Real)
            or not math.isfinite(distance_threshold)
            or distance_threshold <= 0
        ):
            raise InputError(
                f"distance_threshold must be a positive number, got {distance_threshold!r}"
            )
        items = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if not items:
            raise InputError(
                "FaceMatcher needs at least one labelled descriptor; the gallery is empty"
            )
        labelled, count = [], 0
        for item in items:
            if isinstance(item, LabeledFaceDescriptors):
                labelled.append(item)
                continue
            desc = getattr(item, "descriptor", item)
            if desc is None:
                raise InputError(
                    "a result without a descriptor cannot be matched; run with_face_descriptors() first"
                )
            count += 1
            labelled.append(LabeledFaceDescriptors(f"person {count}", [desc]))
        self.distance_threshold = float(distance_threshold)
        self.labeled_descriptors = labelled
        # One matrix of every reference descriptor, with the owner of each row
        self._refs = np.stack([d for ld in labelled for d in ld.descriptors]).astype(np.float64)
        self._owner = np.repeat(np.arange(len(labelled)), [len(ld.descriptors) for ld in labelled])
        self._counts = np.bincount(self._owner, minlength=len(labelled)).astype(np.float64)
        self._ref_sq = np.einsum("ij,ij->i", self._refs, self._refs)

    @property
    def labels(self) -> list[str]:
        """The labels, in gallery order."""
        if isinstance(self.labeled_descriptors, _LabelledRows):
            return list(self.labeled_descriptors.labels)
        return [ld.label for ld in self.labeled_descriptors]

    def mean_distances(self, queries) -> np.ndarray:
        """(Q, L) mean Euclidean distance of each query to each label's references."""
        queries = _as_list(queries)
        if not queries:
            return np.zeros((0, len(self.labeled_descriptors)))
        q = np.stack(
            [as_descriptor(d, f"query {i}") for i, d in enumerate(_as_list(queries))]
        ).astype(np.float64)
        sq = (q * q).sum(axis=1)[:, None] + self._ref_sq[None, :] - 2.0 * (q @ self._refs.T)
        dist = np.sqrt(np.maximum(sq, 0.0))  # (Q, R)
        n_labels = len(self.labeled_descriptors)
        sums = np.stack([np.bincount(self._owner, weights=row, minlength=n_labels) for row in dist])
        return sums / self._counts

    def match_descriptors(self, queries) -> list[FaceMatch]:
        """The nearest label (by mean distance) of each query, threshold not applied."""
        queries = _as_list(queries)
        means = self.mean_distances(queries)
        out = []
        for query, row in zip(queries, means):
            # The matrix form is good to ~1e-7; labels that close to the best are recomputed
            # the face-api.js way, and, as in its reduce(), the later one wins a tie.
            best, best_dist = None, math.inf
            for i in np.nonzero(row <= row.min() + _NEAR_TIE)[0]:
                d = self._exact_mean(query, int(i))
                if d <= best_dist:
                    best, best_dist = int(i), d
            out.append(FaceMatch(self.labeled_descriptors[best].label, best_dist))
        return out

    def match_descriptor(self, query) -> FaceMatch:
        """The nearest label of one query (face-api.js ``matchDescriptor``)."""
        return self.match_descriptors([query])[0]

    def find_best_matches(self, queries) -> list[FaceMatch]:
        """:meth:`find_best_match` for many queries, as one matrix computation."""
        return [
            (m if m.distance < self.distance_threshold else FaceMatch(UNKNOWN, m.distance))
            for m in self.match_descriptors(queries)
        ]

    def find_best_match(self, query) -> FaceMatch:
        """The nearest label, or ``'unknown'`` unless its mean distance is below the threshold."""
        return self.find_best_matches([query])[0]

    def _exact_mean(self, query, label_index: int) -> float:
        refs = self.labeled_descriptors[label_index].descriptors
        q = as_descriptor(query)
        return sum(euclidean_distance(r, q) for r in refs) / len(refs)

    def to_json(self) -> dict:
        """``{"distanceThreshold", "labeledDescriptors": [...]}``, face-api.js ``toJSON``'s shape."""
        return {
            "distanceThreshold": self.distance_threshold,
            "labeledDescriptors": [ld.to_json() for ld in self.labeled_descriptors],
        }

    @classmethod
    def from_json(cls, obj) -> FaceMatcher:
        """Inverse of :meth:`to_json`; accepts what face-api.js's ``toJSON`` wrote, and the
        ``JSON.stringify`` shape (``_labeledDescriptors``, ``_label``, ``_descriptors`` as
        index-keyed objects) that older face-api.js code saved."""
        from .gallery.jsonio import parse_matcher_json

        threshold, entries = parse_matcher_json(obj)
        threshold = DEFAULT_THRESHOLD if threshold is None else threshold
        return cls([LabeledFaceDescriptors(k, v) for k, v in entries], threshold)

    @classmethod
    def from_arrays(
        cls, labels, descriptors, owner, distance_threshold: float = DEFAULT_THRESHOLD
    ) -> FaceMatcher:
        """A matcher straight from one matrix: row ``i`` of ``descriptors`` (N, 128) belongs
        to ``labels[owner[i]]``; every label must own a row. Checks the matrix once instead
        of each descriptor, so a gallery database feeds 100,000 people quickly."""
        desc = np.asarray(descriptors, dtype=np.float32)
        owner = np.asarray(owner, dtype=np.int64)
        labels = list(labels)
        if desc.ndim != 2 or desc.shape[1] != DESCRIPTOR_SIZE or len(owner) != len(desc):
            raise InputError(f"descriptors must be (N, {DESCRIPTOR_SIZE}) with one owner per row")
        if not np.isfinite(desc).all():
            raise InputError("descriptors contain NaN or infinite values")
        if not labels:
            raise InputError(
                "FaceMatcher needs at least one labelled descriptor; the gallery is empty"
            )
        counts = np.bincount(owner, minlength=len(labels))
        if len(counts) != len(labels) or not counts.all() or owner.min() < 0:
            raise InputError("every label needs at least one descriptor, and each row an owner")
        if not all(isinstance(label, str) and label for label in labels):
            bad = next(lab for lab in labels if not (isinstance(lab, str) and lab))
            raise InputError(f"label must be a non-empty string, got {bad!r}")
        order = np.argsort(owner, kind="stable")
        grouped = desc[order]  # rows grouped by label
        ends = np.cumsum(counts)
        labelled = _LabelledRows(labels, grouped, ends - counts, ends)
        matcher = cls.__new__(cls)
        matcher.__init__([labelled[0]], distance_threshold)  # checks the threshold (only)
        matcher.labeled_descriptors = labelled
        matcher._refs = grouped.astype(np.float64)
        matcher._owner = owner[order]
        matcher._counts = counts.astype(np.float64)
        matcher._ref_sq = np.einsum("ij,ij->i", matcher._refs, matcher._refs)
        return matcher

    def save(self, path: str | os.PathLike) -> None:
        """Write :meth:`to_json` to a file, whole or not at all (temporary file + rename)."""
        write_text(path, json.dumps(self.to_json()))

    @classmethod
    def load(cls, path: str | os.PathLike) -> FaceMatcher:
        """Read a gallery written by :meth:`save` or by face-api.js (either JSON shape)."""
        from .gallery.jsonio import read_json_file

        obj = read_json_file(path)
        try:
            return cls.from_json(obj)
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from None


class _LabelledRows(Sequence):
    """``labeled_descriptors`` of a matcher made by :meth:`FaceMatcher.from_arrays`: the
    LabeledFaceDescriptors of a label are made when first asked for (a query needs only
    its winner's), so 100,000 people cost no 100,000 objects up front."""

    def __init__(self, labels, rows, starts, ends):
        self.labels, self._rows = labels, rows
        self._starts, self._ends = starts.tolist(), ends.tolist()
        self._made: dict[int, LabeledFaceDescriptors] = {}

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        i = range(len(self))[i]  # negative indices, IndexError
        if i not in self._made:
            ld = LabeledFaceDescriptors.__new__(LabeledFaceDescriptors)  # rows checked
            ld.label = self.labels[i]
            ld.descriptors = list(self._rows[self._starts[i] : self._ends[i]])
            self._made[i] = ld
        return self._made[i]


def enroll_into_json(
    path: str | os.PathLike, label: str, descriptors, threshold: float = DEFAULT_THRESHOLD
) -> FaceMatcher:
    """Add ``descriptors`` under ``label`` to the JSON gallery at ``path`` (created if missing).

    The read-modify-write holds an exclusive lock on ``<path>.lock``, so enrolls from many
    processes all land, and the file is replaced atomically, so a killed enroll leaves the
    previous gallery. Entries are kept as they are, duplicates of a label included; the new
    descriptors join the first entry with that label, or a new entry at the end.
    Returns the gallery as written.
    """
    import fcntl

    lock_path = f"{os.fspath(path)}.lock"
    try:
        lock = open(lock_path, "a")
    except OSError as exc:
        from .errors import OutputError

        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if os.path.exists(path):
            old = FaceMatcher.load(path)
            entries = [(ld.label, list(ld.descriptors)) for ld in old.labeled_descriptors]
            threshold = old.distance_threshold
        else:
            entries = []
        for known, descs in entries:
            if known == label:
                descs.extend(descriptors)
                break
        else:
            entries.append((label, list(descriptors)))
        matcher = FaceMatcher([LabeledFaceDescriptors(k, v) for k, v in entries], threshold)
        matcher.save(path)
    return matcher


def _as_list(queries) -> list:
    """Queries as a list of descriptors (a (Q, 128) array gives its rows)."""
    return list(queries)
