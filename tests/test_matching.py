"""Descriptor matching: euclidean_distance, FaceMatcher, FaceMatch and the gallery JSON.

Reference behaviour is face-api.js 0.22.2 (``globalApi/FaceMatcher.js``,
``euclideanDistance.js``, ``classes/LabeledFaceDescriptors.js``, ``classes/FaceMatch.js``).
The distances below are built from dyadic numbers so that hand-computed means are exact
in binary floating point.
"""

from __future__ import annotations

import json
import math
import os
import re

import numpy as np
import pytest

from faceapi_np import (
    FaceMatch,
    FaceMatcher,
    LabeledFaceDescriptors,
    euclidean_distance,
)
from faceapi_np.errors import InputError
from faceapi_np.results import Box, FaceDetection, FaceResult

D = 128


def vec(**coords) -> np.ndarray:
    """A float32 128-D descriptor, zero except ``e<i>=value`` entries (``vec(e0=3, e1=4)``)."""
    v = np.zeros(D, np.float32)
    for k, value in coords.items():
        v[int(k[1:])] = value
    return v


ORIGIN = vec()


# --------------------------------------------------------------------- euclidean_distance


def test_euclidean_distance_3_4_5_triangle():
    assert euclidean_distance(vec(e0=3, e1=4), ORIGIN) == 5.0
    assert euclidean_distance(vec(e0=3), vec(e1=4)) == 5.0
    assert euclidean_distance(vec(e0=1.5, e1=-2), vec(e0=-1.5, e1=2)) == 5.0
    # plain Python lists work too, as face-api.js accepts number arrays
    assert euclidean_distance([0.0] * 126 + [3.0, 4.0], [0.0] * D) == 5.0


def test_euclidean_distance_is_symmetric_zero_on_equal_and_matches_the_js_formula():
    rng = np.random.default_rng(0)
    for _ in range(10):
        a = rng.normal(0, 0.1, D).astype(np.float32)
        b = rng.normal(0, 0.1, D).astype(np.float32)
        assert euclidean_distance(a, b) == euclidean_distance(b, a)
        assert euclidean_distance(a, a) == 0.0
        # face-api.js: Math.sqrt(sum of (a_i - b_i)^2, left to right, in doubles)
        total = 0.0
        for x, y in zip(a.tolist(), b.tolist()):
            total += (x - y) ** 2
        assert euclidean_distance(a, b) == pytest.approx(math.sqrt(total), rel=1e-13)


@pytest.mark.parametrize("n", [127, 129, 0])
def test_euclidean_distance_length_mismatch_is_refused(n):
    with pytest.raises(InputError, match=rf"differ in length: 128 and {n}"):
        euclidean_distance(ORIGIN, np.zeros(n, np.float32))


# --------------------------------------------------------------------- FaceMatcher basics


def test_mean_distance_per_label_picks_the_smallest_mean():
    # distances from the origin: ann 0.25 and 0.75 (mean 0.5), bob 0.375 and 0.625 (mean
    # 0.5), cy 0.4375. ann holds the nearest single reference, but the mean decides: cy.
    ann = LabeledFaceDescriptors("ann", [vec(e0=0.25), vec(e1=0.75)])
    bob = LabeledFaceDescriptors("bob", [vec(e2=0.375), vec(e3=-0.625)])
    cy = LabeledFaceDescriptors("cy", [vec(e5=0.4375)])
    m = FaceMatcher([ann, bob, cy])
    assert m.labels == ["ann", "bob", "cy"]
    np.testing.assert_allclose(m.mean_distances([ORIGIN]), [[0.5, 0.5, 0.4375]], rtol=0, atol=1e-12)
    assert m.find_best_match(ORIGIN) == FaceMatch("cy", 0.4375)
    # without cy, ann and bob tie at exactly 0.5: the later label wins (face-api.js reduce)
    assert FaceMatcher([ann, bob]).match_descriptor(ORIGIN) == FaceMatch("bob", 0.5)
    # a 3-4-5 triangle: 'far' is 5 and 0 away (mean 2.5), 'near' 1.5 away
    far = LabeledFaceDescriptors("far", [vec(e0=3.5, e1=5.5), vec(e0=0.5, e1=1.5)])
    near = LabeledFaceDescriptors("near", [vec(e0=0.5)])
    q = vec(e0=0.5, e1=1.5)
    m = FaceMatcher([far, near], distance_threshold=2)
    np.testing.assert_allclose(m.mean_distances([q]), [[2.5, 1.5]], rtol=0, atol=1e-12)
    assert m.find_best_match(q) == FaceMatch("near", 1.5)
    assert FaceMatcher([near, far], 1.5).find_best_match(q) == FaceMatch("unknown", 1.5)


