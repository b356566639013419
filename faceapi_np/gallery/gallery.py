"""The :class:`Gallery`: one object for a gallery database and everything done with it.

::

    import faceapi_np as fa
    with fa.Gallery("photos.db") as g:
        g.index(["~/Pictures"], jobs=4)          # every face of every photo
        g.cluster()                              # group the faces nobody named yet
        g.label_cluster(1, "ann")                # the biggest group is Ann
        for hit in g.search(label="ann"):        # where does Ann appear?
            print(hit["image"], hit["box"], hit["distance"])
        print(g.identify([descriptor]))          # who is this face?

The modules behind it: :mod:`~faceapi_np.gallery.store` (the SQLite schema and the
descriptor matrix), :mod:`~faceapi_np.gallery.jsonio` (face-api.js JSON),
:mod:`~faceapi_np.gallery.index`, :mod:`~faceapi_np.gallery.cluster` and
:mod:`~faceapi_np.gallery.search`.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import InputError
from ..matching import FaceMatch, FaceMatcher
from . import cluster as _cluster
from . import jsonio, search
from .store import Store


class Gallery:
    """A gallery database: enrolled people, indexed photos, clusters (see module docstring).

    Parameters
    ----------
    path : str or PathLike
        The SQLite file, created with its schema if missing (``gallery.db`` by default).
    create : bool
        With False, a missing file is an InputError instead.
    """

    def __init__(self, path: str | os.PathLike = "gallery.db", create: bool = True):
        self.store = Store(path, create)
        self._matcher = None  # (key, threshold, FaceMatcher) of the last matcher built

    @property
    def path(self) -> str:
        return self.store.path

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Gallery:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        m = self.store.matrix()
        return f"Gallery({self.path!r}: {len(m.labels)} persons, {m.n} faces)"

    # -- people ------------------------------------------------------------------------

    def enroll(self, label: str, faces, threshold: float | None = None) -> int:
        """Add faces (descriptors, or face dicts / results with a ``descriptor``) under
        ``label``, in one transaction; returns the person's id. See :meth:`Store.enroll`."""
        records = []
        for f in faces:
            if hasattr(f, "as_dict") and getattr(f, "descriptor", None) is not None:
                f = f.as_dict()  # a FaceResult: keep its box, score and landmarks
            records.append(f)
        return self.store.enroll(label, records, threshold)

    def persons(self) -> list[tuple[int, str]]:
        """``(id, label)`` of every person, in enrollment order."""
        return self.store.persons()

    @property
    def labels(self) -> list[str]:
        """Every person's label, in enrollment order (repeats kept)."""
        return [label for _, label in self.persons()]

    def matcher(self, threshold: float | None = None) -> FaceMatcher:
        """A :class:`~faceapi_np.matching.FaceMatcher` of every person's faces, in
        enrollment order (face-api.js semantics); rebuilt only when the gallery changed."""
        m = self.store.matrix()
        threshold = self.store.distance_threshold if threshold is None else threshold
        key = (m.generation, m.n, threshold)
        if self._matcher is not None and self._matcher[0] == key:
            return self._matcher[1]
        refs = m.person >= 0
        if not refs.any():
            raise InputError(f"{self.path} has no enrolled faces: the gallery is empty")
        persons, owner = np.unique(m.person[refs], return_inverse=True)
        labels = m.labels
        desc = m.descriptors if refs.all() else m.descriptors[refs]  # no copy for pure galleries
        matcher = FaceMatcher.from_arrays(
            [labels[p] for p in persons.tolist()], desc, owner, threshold
        )
        self._matcher = (key, matcher)
        return matcher

    def identify(self, descriptors, threshold: float | None = None) -> list[FaceMatch]:
        """The best label (or ``'unknown'``) of each descriptor (``find_best_matches``)."""
        return self.matcher(threshold).find_best_matches(descriptors)

    def import_json(self, path: str | os.PathLike) -> int:
        """Add the entries of a face-api.js gallery JSON (either shape) as new persons."""
        return jsonio.import_json(self.store, path)

    def export_json(self, path: str | os.PathLike) -> int:
        """Write the persons in face-api.js's ``toJSON`` shape (atomically)."""
        return jsonio.export_json(self.store, path)

    # -- photo collections -------------------------------------------------------------

    def index(self, paths, **kwargs):
        """Index photos into this gallery: :func:`~faceapi_np.gallery.index.index_photos`."""
        from .index import index_photos

        return index_photos(paths, self, **kwargs)

    def failed(self) -> list[tuple[str, str]]:
        """``(path, error)`` of every photo the index could not process."""
        q = "SELECT path, error FROM images WHERE error IS NOT NULL ORDER BY path"
        return self.store.conn.execute(q).fetchall()

    def faces(self) -> list[dict]:
        """Every indexed face (image, face_index, box, score, cluster, label), by image."""
        q = (
            "SELECT f.id, f.image, f.face_index, f.x, f.y, f.w, f.h, f.score, f.cluster, "
            "p.label FROM faces f LEFT JOIN persons p ON p.id = f.person_id "
            "WHERE f.image_id IS NOT NULL ORDER BY f.image, f.face_index"
        )
        return [
            {
                "face": r[0],
                "image": r[1],
                "face_index": r[2],
                "box": {"x": r[3], "y": r[4], "width": r[5], "height": r[6]},
                "score": r[7],
                "cluster": r[8],
                "label": r[9],
            }
            for r in self.store.conn.execute(q)
        ]

    def cluster(self, threshold: float = _cluster.DEFAULT_CLUSTER_THRESHOLD) -> dict[int, int]:
        """Cluster the indexed faces of no person (Chinese whispers); ``{face id: cluster}``."""
        return _cluster.cluster_store(self.store, threshold)

    def label_cluster(self, cluster: int, label: str) -> int:
        """Enroll a cluster's faces as ``label``; returns the person id."""
        return _cluster.label_cluster(self.store, cluster, label)

    def search(
        self,
        label: str | None = None,
        image=None,
        descriptor=None,
        threshold: float | None = None,
        options=None,
        crops: bool = False,
    ) -> list[dict]:
        """Indexed faces of a person (``label``), of the face in ``image``, or near a
        ``descriptor``: ``{"image", "box", "score", "distance", "face", "cluster",
        "label"}``, nearest first. ``image`` must hold one face (the best one is taken);
        ``crops=True`` takes the whole image as the face."""
        if sum(x is not None for x in (label, image, descriptor)) != 1:
            raise InputError("search needs exactly one of label, image or descriptor")
        if label is not None:
            return search.search_label(self.store, label, threshold)
        if image is not None:
            descriptor = descriptor_of_face_image(image, options, crops)
        return search.search_descriptor(self.store, descriptor, threshold)


def descriptor_of_face_image(image, options=None, crops: bool = False) -> np.ndarray:
    """The descriptor of the face in ``image``: its best face, or the whole image if
    ``crops``. InputError when no face is found."""
    from ..api import compute_face_descriptors, detect_single_face

    if crops:
        return compute_face_descriptors([image])[0]
    face = detect_single_face(image, options)
    if face is None:
        raise InputError(f"no face found in {image if isinstance(image, str) else 'the image'}")
    return face.with_face_landmarks().with_face_descriptor().descriptor
