"""Where does a person appear? The indexed faces nearest to a person or a face, best first.

A person (by label) is compared the way a :class:`~faceapi_np.matching.FaceMatcher`
compares a query with a label: the *mean* Euclidean distance from each indexed face to
the person's reference descriptors; a face image is compared with its own descriptor.
Faces at a distance strictly below the threshold are returned nearest first, and faces
already labelled as that person (by ``label_cluster``) are always included.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

#: Faces whose details are fetched per query to the database.
_CHUNK = 500
#: Indexed faces compared per step (32 MiB of float64).
_ROWS = 1 << 15


def distances_to(store, refs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Face ids of every indexed face and their mean distance (float64) to ``refs`` (R, 128)."""
    m = store.matrix()
    rows = np.flatnonzero(m.indexed)
    refs = np.asarray(refs, np.float64)
    out = np.empty(len(rows))
    for a in range(0, len(rows), _ROWS):  # in chunks: a million faces need no float64 copy
        faces = m.descriptors[rows[a : a + _ROWS]].astype(np.float64)  # (F, 128)
        d2 = (faces * faces).sum(1)[:, None] + (refs * refs).sum(1)[None, :] - 2.0 * faces @ refs.T
        out[a : a + _ROWS] = np.sqrt(np.maximum(d2, 0.0)).mean(axis=1)
    return m.ids[rows], out


def search_label(store, label: str, threshold: float | None = None) -> list[dict]:
    """Indexed faces of the person(s) called ``label``, nearest first (see module docstring).

    Several persons may share a label; a face's distance is then its smallest mean distance
    to any of them.
    """
    m = store.matrix()
    persons = [pid for pid, name in m.labels.items() if name == label]
    if not persons:
        raise InputError(f"no person called {label!r} in {store.path}")
    threshold = store.distance_threshold if threshold is None else threshold
    ids, best = m.ids[m.indexed], np.full(int(m.indexed.sum()), np.inf)
    for pid in persons:
        refs = m.descriptors[m.person == pid]
        if len(refs):
            best = np.minimum(best, distances_to(store, refs)[1])
    labelled = np.isin(m.person[m.indexed], persons)
    keep = (best < threshold) | labelled
    return _records(store, ids[keep], best[keep])


def search_descriptor(store, descriptor, threshold: float | None = None) -> list[dict]:
    """Indexed faces within ``threshold`` of one descriptor, nearest first."""
    from ..matching import as_descriptor

    threshold = store.distance_threshold if threshold is None else threshold
    ids, dist = distances_to(store, as_descriptor(descriptor)[None, :])
    keep = dist < threshold
    return _records(store, ids[keep], dist[keep])


def _records(store, ids: np.ndarray, dist: np.ndarray) -> list[dict]:
    """JSON-ready records of faces, nearest first (ties: by face id)."""
    order = np.lexsort((ids, dist))
    ids, dist = ids[order].tolist(), dist[order].tolist()
    rows = {}
    for a in range(0, len(ids), _CHUNK):
        part = ids[a : a + _CHUNK]
        q = (
            "SELECT f.id, f.image, f.x, f.y, f.w, f.h, f.score, f.cluster, p.label "
            "FROM faces f LEFT JOIN persons p ON p.id = f.person_id "
            f"WHERE f.id IN ({', '.join('?' * len(part))})"
        )
        rows.update((r[0], r) for r in store.conn.execute(q, part))
    out = []
    for face_id, d in zip(ids, dist):
        if face_id not in rows:  # removed since the matrix was read
            continue
        _, image, x, y, w, h, score, cluster, label = rows[face_id]
        out.append(
            {
                "image": image,
                "box": {"x": x, "y": y, "width": w, "height": h},
                "score": score,
                "distance": d,
                "face": face_id,
                "cluster": cluster,
                "label": label,
            }
        )
    return out