def test_unknown_unless_strictly_below_the_threshold():
    ann = LabeledFaceDescriptors("ann", [vec(e0=0.25), vec(e1=0.75)])  # mean 0.5 from the origin
    at = FaceMatcher([ann], distance_threshold=0.5)
    assert at.find_best_match(ORIGIN) == FaceMatch("unknown", 0.5)  # equal -> unknown
    assert at.match_descriptor(ORIGIN) == FaceMatch("ann", 0.5)  # threshold not applied
    assert FaceMatcher([ann], 0.5 + 2**-40).find_best_match(ORIGIN) == FaceMatch("ann", 0.5)
    assert FaceMatcher([ann], 0.4).find_best_match(ORIGIN) == FaceMatch("unknown", 0.5)
    assert FaceMatcher([ann]).distance_threshold == 0.6
    assert FaceMatcher([ann]).find_best_match(ORIGIN) == FaceMatch("ann", 0.5)
    # the same rule in the batched call
    # (at ann's first reference the mean is (0 + hypot(0.25, 0.75)) / 2 = 0.395...)
    unknown, known = at.find_best_matches([ORIGIN, vec(e0=0.25)])
    assert unknown == FaceMatch("unknown", 0.5)
    assert known.label == "ann" and known.distance == pytest.approx(math.sqrt(0.625) / 2, abs=1e-15)


@pytest.mark.parametrize("order", [("a", "b", "c"), ("c", "b", "a"), ("b", "c", "a")])
def test_exact_ties_go_to_the_later_label(order):
    # three labels all exactly 0.5 from the origin, and a fourth (first) one further away
    refs = {"a": vec(e0=0.5), "b": vec(e1=-0.5), "c": vec(e7=0.5)}
    m = FaceMatcher(
        [LabeledFaceDescriptors("z", [vec(e9=0.75)])]
        + [LabeledFaceDescriptors(k, [refs[k]]) for k in order]
    )
    assert m.find_best_match(ORIGIN) == FaceMatch(order[-1], 0.5)
    assert m.find_best_matches([ORIGIN, ORIGIN]) == [FaceMatch(order[-1], 0.5)] * 2


def test_bare_descriptors_and_results_are_labelled_person_n():
    d1, d2, d3 = vec(e0=1), vec(e1=1), vec(e2=1)
    assert FaceMatcher(d1).labels == ["person 1"]
    assert FaceMatcher([d1, d2, d3]).labels == ["person 1", "person 2", "person 3"]
    det = FaceDetection(0.9, Box(1, 2, 3, 4), (10, 10))
    results = [FaceResult(det, descriptor=d1), FaceResult(det, descriptor=d2)]
    m = FaceMatcher(results)
    assert m.labels == ["person 1", "person 2"]
    assert m.find_best_match(vec(e1=1)) == FaceMatch("person 2", 0.0)
    # labelled entries keep their label and do not use up a number (face-api.js counter)
    mixed = FaceMatcher([d1, LabeledFaceDescriptors("ann", [d2]), results[1], d3])
    assert mixed.labels == ["person 1", "ann", "person 2", "person 3"]
    with pytest.raises(InputError, match="without a descriptor"):
        FaceMatcher([FaceResult(det)])


def test_find_best_matches_equals_find_best_match_one_by_one():
    rng = np.random.default_rng(1)
    centres = rng.normal(0, 1, (6, D))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    gallery = [
        LabeledFaceDescriptors(f"id{i}", (c + rng.normal(0, 0.03, (3, D))).astype(np.float32))
        for i, c in enumerate(centres)
    ]
    m = FaceMatcher(gallery, 0.6)
    queries = np.concatenate(
        [
            centres + rng.normal(0, 0.02, (6, D)),  # known people
            rng.normal(0, 0.09, (6, D)),  # strangers
            centres[:3] * 0.6,  # in between
        ]
    ).astype(np.float32)
    batched = m.find_best_matches(queries)
    one_by_one = [m.find_best_match(q) for q in queries]
    assert batched == one_by_one
    labels = [b.label for b in batched]
    assert labels[:6] == [f"id{i}" for i in range(6)]
    assert "unknown" in labels[6:12]
    # every reported distance is the exact mean, computed the face-api.js way
    for q, match in zip(queries, batched):
        if match.label != "unknown":
            refs = next(g for g in gallery if g.label == match.label).descriptors
            assert match.distance == pytest.approx(
                sum(euclidean_distance(r, q) for r in refs) / len(refs), abs=1e-12
            )


