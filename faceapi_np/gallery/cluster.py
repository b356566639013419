"""Grouping the faces nobody has named yet: Chinese whispers on the distance graph.

The method is dlib's face clustering (``dlib.chinese_whispers_clustering``, after
C. Biemann, "Chinese Whispers: an efficient graph clustering algorithm", 2006):

1. **Graph.** Every face is a node; two faces are joined by an edge when the Euclidean
   distance of their descriptors is below the threshold (0.5 by default, a little
   stricter than the 0.6 a :class:`~faceapi_np.matching.FaceMatcher` uses, because
   chains of near pairs would otherwise link different people). The distances are
   computed exactly, tile by tile (:data:`TILE` x :data:`TILE` faces at a time), so the
   full N x N matrix never exists: 100,000 faces need a few tens of MB besides the edges.
2. **Whispers.** Each node starts in its own cluster. In each round the nodes are
   visited in a shuffled order and each takes the cluster with the largest total edge
   weight among its neighbours (ties: the smallest cluster number). An edge weighs
   ``1 - distance / threshold``, so close pairs outvote pairs near the threshold: four
   renderings of one face, 0.2 apart, stay together even when each is 0.48 from four
   renderings of another face, where equal weights would merge the two. Rounds repeat
   until nothing changes (at most :data:`MAX_ROUNDS`). Unlike connected components, a
   few stray edges between two people do not merge them.
3. **Numbering.** Clusters are numbered 1, 2, ... by size, largest first (ties: by
   their first face), so the result depends only on the faces and their order; the
   shuffles use a fixed seed, which makes the whole run deterministic.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

DEFAULT_CLUSTER_THRESHOLD = 0.5
#: Faces per side of one tile of the distance matrix (TILE^2 float32 = 16 MiB).
TILE = 2048
MAX_ROUNDS = 100
SEED = 0
#: Pairs whose float32 matrix-form distance is this close to the threshold are recomputed
#: in float64 the plain way, so the graph does not depend on rounding.
_MARGIN = 1e-3


def neighbour_graph(descriptors, threshold: float, tile: int = TILE):
    """Faces closer than ``threshold``, as a CSR adjacency (``indptr``, ``indices``).

    Parameters
    ----------
    descriptors : array, shape (N, 128)
    threshold : float
        Pairs at a distance strictly below it are joined.
    tile : int
        Faces per side of one block of the distance matrix.

    Returns
    -------
    indptr : (N + 1,) int64, indices : (E,) int64 and distances : (E,) float64
        Neighbours of node ``i`` are ``indices[indptr[i]:indptr[i + 1]]``, ascending, at
        ``distances[indptr[i]:indptr[i + 1]]``; each undirected edge appears twice, self
        loops never.
    """
    x = np.asarray(descriptors, dtype=np.float32)
    n = len(x)
    sq = np.einsum("ij,ij->i", x, x)
    limit = (threshold + _MARGIN) ** 2
    rows, cols = [], []
    for a in range(0, n, tile):
        xa = x[a : a + tile]
        for b in range(a, n, tile):  # upper triangle of tiles only: distances are symmetric
            d2 = xa @ x[b : b + tile].T  # (A, B) dot products, then |a|^2 + |b|^2 - 2 a.b
            d2 *= -2.0  # in place: one tile in memory, no temporaries
            d2 += sq[a : a + tile, None]
            d2 += sq[None, b : b + tile]
            i, j = np.nonzero(d2 < limit)
            i, j = i + a, j + b
            keep = i < j  # each pair once, no self loops
            rows.append(i[keep])
            cols.append(j[keep])
    i = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    j = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    exact = np.sqrt(((x[i].astype(np.float64) - x[j].astype(np.float64)) ** 2).sum(axis=1))
    near = exact < threshold
    i, j, exact = i[near], j[near], exact[near]
    src = np.concatenate([i, j]).astype(np.int64)
    dst = np.concatenate([j, i]).astype(np.int64)
    order = np.lexsort((dst, src))
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    return indptr, dst[order], np.concatenate([exact, exact])[order]


def chinese_whispers(indptr, indices, weights=None, max_rounds: int = MAX_ROUNDS, seed: int = SEED):
    """Cluster a weighted graph (CSR, as :func:`neighbour_graph` gives it, with edge
    weights; default all 1) by Chinese whispers; returns (N,) cluster numbers 1, 2, ...
    by size."""
    n = len(indptr) - 1
    labels = list(range(n))
    weights = np.ones(len(indices)) if weights is None else np.asarray(weights, np.float64)
    neighbours = [
        list(
            zip(
                indices[indptr[k] : indptr[k + 1]].tolist(),
                weights[indptr[k] : indptr[k + 1]].tolist(),
            )
        )
        for k in range(n)
    ]
    rng = np.random.default_rng(seed)
    for _ in range(max_rounds):
        changed = False
        for node in rng.permutation(n).tolist():
            nb = neighbours[node]
            if not nb:
                continue
            votes: dict[int, float] = {}
            for other, w in nb:
                lab = labels[other]
                votes[lab] = votes.get(lab, 0.0) + w
            best = max(votes.items(), key=lambda kv: (kv[1], -kv[0]))[0]
            if best != labels[node]:
                labels[node], changed = best, True
        if not changed:
            break
    return _renumber(np.asarray(labels, np.int64))


def _renumber(labels: np.ndarray) -> np.ndarray:
    """Cluster numbers 1.. by size (largest first), ties by first member."""
    uniq, first, counts = np.unique(labels, return_index=True, return_counts=True)
    rank = np.lexsort((first, -counts))  # by size descending, then first member
    number = np.empty(len(uniq), np.int64)
    number[rank] = np.arange(1, len(uniq) + 1)
    return number[np.searchsorted(uniq, labels)]


def cluster_descriptors(
    descriptors, threshold: float = DEFAULT_CLUSTER_THRESHOLD, tile: int = TILE
):
    """Cluster numbers (N,) of descriptors (N, 128): Chinese whispers on the graph of
    pairs closer than ``threshold`` (see the module docstring)."""
    if not (isinstance(threshold, (int, float)) and 0 < threshold < 4):
        raise InputError(f"cluster threshold must be a number in (0, 4), got {threshold!r}")
    if len(descriptors) == 0:
        return np.zeros(0, np.int64)
    indptr, indices, dist = neighbour_graph(descriptors, threshold, tile)
    return chinese_whispers(indptr, indices, 1.0 - dist / threshold)


def cluster_store(store, threshold: float = DEFAULT_CLUSTER_THRESHOLD) -> dict[int, int]:
    """Cluster the indexed faces that belong to no person; store and return their clusters.

    Faces are taken in the order of their image path and rank in it, so the numbering does
    not depend on the order the index wrote them. Every earlier cluster number is
    replaced, in one transaction. Returns ``{face id: cluster}``.
    """
    m = store.matrix()
    pool = m.ids[m.indexed & (m.person < 0)]
    ordered = np.array(
        [
            r[0]
            for r in store.conn.execute(
                "SELECT id FROM faces WHERE image_id IS NOT NULL AND person_id IS NULL "
                "ORDER BY image, face_index, id"
            )
        ],
        np.int64,
    )
    ordered = ordered[np.isin(ordered, pool)]  # faces written since the matrix was read wait
    rows = np.searchsorted(m.ids, ordered)
    clusters = cluster_descriptors(m.descriptors[rows], threshold)
    result = dict(zip(ordered.tolist(), clusters.tolist()))
    with store.transaction() as c:
        c.execute("UPDATE faces SET cluster = NULL WHERE cluster IS NOT NULL AND person_id IS NULL")
        c.executemany(
            "UPDATE faces SET cluster = ? WHERE id = ?", [(v, k) for k, v in result.items()]
        )
    return result


def label_cluster(store, cluster: int, label: str) -> int:
    """Enroll the faces of a cluster as ``label`` (joining the first person with that label,
    or a new one), in one transaction; returns the person id."""
    import time

    if not isinstance(label, str) or not label:
        raise InputError(f"label must be a non-empty string, got {label!r}")
    with store.transaction() as c:
        n = c.execute(
            "SELECT count(*) FROM faces WHERE cluster = ? AND person_id IS NULL", (int(cluster),)
        ).fetchone()[0]
        if n == 0:
            raise InputError(f"no unlabelled faces in cluster {cluster} (run cluster first)")
        found = c.execute(
            "SELECT id FROM persons WHERE label = ? ORDER BY id LIMIT 1", (label,)
        ).fetchone()
        if found:
            pid = found[0]
        else:
            pid = c.execute(
                "INSERT INTO persons (label, created) VALUES (?, ?)", (label, time.time())
            ).lastrowid
        c.execute(
            "UPDATE faces SET person_id = ? WHERE cluster = ? AND person_id IS NULL",
            (pid, int(cluster)),
        )
    return pid
