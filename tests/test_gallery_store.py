"""The gallery database: enroll, the descriptor matrix, face-api.js JSON, and safety
under concurrent writers and killed processes (random descriptors; no nets run)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

import faceapi_np as fa
from faceapi_np.errors import InputError
from faceapi_np.gallery import matrix as matrix_mod
from faceapi_np.gallery.store import Store
from faceapi_np.matching import FaceMatcher, LabeledFaceDescriptors


def _descs(n, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 128)).astype(np.float32)


def _fill(path, n_people, seed=0):
    """A gallery JSON of ``n_people`` (one descriptor each), imported into ``path``."""
    d = _descs(n_people, seed)
    matcher = FaceMatcher([LabeledFaceDescriptors(f"p{i}", [d[i]]) for i in range(n_people)])
    src = path.parent / f"{path.stem}_seed.json"
    matcher.save(src)
    with fa.Gallery(path) as g:
        assert g.import_json(src) == n_people
    return d


def test_enroll_joins_the_first_person_with_that_label(tmp_path):
    d = _descs(4)
    with fa.Gallery(tmp_path / "g.db") as g:
        ann = g.enroll("ann", [d[0]])
        bea = g.enroll("bea", [d[1]])
        assert g.enroll("ann", [d[2], d[3]]) == ann != bea
        assert g.persons() == [(ann, "ann"), (bea, "bea")]
        m = g.store.matrix()
        np.testing.assert_array_equal(m.descriptors, d[[0, 1, 2, 3]])
        assert m.person.tolist() == [ann, bea, ann, ann]
        assert not m.indexed.any()


def test_matcher_agrees_with_face_matcher_built_in_memory(tmp_path):
    d = _descs(30, seed=1)
    entries = [(f"p{i % 7}", d[i]) for i in range(30)]
    with fa.Gallery(tmp_path / "g.db") as g:
        for label, desc in entries:
            g.enroll(label, [desc])
        ref = FaceMatcher(
            [LabeledFaceDescriptors(f"p{k}", [d[i] for i in range(k, 30, 7)]) for k in range(7)],
            5.0,
        )
        got = g.matcher(5.0)
        assert got.labels == ref.labels
        queries = _descs(10, seed=2)
        assert g.identify(queries, 5.0) == ref.find_best_matches(queries)
        np.testing.assert_allclose(got.mean_distances(queries), ref.mean_distances(queries))


def test_empty_gallery_and_bad_input_are_input_errors(tmp_path):
    with fa.Gallery(tmp_path / "g.db") as g:
        with pytest.raises(InputError, match="empty"):
            g.identify(_descs(1))
        with pytest.raises(InputError, match="label"):
            g.enroll("", _descs(1))
        with pytest.raises(InputError, match="shape"):
            g.enroll("ann", [np.zeros(5)])
        assert g.persons() == []  # nothing half-written
    bad = tmp_path / "notes.txt"
    bad.write_text("not a database " * 100)
    with pytest.raises(InputError, match="not a gallery database"):
        Store(bad)


def test_matrix_is_packed_in_blocks_and_kept_in_step(tmp_path, monkeypatch):
    monkeypatch.setattr(matrix_mod, "BLOCK", 8)
    path = tmp_path / "g.db"
    d = _descs(30)
    with fa.Gallery(path) as g:
        for i in range(30):
            g.enroll(f"p{i}", [d[i]])
        first = g.store.matrix()
        np.testing.assert_array_equal(first.descriptors, d)
        packed = g.store.conn.execute("SELECT count(*), sum(n) FROM face_blocks").fetchone()
        assert packed == (3, 24)  # 3 full blocks of 8; the last 6 rows stay unpacked
    with fa.Gallery(path) as g:  # a fresh reader gets the same matrix from blocks + rows
        m = g.store.matrix()
        np.testing.assert_array_equal(m.descriptors, d)
        assert m.ids.tolist() == list(range(1, 31))
        other = Store(path)  # a second process's writes show up on the next read
        other.enroll("late", [d[0]])
        assert g.store.matrix().n == 31
        # a reader whose rows end inside a block reads on row by row, not from the blocks
        early = Store(":memory:")
        early.conn.close()
        early.conn = sqlite3.connect(path, isolation_level=None)
        assert early.matrix().n == 31
        for i in range(20):
            other.enroll(f"q{i}", [d[i]])
        assert Store(path).matrix().n == 51  # a fresh reader packs up to row 48
        np.testing.assert_array_equal(early.matrix().descriptors[31:], d[:20])
        assert early.matrix().ids.tolist() == list(range(1, 52))
        other.conn.execute("DELETE FROM faces WHERE id = 2")  # bumps the generation
        m = g.store.matrix()
        assert m.n == 50 and 2 not in m.ids.tolist()
        np.testing.assert_array_equal(m.descriptors[1], d[2])
        other.close()


# -- face-api.js JSON --------------------------------------------------------------------


def _stringify_shape(labels, descs, threshold):
    """What JSON.stringify wrote for an older face-api.js FaceMatcher: private fields,
    Float32Arrays as index-keyed objects."""
    return {
        "_distanceThreshold": threshold,
        "_labeledDescriptors": [
            {"_label": lab, "_descriptors": [{str(k): float(v) for k, v in enumerate(d)}]}
            for lab, d in zip(labels, descs)
        ],
    }


def test_both_json_shapes_load_and_import_alike(tmp_path):
    d = _descs(3)
    labels = ["ann", "bea", "ann"]  # a duplicate label stays its own entry
    src = tmp_path / "stringify.json"
    src.write_text(json.dumps(_stringify_shape(labels, d, 0.45)))
    m = FaceMatcher.load(src)
    assert m.labels == labels and m.distance_threshold == 0.45
    np.testing.assert_array_equal(np.stack([ld.descriptors[0] for ld in m.labeled_descriptors]), d)
    with fa.Gallery(tmp_path / "g.db") as g:
        assert g.import_json(src) == 3
        assert g.labels == labels and g.store.distance_threshold == 0.45
        out = tmp_path / "export.json"
        assert g.export_json(out) == 3
    back = json.loads(out.read_text())
    assert back == FaceMatcher.load(src).to_json()  # face-api.js toJSON shape, same numbers


def test_stringify_shape_with_gaps_in_the_index_keys_is_refused(tmp_path):
    obj = _stringify_shape(["ann"], _descs(1), 0.6)
    del obj["_labeledDescriptors"][0]["_descriptors"][0]["5"]
    with pytest.raises(InputError, match="index keys"):
        FaceMatcher.from_json(obj)


@pytest.mark.parametrize(
    "entry, threshold, match",
    [
        ({"label": "ann", "descriptors": [[0.5] * 3]}, 0.6, r"descriptor 0 of 'ann' .*\(3,\)"),
        ({"label": "ann", "descriptors": []}, 0.6, "no descriptors"),
        ({"label": "ann", "descriptors": [[0.5] * 128]}, "0.6", "threshold"),
    ],
)
def test_import_of_a_bad_gallery_changes_nothing(tmp_path, entry, threshold, match):
    src = tmp_path / "bad.json"
    good = {"label": "bea", "descriptors": [[0.1] * 128]}
    src.write_text(
        json.dumps({"distanceThreshold": threshold, "labeledDescriptors": [good, entry]})
    )
    with fa.Gallery(tmp_path / "g.db") as g:
        with pytest.raises(InputError, match=match):
            g.import_json(src)
        assert g.persons() == [] and g.store.matrix().n == 0


# -- many processes, killed processes ------------------------------------------------------

_ENROLL_ONE = """
import sys, numpy as np
from faceapi_np.gallery.store import Store
path, label, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
d = np.random.default_rng(seed).standard_normal((2, 128))
Store(path).enroll(label, list(d))
"""


def test_eight_concurrent_enrolls_into_2000_people_lose_nothing(tmp_path):
    path = tmp_path / "gallery.db"
    before = _fill(path, 2000)
    procs = [
        subprocess.Popen([sys.executable, "-c", _ENROLL_ONE, str(path), f"new{k}", str(100 + k)])
        for k in range(8)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0] * 8
    with fa.Gallery(path) as g:
        labels = g.labels
        assert labels[:2000] == [f"p{i}" for i in range(2000)]
        assert sorted(labels[2000:]) == [f"new{k}" for k in range(8)]
        m = g.store.matrix()
        assert m.n == 2000 + 16
        np.testing.assert_array_equal(m.descriptors[:2000], before)
        for k in range(8):
            want = np.random.default_rng(100 + k).standard_normal((2, 128)).astype(np.float32)
            pid = g.persons()[labels.index(f"new{k}")][0]
            np.testing.assert_array_equal(m.descriptors[m.person == pid], want)


_ENROLL_LOOP = """
import sys, numpy as np
from faceapi_np.gallery.store import Store
path, tag, out = sys.argv[1], sys.argv[2], sys.argv[3]
store = Store(path)
rng = np.random.default_rng(abs(hash(tag)) % 1000)
with open(out, "w") as f:
    f.write("ready\\n"); f.flush()
    for i in range(100000):
        store.enroll(f"{tag}-{i}", list(rng.standard_normal((3, 128))))
        f.write(f"{tag}-{i}\\n"); f.flush()