def test_no_queries_give_no_matches():
    m = FaceMatcher([vec(e0=1)])
    assert m.find_best_matches([]) == []
    assert m.find_best_matches(np.zeros((0, D), np.float32)) == []


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros(127, np.float32), r"query 0 must have shape \(128,\)"),
        (np.full(D, np.nan, np.float32), "NaN"),
        (np.array(["x"] * D), "must be numbers"),
    ],
)
def test_bad_queries_are_refused(bad, match):
    with pytest.raises(InputError, match=match):
        FaceMatcher([vec(e0=1)]).find_best_match(bad)


# --------------------------------------------------------------------- a big gallery

N_LABELS, PER_LABEL, N_QUERIES = 1000, 100, 20


@pytest.fixture(scope="module")
def big_gallery():
    """100,000 float32 descriptors, 1,000 labels of 100, rows of each label scattered."""
    rng = np.random.default_rng(2024)
    centres = rng.normal(0, 1, (N_LABELS, D))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    owner = rng.permutation(np.repeat(np.arange(N_LABELS), PER_LABEL))
    descs = (centres[owner] + rng.normal(0, 0.03, (N_LABELS * PER_LABEL, D))).astype(np.float32)
    # queries: 14 near a person (some quite far from their centre), 6 strangers
    near = rng.choice(N_LABELS, 14, replace=False)
    queries = np.concatenate(
        [
            centres[near] + rng.normal(0, 0.03, (14, D)) * np.linspace(0.2, 1.6, 14)[:, None],
            rng.normal(0, 1, (6, D)) / math.sqrt(D),
        ]
    ).astype(np.float32)
    labels = [f"label {i:04d}" for i in range(N_LABELS)]
    matcher = FaceMatcher(
        [LabeledFaceDescriptors(labels[i], descs[owner == i]) for i in range(N_LABELS)]
    )
    return matcher, descs, owner, labels, queries, near


def test_big_gallery_batched_answer_equals_brute_force(big_gallery):
    matcher, descs, owner, labels, queries, near = big_gallery
    g64 = descs.astype(np.float64)
    order = np.argsort(owner, kind="stable")  # rows grouped by label, label 0 first
    got = matcher.find_best_matches(queries)
    unmatched = matcher.match_descriptors(queries)
    for qi, q in enumerate(queries):
        dist = np.sqrt(((g64 - q.astype(np.float64)) ** 2).sum(axis=1))
        means = dist[order].reshape(N_LABELS, PER_LABEL).mean(axis=1)
        best = int(np.argmin(means))
        second = np.partition(means, 1)[1]
        assert second - means[best] > 1e-7  # no near tie: the answer is well defined
        assert unmatched[qi].label == labels[best]
        assert unmatched[qi].distance == pytest.approx(means[best], abs=1e-9)
        want = labels[best] if means[best] < 0.6 else "unknown"
        assert got[qi].label == want
        assert got[qi].distance == pytest.approx(means[best], abs=1e-9)
    # the data set exercises both outcomes
    found = [m.label for m in got]
    assert found[:10] == [labels[i] for i in near[:10]]
    assert found[-6:] == ["unknown"] * 6


# --------------------------------------------------------------------- JSON


def small_matcher(threshold=0.5) -> FaceMatcher:
    rng = np.random.default_rng(3)
    return FaceMatcher(
        [
            LabeledFaceDescriptors("ann", rng.normal(0, 0.1, (2, D)).astype(np.float32)),
            LabeledFaceDescriptors("bob", rng.normal(0, 0.1, (1, D)).astype(np.float32)),
        ],
        threshold,
    )


