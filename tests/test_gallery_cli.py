"""The gallery commands end to end: enroll/identify on a database, gallery import and
export, index, cluster, label-cluster and search (face crops of a sample photo)."""

from __future__ import annotations

import json

import pytest
from PIL import Image

import faceapi_np as fa
from faceapi_np.api import aligned_face_crop
from faceapi_np.cli import main


@pytest.fixture(scope="module")
def crops(samples_dir, weights_dir, tmp_path_factory):
    """The three faces of sample1 as the recognition net sees them, plus a mirrored copy
    of each, in a folder tree."""
    root = tmp_path_factory.mktemp("faces")
    (root / "mirrored").mkdir()
    faces = fa.detect_all_faces(samples_dir / "sample1.jpg").with_face_landmarks()
    paths = []
    for i, face in enumerate(sorted(faces, key=lambda f: f.box.x)):
        crop = Image.fromarray(aligned_face_crop(faces.image, face.landmarks))
        crop.save(root / f"face{i}.png")
        crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(root / "mirrored" / f"face{i}.png")
        paths.append(str(root / f"face{i}.png"))
    return root, paths


def _lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_enroll_and_identify_with_a_database(crops, tmp_path, capsys):
    _, paths = crops
    db = str(tmp_path / "gallery.db")
    assert main(["enroll", "--crops", "--label", "ann", paths[0], "--db", db]) == 0
    assert main(["enroll", "--crops", "--label", "bea", paths[1], "--db", db]) == 0
    assert "'bea' (1 in all)" in capsys.readouterr().out
    assert main(["identify", "--crops", *paths, "--db", db, "--json"]) == 0
    got = [r["faces"][0] for r in _lines(capsys)]
    assert [f["label"] for f in got[:2]] == ["ann", "bea"] and got[0]["distance"] < 1e-6
    with fa.Gallery(db) as g:  # where each face came from is kept
        row = g.store.conn.execute("SELECT image, sha256, width, model FROM faces").fetchone()
        assert row[0] == paths[0] and len(row[1]) == 64 and row[2] > 0
        assert row[3].endswith("crops+recognition")
    # export, then import into a new database: the same people, the same answers
    out = tmp_path / "gallery.json"
    assert main(["gallery", "export", str(out), "--db", db]) == 0
    db2 = str(tmp_path / "again.db")
    assert main(["gallery", "import", str(out), "--db", db2]) == 0
    capsys.readouterr()
    assert fa.FaceMatcher.load(out).labels == ["ann", "bea"]
    assert main(["identify", "--crops", *paths, "--db", db2, "--json"]) == 0
    assert [r["faces"][0] for r in _lines(capsys)] == got


def test_missing_database_is_an_error(crops, tmp_path, capsys):
    _, paths = crops
    missing = str(tmp_path / "none.db")
    assert main(["identify", "--crops", paths[0], "--db", missing]) == 1
    assert "no such gallery database" in capsys.readouterr().err
    assert main(["search", "--label", "ann", "--db", missing]) == 1


def test_index_cluster_label_and_search(crops, tmp_path, capsys):
    root, paths = crops
    db = str(tmp_path / "photos.db")
    assert main(["index", str(root), "--crops", "--db", db, "--json"]) == 0
    records = _lines(capsys)
    assert len(records) == 6 and all(r["detector"] == "crops" for r in records)
    assert len(records[0]["faces"][0]["descriptor"]) == 128
    assert main(["index", str(root), "--crops", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "indexed 0 photos (0 faces)" in out and "6 already indexed, 0 failed" in out
    assert main(["cluster", "--db", db, "--json"]) == 0
    lines = _lines(capsys)
    assert len(lines) == 6 and set(lines[0]) == {"image", "box", "cluster"}
    by_cluster: dict[int, set] = {}
    for r in lines:  # each face with its mirrored copy, and nothing else
        by_cluster.setdefault(r["cluster"], set()).add(r["image"].rsplit("/", 1)[1])
    assert sorted(map(sorted, by_cluster.values())) == [[f"face{i}.png"] for i in range(3)]
    cluster = next(r["cluster"] for r in lines if r["image"] == paths[2])
    assert main(["label-cluster", str(cluster), "cat", "--db", db]) == 0
    capsys.readouterr()
    assert main(["search", "--db", db, "--label", "cat"]) == 0
    hits = _lines(capsys)
    assert {h["image"].rsplit("/", 2)[-1] for h in hits} == {"face2.png"}
    assert len(hits) == 2 and all(h["label"] == "cat" for h in hits)
    assert main(["search", "--db", db, "--image", paths[0], "--crops"]) == 0
    hits = _lines(capsys)
    assert hits[0]["image"] == paths[0] and hits[0]["distance"] < 1e-6
    assert [h["distance"] for h in hits] == sorted(h["distance"] for h in hits)
    assert hits[1]["image"].endswith("mirrored/face0.png")  # its mirror image next