"""


def test_enrolls_killed_at_random_moments_leave_whole_people(tmp_path):
    path = tmp_path / "gallery.db"
    _fill(path, 200)
    rng = np.random.default_rng(7)
    kills, procs = 20, []
    for k in range(kills):
        out = tmp_path / f"done{k}.txt"
        cmd = [sys.executable, "-c", _ENROLL_LOOP, str(path), f"k{k}", str(out)]
        procs.append((subprocess.Popen(cmd), out))
    deadline = time.monotonic() + 120
    for p, out in procs:  # every writer running before the kills start
        while not (out.exists() and out.read_text().startswith("ready")):
            assert time.monotonic() < deadline and p.poll() is None
            time.sleep(0.05)
    for p, _ in procs:
        time.sleep(float(rng.uniform(0.0, 0.15)))
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    with fa.Gallery(path) as g:
        labels = g.labels
        assert labels[:200] == [f"p{i}" for i in range(200)]
        m = g.store.matrix()
        per_person = np.bincount(m.person)[[pid for pid, _ in g.persons()[200:]]]
        assert (per_person == 3).all()  # every enroll whole: all 3 faces or none
        finished = 0
        for k, (_, out) in enumerate(procs):
            done = out.read_text().split()[1:]
            have = sorted((lab for lab in labels if lab.startswith(f"k{k}-")), key=_serial)
            # all enrolls reported finished are there, plus at most the one killed between
            # its commit and its report
            assert have[: len(done)] == done and len(have) - len(done) in (0, 1)
            assert [_serial(x) for x in have] == list(range(len(have)))
            finished += len(have)
        assert len(labels) == 200 + finished and finished > 0


def _serial(label: str) -> int:
    return int(label.rsplit("-", 1)[1])


def test_a_failed_write_is_an_output_error_and_leaves_the_database(tmp_path):
    from faceapi_np.errors import OutputError

    store = Store(tmp_path / "g.db")
    with pytest.raises(OutputError, match="cannot write"), store.transaction() as c:
        c.execute("INSERT INTO meta VALUES ('k', 'v')")
        raise sqlite3.OperationalError("database or disk is full")
    assert store.meta("k") is None