def test_to_json_has_face_api_js_shape():
    m = small_matcher()
    obj = m.to_json()
    assert set(obj) == {"distanceThreshold", "labeledDescriptors"}
    assert obj["distanceThreshold"] == 0.5
    assert [set(ld) for ld in obj["labeledDescriptors"]] == [{"label", "descriptors"}] * 2
    assert [ld["label"] for ld in obj["labeledDescriptors"]] == ["ann", "bob"]
    assert [len(ld["descriptors"]) for ld in obj["labeledDescriptors"]] == [2, 1]
    for ld, ref in zip(obj["labeledDescriptors"], m.labeled_descriptors):
        for d, r in zip(ld["descriptors"], ref.descriptors):
            assert type(d) is list and len(d) == D and all(type(v) is float for v in d)
            assert d == r.tolist()  # the float32 values, exactly
    json.dumps(obj, allow_nan=False)  # plain JSON


def test_save_load_round_trip_gives_identical_matches(tmp_path):
    m = small_matcher(0.7)
    path = tmp_path / "gallery.json"
    m.save(path)
    back = FaceMatcher.load(path)
    assert back.labels == m.labels and back.distance_threshold == 0.7
    for a, b in zip(back.labeled_descriptors, m.labeled_descriptors):
        assert len(a.descriptors) == len(b.descriptors)
        for x, y in zip(a.descriptors, b.descriptors):
            np.testing.assert_array_equal(x, y)
    rng = np.random.default_rng(4)
    queries = np.concatenate(
        [
            np.stack([d for ld in m.labeled_descriptors for d in ld.descriptors]),
            rng.normal(0, 0.1, (5, D)),
        ]
    ).astype(np.float32)
    assert back.find_best_matches(queries) == m.find_best_matches(queries)
    assert back.to_json() == m.to_json()
    assert json.loads(path.read_text()) == m.to_json()


def test_from_json_of_a_gallery_written_by_face_api_js(tmp_path):
    # what face-api.js's JSON.stringify(faceMatcher) writes: Array.from(Float32Array) numbers
    ann1 = ",".join(["0.25"] + ["0"] * 127)
    ann2 = ",".join(["0", "0.75"] + ["0"] * 126)
    bob = ",".join(["0"] * 127 + ["-0.4375"])
    text = (
        '{"distanceThreshold":0.45,"labeledDescriptors":['
        f'{{"label":"ann","descriptors":[[{ann1}],[{ann2}]]}},'
        f'{{"label":"bob","descriptors":[[{bob}]]}}]}}'
    )
    for m in (FaceMatcher.from_json(json.loads(text)), _load_text(tmp_path, text)):
        assert m.labels == ["ann", "bob"] and m.distance_threshold == 0.45
        assert m.labeled_descriptors[0].descriptors[1][1] == 0.75
        assert all(d.dtype == np.float32 for ld in m.labeled_descriptors for d in ld.descriptors)
        assert m.find_best_match(ORIGIN) == FaceMatch("bob", 0.4375)
        # at ann's first reference: ann's mean is (0 + hypot(0.25, 0.75)) / 2 = 0.395...,
        # bob is hypot(0.25, 0.4375) = 0.504 away
        (match,) = m.match_descriptors([vec(e0=0.25)])
        assert match.label == "ann"
        assert match.distance == pytest.approx(math.sqrt(0.625) / 2, abs=1e-15)
    # without "distanceThreshold", face-api.js's default 0.6 applies
    no_threshold = json.loads(text)
    del no_threshold["distanceThreshold"]
    assert FaceMatcher.from_json(no_threshold).distance_threshold == 0.6


def _load_text(tmp_path, text) -> FaceMatcher:
    p = tmp_path / "faceapi.json"
    p.write_text(text)
    return FaceMatcher.load(p)


# --------------------------------------------------------------------- errors


def test_empty_gallery_is_refused():
    with pytest.raises(InputError, match="empty"):
        FaceMatcher([])
    with pytest.raises(InputError, match="empty"):
        FaceMatcher.from_json({"labeledDescriptors": []})


def test_missing_gallery_file_names_the_path(tmp_path):
    path = tmp_path / "nope" / "gallery.json"
    with pytest.raises(InputError, match=re.escape(str(path))):
        FaceMatcher.load(path)


@pytest.mark.parametrize("content", [b"{not json", b"", b"\xff\xd8\xff\xe0 JFIF binary"])
def test_gallery_file_that_is_not_json_names_the_path(tmp_path, content):
    path = tmp_path / "gallery.json"
    path.write_bytes(content)
    with pytest.raises(InputError, match=re.escape(str(path)) + ".*not a JSON gallery"):
        FaceMatcher.load(path)


