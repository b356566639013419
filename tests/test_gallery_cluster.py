"""Clustering, labelling and search: the graph and Chinese whispers on random
descriptors, then the sample photos' faces with transformed copies of each."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import faceapi_np as fa
from faceapi_np.errors import InputError
from faceapi_np.gallery.cluster import chinese_whispers, cluster_descriptors, neighbour_graph


def _people(n_people, per_person, spread, seed=0):
    """Descriptors of ``n_people`` with ``per_person`` faces each, ``spread`` around a centre."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_people, 128)) * 0.15  # people ~1.7 apart
    noise = rng.standard_normal((n_people, per_person, 128)) * spread / np.sqrt(128)
    truth = np.repeat(np.arange(n_people), per_person)
    return (centres[:, None, :] + noise).reshape(-1, 128).astype(np.float32), truth


def test_graph_is_the_brute_force_graph_whatever_the_tile():
    x, _ = _people(6, 9, 0.35)
    d = np.sqrt(((x[:, None].astype(np.float64) - x[None].astype(np.float64)) ** 2).sum(-1))
    want = (d < 0.5) & ~np.eye(len(x), dtype=bool)
    for tile in (7, 16, 4096):
        indptr, indices, dist = neighbour_graph(x, 0.5, tile)
        got = np.zeros_like(want)
        for i in range(len(x)):
            got[i, indices[indptr[i] : indptr[i + 1]]] = True
            np.testing.assert_allclose(dist[indptr[i] : indptr[i + 1]], d[i][got[i]])
        np.testing.assert_array_equal(got, want)
    assert 0 < want.sum() < want.size // 2  # the case has edges, and not all of them


def test_clusters_find_people_deterministically():
    x, truth = _people(12, 8, 0.3, seed=1)
    perm = np.random.default_rng(2).permutation(len(x))
    got = cluster_descriptors(x[perm], 0.5)
    assert np.array_equal(got, cluster_descriptors(x[perm], 0.5, tile=5))
    # each cluster is one person, each person one cluster
    pairs = set(zip(got.tolist(), truth[perm].tolist()))
    assert len(pairs) == len(set(got.tolist())) == 12
    assert sorted(np.bincount(got)[1:].tolist()) == [8] * 12


def test_stray_edges_do_not_merge_two_groups():
    # two cliques of 5 joined by one edge: connected components would give 1 cluster
    edges = [(i, j) for g in (0, 5) for i in range(g, g + 5) for j in range(g, g + 5) if i != j]
    edges += [(4, 5), (5, 4)]
    src, dst = np.array(edges).T
    order = np.lexsort((dst, src))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=10))])
    labels = chinese_whispers(indptr, dst[order])
    assert labels.tolist() == [1] * 5 + [2] * 5
    # two pairs, each pair close, every cross edge weak: weights keep the pairs apart
    src, dst = np.array(
        [(0, 1), (1, 0), (2, 3), (3, 2)]
        + [(a, b) for a in (0, 1) for b in (2, 3)]
        + [(b, a) for a in (0, 1) for b in (2, 3)]
    ).T
    w = np.array([0.9] * 4 + [0.1] * 8)
    order = np.lexsort((dst, src))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=4))])
    assert chinese_whispers(indptr, dst[order], w[order]).tolist() == [1, 1, 2, 2]
    assert len(set(chinese_whispers(indptr, dst[order]).tolist())) == 1  # unweighted: merged


def test_bad_threshold_is_refused():
    with pytest.raises(InputError, match="threshold"):
        cluster_descriptors(np.zeros((3, 128), np.float32), -1)


# -- sample photos -------------------------------------------------------------------------

TRANSFORMS = {
    "as_is": lambda im: im,
    "mirror": lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    "turned": lambda im: im.rotate(6, resample=Image.Resampling.BICUBIC, fillcolor=(128,) * 3),
    "small": lambda im: im.resize(
        (im.width * 3 // 5, im.height * 3 // 5), Image.Resampling.LANCZOS
    ),
}


@pytest.fixture(scope="module")
def crops_gallery(samples_dir, weights_dir, tmp_path_factory):
    """Every face of the six sample photos (all different people), cut out as the
    recognition net sees it, in four renderings each, indexed as face crops."""
    from faceapi_np.api import aligned_face_crop

    root = tmp_path_factory.mktemp("crops")
    truth = {}
    for k, photo in enumerate(sorted(samples_dir.glob("sample*.jpg"))):
        faces = fa.detect_all_faces(photo).with_face_landmarks()
        for i, face in enumerate(faces):
            crop = Image.fromarray(aligned_face_crop(faces.image, face.landmarks))
            for name, transform in TRANSFORMS.items():
                path = root / f"p{k}_{i}_{name}.png"
                transform(crop).save(path)
                truth[str(path)] = f"p{k}_{i}"
    db = root.parent / "crops.db"
    report = fa.index_photos([root], db, crops=True)
    assert report.indexed == len(truth) and not report.failed
    g = fa.Gallery(db)
    yield g, truth
    g.close()


def test_sample_faces_cluster_by_person(crops_gallery):
    g, truth = crops_gallery
    clusters = g.cluster()  # default threshold
    faces = g.faces()
    assert len(clusters) == len(faces) == len(truth)
    people = {truth[f["image"]] for f in faces}
    members: dict[int, list[str]] = {}
    for f in faces:
        members.setdefault(f["cluster"], []).append(truth[f["image"]])
    purity = sum(max(m.count(p) for p in set(m)) for m in members.values()) / len(faces)
    print(
        f"\n{len(people)} people, {len(faces)} faces: {len(members)} clusters, purity {purity:.3f}"
    )
    assert purity >= 0.9
    assert len(members) <= 2 * len(people)
    assert g.cluster() == clusters  # deterministic


def test_label_cluster_then_search_and_identify(crops_gallery):
    g, truth = crops_gallery
    g.cluster()
    biggest = [f for f in g.faces() if f["cluster"] == 1]
    person = truth[biggest[0]["image"]]
    pid = g.label_cluster(1, "ann")
    assert ("ann" in g.labels) and pid == g.persons()[g.labels.index("ann")][0]
    hits = g.search(label="ann")
    assert [h["distance"] for h in hits] == sorted(h["distance"] for h in hits)
    found = {h["image"] for h in hits}
    assert {f["image"] for f in biggest} <= found
    assert all(truth[h["image"]] == person for h in hits if h["distance"] < 0.5)
    # a face crop of that person finds its own renderings first
    query = biggest[0]["image"]
    by_image = g.search(image=query, crops=True)
    assert by_image[0]["image"] == query and by_image[0]["distance"] < 1e-6
    desc = g.store.matrix().descriptors[g.store.matrix().ids == by_image[0]["face"]][0]
    assert g.identify([desc])[0].label == "ann"
    with pytest.raises(InputError, match="no unlabelled faces in cluster"):
        g.label_cluster(1, "bea")
    with pytest.raises(InputError, match="no person called"):
        g.search(label="nobody")
