"""Indexing photos into a gallery: every face stored as the chain computes it, errors
recorded without stopping, resumable after a kill, and the same faces from worker
processes and from a Dask LocalCluster as from a serial run (sample photos)."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

import faceapi_np as fa
from faceapi_np.errors import OptionsError
from faceapi_np.gallery.index import find_photos

PHOTOS = ("sample1.jpg", "sample2.jpg")


def dump(db) -> list:
    """Everything the index stored, in an order that does not depend on who wrote first."""
    conn = sqlite3.connect(db)
    images = conn.execute(
        "SELECT path, sha256, width, height, faces, error, model, options FROM images ORDER BY path"
    ).fetchall()
    faces = conn.execute(
        "SELECT image, face_index, sha256, width, height, x, y, w, h, score, landmarks, "
        "descriptor, model, options FROM faces ORDER BY image, face_index"
    ).fetchall()
    conn.close()
    return [images, faces]


@pytest.fixture(scope="module")
def photos(samples_dir, weights_dir, tmp_path_factory):
    """Two sample photos in a folder tree (one in a subfolder), and their serial index."""
    root = tmp_path_factory.mktemp("photos")
    (root / "sub").mkdir()
    shutil.copy(samples_dir / PHOTOS[0], root / PHOTOS[0])
    shutil.copy(samples_dir / PHOTOS[1], root / "sub" / PHOTOS[1])
    db = root.parent / "serial.db"
    records = []
    report = fa.index_photos([root], db, on_record=records.append)
    return root, db, report, records


def test_every_face_is_stored_as_the_chain_computes_it(photos):
    root, db, report, records = photos
    assert (report.photos, report.indexed, report.skipped, report.failed) == (2, 2, 0, [])
    images, faces = dump(db)
    assert [os.path.basename(i[0]) for i in images] == list(PHOTOS)  # subfolder walked
    assert report.faces == len(faces) == sum(i[4] for i in images) > 0
    for path, *_ in images:
        want = fa.detect_all_faces(path).with_face_landmarks().with_face_descriptors()
        got = [f for f in faces if f[0] == path]
        assert len(got) == len(want)
        for row, face in zip(got, want):
            assert row[5:9] == (face.box.x, face.box.y, face.box.width, face.box.height)
            assert row[9] == face.score
            np.testing.assert_array_equal(np.frombuffer(row[11], "<f4"), face.descriptor)
            lm = np.frombuffer(row[10], "<f4").reshape(68, 2)
            np.testing.assert_array_equal(lm, face.landmarks.positions.astype(np.float32))
        assert got[0][12].endswith("ssd+landmarks+recognition")
    # the records handed out are detect --json's schema
    rec = next(r for r in records if r["image"].endswith(PHOTOS[0]))
    assert set(rec) == {"image", "width", "height", "backend", "detector", "faces"}
    assert rec["detector"] == "ssd" and len(rec["faces"][0]["descriptor"]) == 128


def test_second_run_skips_and_errors_do_not_stop_it(photos, tmp_path):
    root, db, _, _ = photos
    work = tmp_path / "db.db"
    with sqlite3.connect(db) as src, sqlite3.connect(work) as dst:
        src.backup(dst)
    bad = root / "sub" / "broken.jpg"
    bad.write_bytes(b"not a jpeg at all")
    try:
        report = fa.index_photos([root, tmp_path / "missing"], work)
        assert (report.photos, report.indexed, report.skipped) == (4, 0, 2)
        assert sorted(os.path.basename(p) for p, _ in report.failed) == ["broken.jpg", "missing"]
        assert dump(work)[1] == dump(db)[1]  # the good photos' faces untouched
        with fa.Gallery(work) as g:
            assert {os.path.basename(p) for p, _ in g.failed()} == {"broken.jpg", "missing"}
    finally:
        bad.unlink()


def test_two_jobs_give_the_serial_results(photos, tmp_path):
    root, db, _, _ = photos
    report = fa.index_photos([root], tmp_path / "jobs.db", jobs=2)
    assert report.indexed == 2 and not report.failed
    assert dump(tmp_path / "jobs.db") == dump(db)


def test_dask_local_cluster_gives_the_serial_results(photos, tmp_path):
    pytest.importorskip(
        "distributed", reason="dask.distributed not installed (pip install 'faceapi-np[scale]')"
    )
    root, db, _, _ = photos
    report = fa.index_photos([root], tmp_path / "dask.db", jobs=2, dask="local")
    assert report.indexed == 2 and not report.failed
    assert dump(tmp_path / "dask.db") == dump(db)


_INDEX = """
import sys
import faceapi_np as fa
if __name__ == "__main__":
    fa.index_photos([sys.argv[1]], sys.argv[2], crops=True)
"""


def test_index_resumes_after_a_kill(photos, tmp_path):
    root, db, _, _ = photos
    crops = tmp_path / "crops"
    crops.mkdir()
    conn = sqlite3.connect(db)
    boxes = conn.execute("SELECT image, x, y, w, h FROM faces ORDER BY image, face_index")
    for k, (image, x, y, w, h) in enumerate(boxes.fetchall()):
        Image.open(image).crop((int(x), int(y), int(x + w), int(y + h))).save(crops / f"{k}.png")
    conn.close()
    n = len(find_photos([crops])[0])
    killed = tmp_path / "killed.db"
    script = tmp_path / "run_index.py"
    script.write_text(_INDEX)
    p = subprocess.Popen([sys.executable, str(script), str(crops), str(killed)])
    deadline = time.monotonic() + 120
    done = 0
    while done < 2:  # kill once some photos are in, before all are
        assert time.monotonic() < deadline and p.poll() is None, "the index ended too early"
        time.sleep(0.05)
        if killed.exists():
            c = sqlite3.connect(killed, timeout=30)
            try:
                done = c.execute("SELECT count(*) FROM images").fetchone()[0]
            except sqlite3.OperationalError:  # schema not written yet
                done = 0
            c.close()
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    report = fa.index_photos([crops], killed, crops=True)
    assert report.skipped >= 2 and report.skipped + report.indexed == n and not report.failed
    fresh = fa.index_photos([crops], tmp_path / "fresh.db", crops=True)
    assert fresh.indexed == n
    a, b = dump(killed), dump(tmp_path / "fresh.db")
    assert a[0] == b[0] and [r[:12] for r in a[1]] == [r[:12] for r in b[1]]  # time aside


def test_dask_without_the_extra_says_how_to_install_it(photos, tmp_path, monkeypatch):
    root, _, _, _ = photos
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # as if not installed
    with pytest.raises(OptionsError, match=r"faceapi-np\[scale\]"):
        fa.index_photos([root], tmp_path / "x.db", dask="local")
    with pytest.raises(OptionsError, match="jobs"):
        fa.index_photos([root], tmp_path / "x.db", jobs=0)