def test_gallery_path_that_is_a_folder_names_the_path(tmp_path):
    # a user error like any other: InputError naming the path, not a bare OSError
    with pytest.raises(InputError, match=re.escape(str(tmp_path))):
        FaceMatcher.load(tmp_path)


GOOD = [0.0] * D


@pytest.mark.parametrize(
    "obj, match",
    [
        ([1, 2, 3], "labeledDescriptors"),
        (None, "labeledDescriptors"),
        ({"labels": []}, "labeledDescriptors"),
        ({"labeledDescriptors": {"ann": [GOOD]}}, "labeledDescriptors"),
        ({"labeledDescriptors": [[GOOD]]}, "'label' and 'descriptors'"),
        ({"labeledDescriptors": [{"label": "ann"}]}, "'label' and 'descriptors'"),
        (
            {"labeledDescriptors": [{"label": "ann", "descriptors": GOOD}]},
            r"shape \(128,\)",
        ),
        (
            {"labeledDescriptors": [{"label": "ann", "descriptors": [[0.5] * 3]}]},
            r"shape \(128,\), got \(3,\)",
        ),
        (
            {"labeledDescriptors": [{"label": "ann", "descriptors": [["0.5"] * D]}]},
            "must be numbers",
        ),
        (
            {"labeledDescriptors": [{"label": "ann", "descriptors": [[None] * D]}]},
            "must be numbers",
        ),
        (
            {"labeledDescriptors": [{"label": "ann", "descriptors": []}]},
            "no descriptors",
        ),
        ({"labeledDescriptors": [{"label": "", "descriptors": [GOOD]}]}, "label"),
        ({"labeledDescriptors": [{"label": 7, "descriptors": [GOOD]}]}, "label"),
        (
            {
                "labeledDescriptors": [{"label": "ann", "descriptors": [GOOD]}],
                "distanceThreshold": "0.6",
            },
            "distance_threshold",
        ),
        (
            {
                "labeledDescriptors": [{"label": "ann", "descriptors": [GOOD]}],
                "distanceThreshold": -1,
            },
            "distance_threshold",
        ),
        ({"labeledDescriptors": [], "distanceThreshold": 0.6}, "empty"),
    ],
)
def test_gallery_json_of_the_wrong_shape_names_the_path(tmp_path, obj, match):
    path = tmp_path / "gallery.json"
    path.write_text(json.dumps(obj))
    with pytest.raises(InputError, match=re.escape(str(path)) + ".*" + match):
        FaceMatcher.load(path)
    with pytest.raises(InputError, match=match):
        FaceMatcher.from_json(obj)


def test_gallery_with_nan_is_refused(tmp_path):
    path = tmp_path / "gallery.json"
    path.write_text(
        '{"labeledDescriptors": [{"label": "ann", "descriptors": [[NaN' + ", 0" * 127 + "]]}]}"
    )
    with pytest.raises(InputError, match=re.escape(str(path)) + ".*NaN"):
        FaceMatcher.load(path)


def test_ragged_descriptor_in_gallery_is_an_input_error(tmp_path):
    # one entry of the descriptor is itself a list: InputError naming the path, not
    # numpy's "inhomogeneous shape" ValueError
    obj = {"labeledDescriptors": [{"label": "ann", "descriptors": [[0.5] * 127 + [[0.5]]]}]}
    path = tmp_path / "gallery.json"
    path.write_text(json.dumps(obj))
    with pytest.raises(InputError, match=re.escape(str(path))):
        FaceMatcher.load(path)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros(127, np.float32), r"must have shape \(128,\), got \(127,\)"),
        (np.zeros((2, D), np.float32), r"must have shape \(128,\), got \(2, 128\)"),
        (["0.1"] * D, "must be numbers"),
        (np.array([object()] * D), "must be numbers"),
        ([True] * D, "must be numbers"),
        ([0.1] * 127 + [float("nan")], "NaN"),
        ([0.1] * 127 + [float("inf")], "NaN or infinite"),
    ],
)
def test_bad_descriptors_are_refused(bad, match):
    with pytest.raises(InputError, match=match):
        LabeledFaceDescriptors("ann", [GOOD, bad])
    with pytest.raises(InputError, match=match):
        FaceMatcher([bad])


