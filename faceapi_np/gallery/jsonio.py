"""face-api.js gallery JSON in and out: both shapes face-api.js users have on disk.

face-api.js's ``FaceMatcher.toJSON()`` writes::

    {"distanceThreshold": 0.6,
     "labeledDescriptors": [{"label": "ann", "descriptors": [[128 numbers], ...]}, ...]}

but a ``FaceMatcher`` (or ``LabeledFaceDescriptors``) passed through ``JSON.stringify``
by older code keeps its private fields, and each ``Float32Array`` becomes an object keyed
by index::

    {"_distanceThreshold": 0.6,
     "_labeledDescriptors": [{"_label": "ann", "_descriptors": [{"0": 0.1, "1": -0.2, ...}]}]}

:func:`parse_matcher_json` reads either into plain
``(threshold, [(label, [descriptor, ...]), ...])``; :func:`import_json` and
:func:`export_json` move galleries between such files and a gallery database, entries
kept as they are, duplicate labels included.
"""

from __future__ import annotations

import json
import os

import numpy as np

from .. import limits
from ..errors import InputError
from ..fileio import write_text


def parse_matcher_json(obj) -> tuple[float | None, list[tuple[str, list]]]:
    """The threshold and ``(label, descriptors)`` entries of a gallery JSON object.

    Accepts the ``toJSON`` shape and the ``JSON.stringify`` shape (underscored keys,
    index-keyed descriptor objects). The shape is checked here; the threshold (None when
    absent) and the descriptors are passed on as found, for the matcher or the database
    to check. (This module imports neither, so that ``matching`` can use it.)
    """
    entries = threshold = None
    if isinstance(obj, dict):
        entries = _first(obj, "labeledDescriptors", "_labeledDescriptors")
        threshold = _first(obj, "distanceThreshold", "_distanceThreshold")
    if not isinstance(entries, list):
        raise InputError(
            "not a face matcher JSON: expected an object with 'labeledDescriptors' "
            "(face-api.js toJSON) or '_labeledDescriptors' (JSON.stringify)"
        )
    parsed = [_entry(e, i) for i, e in enumerate(entries)]
    count = sum(len(descs) for _, descs in parsed)
    limits.check("max_gallery_descriptors", count, "the gallery's number of descriptors")
    return threshold, parsed


def _first(obj: dict, *keys):
    for k in keys:
        if k in obj:
            return obj[k]
    return None


def _entry(obj, i: int) -> tuple[str, list]:
    """One labelled entry in either shape."""
    label = _first(obj, "label", "_label") if isinstance(obj, dict) else None
    descs = _first(obj, "descriptors", "_descriptors") if isinstance(obj, dict) else None
    if label is None or descs is None:
        raise InputError(
            f"entry {i}: a labelled entry must be an object with 'label' and 'descriptors' "
            "(or '_label' and '_descriptors')"
        )
    if not isinstance(label, str) or not label:
        raise InputError(f"entry {i}: label must be a non-empty string, got {label!r}")
    if isinstance(descs, dict):  # a JSON.stringify'd array of Float32Arrays may be keyed too
        descs = _indexed_values(descs, f"descriptors of {label!r}")
    if not isinstance(descs, list) or not descs:
        raise InputError(f"entry {i} ({label!r}) has no descriptors")
    out = []
    for j, d in enumerate(descs):
        if isinstance(d, dict):  # JSON.stringify(Float32Array): {"0": .., "1": .., ...}
            d = _indexed_values(d, f"descriptor {j} of {label!r}")
        out.append(d)
    return label, out


def _indexed_values(obj: dict, what: str) -> list:
    """The values of an object keyed ``"0"``, ``"1"``, ... in index order."""
    try:
        keys = sorted(obj, key=int)
    except (TypeError, ValueError):
        raise InputError(f"{what}: expected an array or an object keyed by index") from None
    if [int(k) for k in keys] != list(range(len(keys))):
        raise InputError(f"{what}: the index keys are not 0..{len(keys) - 1}")
    return [obj[k] for k in keys]


def read_json_file(path: str | os.PathLike):
    """The JSON object in a gallery file, read within ``limits.max_gallery_bytes``;
    InputError naming the file when it cannot be read or parsed."""
    try:
        # a FIFO would block open() and a device never ends: only plain files are read
        if os.path.exists(path) and not os.path.isdir(path) and not os.path.isfile(path):
            raise InputError(f"cannot read gallery {path}: not a regular file")
        cap = limits.get("max_gallery_bytes")
        with open(path, "rb") as f:
            raw = f.read(cap + 1)
        if len(raw) > cap:
            raise limits.exceeded("max_gallery_bytes", f"gallery {path} is too large")
        return json.loads(raw)
    except FileNotFoundError:
        raise InputError(f"no such gallery file: {path}") from None
    except OSError as exc:  # a folder, no permission, ...
        raise InputError(f"cannot read gallery {path}: {exc.strerror}") from None
    except (ValueError, RecursionError) as exc:  # not JSON, not UTF-8, nested too deeply
        if isinstance(exc, InputError):
            raise
        why = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise InputError(f"{path} is not a JSON gallery: {why}") from None


def read_json(path: str | os.PathLike):
    """:func:`parse_matcher_json` of a gallery file; InputError naming the file."""
    obj = read_json_file(path)
    try:
        return parse_matcher_json(obj)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def import_json(store, path: str | os.PathLike) -> int:
    """Add every entry of a gallery JSON file to ``store`` as a new person, in one
    transaction; the file's threshold becomes the gallery's. Returns the entry count."""
    threshold, entries = read_json(path)
    store.add_persons(entries, threshold=threshold)
    return len(entries)


def export_json(store, path: str | os.PathLike) -> int:
    """Write the gallery's persons to ``path`` in face-api.js's ``toJSON`` shape
    (atomically); persons without faces are left out. Returns the entry count."""
    m = store.matrix()
    order = np.argsort(m.person, kind="stable")  # rows by person id, in id order within
    rows = order[m.person[order] >= 0]
    persons, starts = np.unique(m.person[rows], return_index=True)
    groups = np.split(rows, starts[1:]) if len(rows) else []
    labels = m.labels
    entries = [
        {"label": labels[int(p)], "descriptors": m.descriptors[g].astype(float).tolist()}
        for p, g in zip(persons, groups)
    ]
    obj = {"distanceThreshold": store.distance_threshold, "labeledDescriptors": entries}
    write_text(path, json.dumps(obj))
    return len(entries)