def test_labeled_descriptors_need_a_label_and_descriptors():
    with pytest.raises(InputError, match="label must be a non-empty string"):
        LabeledFaceDescriptors("", [GOOD])
    with pytest.raises(InputError, match="label must be a non-empty string"):
        LabeledFaceDescriptors(None, [GOOD])
    with pytest.raises(InputError, match="'ann' has no descriptors"):
        LabeledFaceDescriptors("ann", [])
    ld = LabeledFaceDescriptors("ann", np.zeros((3, D)))  # rows of a (N, 128) array
    assert len(ld.descriptors) == 3 and ld.descriptors[0].dtype == np.float32


@pytest.mark.parametrize("threshold", [0, 0.0, -0.5, float("nan"), float("inf"), "0.6", None, True])
def test_bad_thresholds_are_refused(threshold):
    with pytest.raises(InputError, match="distance_threshold must be a positive number"):
        FaceMatcher([GOOD], threshold)


def test_numpy_scalar_threshold_is_accepted():
    # e.g. a threshold computed with NumPy; np.float64 is a float subclass, np.float32 is not
    assert FaceMatcher([GOOD], np.float64(0.5)).distance_threshold == 0.5
    assert FaceMatcher([GOOD], np.float32(0.5)).distance_threshold == 0.5


# --------------------------------------------------------------------- FaceMatch


def test_face_match_str():
    assert str(FaceMatch("name", 0.42)) == "name (0.42)"
    assert str(FaceMatch("unknown", 0.5)) == "unknown (0.5)"


@pytest.mark.parametrize("distance, shown", [(0.4299, "0.42"), (0.999, "0.99"), (0.5981, "0.59")])
def test_face_match_str_truncates_like_face_api_js(distance, shown):
    # face-api.js FaceMatch.toString uses utils.round: Math.floor(num * 100) / 100, so a
    # distance just under a threshold is never shown as the threshold itself
    assert str(FaceMatch("name", distance)) == f"name ({shown})"


def _enroll_worker(path, label, seed):
    from faceapi_np.matching import enroll_into_json

    rng = np.random.default_rng(seed)
    enroll_into_json(path, label, [rng.standard_normal(128).astype(np.float32)])


def test_json_enrolls_from_many_processes_all_land(tmp_path):
    import multiprocessing as mp

    path = str(tmp_path / "gallery.json")
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_enroll_worker, args=(path, f"p{i}", i)) for i in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 8
    labels = sorted(ld.label for ld in FaceMatcher.load(path).labeled_descriptors)
    assert labels == [f"p{i}" for i in range(8)]
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_json_enroll_keeps_duplicate_labels(tmp_path):
    from faceapi_np.matching import enroll_into_json

    rng = np.random.default_rng(0)
    d = [rng.standard_normal(128).astype(np.float32) for _ in range(4)]
    path = tmp_path / "g.json"
    FaceMatcher(
        [LabeledFaceDescriptors("ann", [d[0]]), LabeledFaceDescriptors("ann", [d[1]])]
    ).save(path)
    enroll_into_json(path, "bea", [d[2]])
    enroll_into_json(path, "ann", [d[3]])
    got = FaceMatcher.load(path).labeled_descriptors
    assert [(ld.label, len(ld.descriptors)) for ld in got] == [("ann", 2), ("ann", 1), ("bea", 1)]
    np.testing.assert_array_equal(got[0].descriptors[1], d[3])


def test_killed_saves_leave_a_whole_gallery(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "g.json"
    code = (
        "import numpy as np, sys\n"
        "from faceapi_np import FaceMatcher, LabeledFaceDescriptors\n"
        "rng = np.random.default_rng(0)\n"
        "refs = [LabeledFaceDescriptors(f'p{i}', [rng.standard_normal(128)]) for i in range(3000)]\n"
        "while True: FaceMatcher(refs).save(sys.argv[1])\n"
    )
    for delay in (0.8, 1.1, 1.4):
        proc = subprocess.Popen([sys.executable, "-c", code, str(path)])
        time.sleep(delay)  # some saves done, one under way
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if path.exists():  # whole, or not there yet: never half a file
            assert len(FaceMatcher.load(path).labeled_descriptors) == 3000
