"""The explain report: every net's page on a sample photo has its sections and pictures,
the pictures are not blank, links stay inside the report folder, the numbers on the
page agree with the detectors, and a real browser renders it (headless Chromium)."""

from __future__ import annotations

import html.parser
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image

import faceapi_np
from faceapi_np import MtcnnOptions, TinyFaceDetectorOptions
from faceapi_np.errors import ImageError, OptionsError, OutputError
from faceapi_np.explain import NETS, pictures
from faceapi_np.explain.page import Page
from faceapi_np.nets import get_net

SAMPLE = "sample1.jpg"  # three faces
TINY_SIZE = 320  # small inputs keep the test fast: tiny at 320, the photo 640 px wide
PHOTO_WIDTH = 640

#: Sections (h2 ids) and pictures every page of a net must have, beyond the common ones.
EXPECTED = {
    "ssd": (
        ("input", "layer-table", "layers", "anchors", "heatmaps", "before-nms", "after-nms"),
        ("input.png", "anchors.png", "heatmaps.png", "before-nms.png", "after-nms.png"),
    ),
    "tiny": (
        ("input", "layer-table", "layers", "objectness", "before-nms", "after-nms"),
        ("input.png", "objectness.png", "before-nms.png", "after-nms.png"),
    ),
    "mtcnn": (
        ("input", "pyramid", "pnet", "pnet-table", "pnet-layers", "rnet", "rnet-table", "onet"),
        ("pyramid.png", "pnet-probability.png", "stage1.png", "stage2.png", "stage3.png"),
    ),
    "landmarks": (
        ("faces", "input", "layer-table", "layers", "points", "alignment"),
        ("faces.png", "crops.png", "points.png", "alignment.png", "aligned-crops.png"),
    ),
    "recognition": (
        ("faces", "input", "layer-table", "layers", "descriptor", "distances"),
        ("faces.png", "crops.png", "descriptors.png", "distances.png"),
    ),
    "expression": (("faces", "layers", "probabilities"), ("crops.png", "probabilities.png")),
    "age_gender": (("faces", "layers", "probabilities"), ("crops.png", "probabilities.png")),
}
EXPECTED["landmarks_tiny"] = EXPECTED["landmarks"]


class _Links(html.parser.HTMLParser):
    """Every h2/h3 id, img src, href, and table of a page."""

    def __init__(self):
        super().__init__()
        self.sections, self.subsections, self.srcs, self.hrefs, self.tags = [], [], [], [], []
        self.tables, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "h2":
            self.sections.append(a.get("id"))
        elif tag == "h3":
            self.subsections.append(a.get("id"))
        elif tag == "img":
            self.srcs.append(a["src"])
        elif tag == "a":
            self.hrefs.append(a["href"])
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append(self._cell)
            self._cell = None


def _parse(index: Path) -> _Links:
    p = _Links()
    p.feed(index.read_text(encoding="utf-8"))
    return p


@pytest.fixture(scope="module")
def photo(samples_dir) -> np.ndarray:
    """The sample photo, reduced to PHOTO_WIDTH pixels wide."""
    with Image.open(samples_dir / SAMPLE) as img:
        img = img.convert("RGB")
        return np.asarray(img.resize((PHOTO_WIDTH, round(img.height * PHOTO_WIDTH / img.width))))


@pytest.fixture(scope="module")
def reports(tmp_path_factory, weights_dir, photo):
    """One report per net on the sample photo: {net: index.html}."""
    root = tmp_path_factory.mktemp("explain")
    image = photo
    out = {}
    for net in NETS:
        kw = {"input_size": TINY_SIZE} if net == "tiny" else {}
        out[net] = faceapi_np.explain(image, net=net, out=root / net, **kw)
    return out


@pytest.mark.parametrize("net", list(NETS))
def test_report_has_sections_and_pictures(reports, net):
    index = reports[net]
    assert index.name == "index.html" and index.is_file()
    links = _parse(index)
    sections, files = EXPECTED[net]
    assert "colours" in links.sections
    assert set(sections) <= set(links.sections), set(sections) - set(links.sections)
    assert set(files) <= set(links.srcs), set(files) - set(links.srcs)
    assert "script" not in links.tags  # no JavaScript
    layer_pictures = [s for s in links.srcs if re.match(r"(\w+-)?layers-\d{3}-", s)]
    assert len(layer_pictures) >= 5


@pytest.mark.parametrize("net", list(NETS))
def test_links_stay_inside_the_report(reports, net):
    index = reports[net]
    folder = index.parent.resolve()
    links = _parse(index)
    for href in links.hrefs:
        assert href.startswith("#"), href  # the table of contents only
        assert href[1:] in links.sections
    for src in links.srcs:
        assert not urlparse(src).scheme and not os.path.isabs(src), src
        target = (folder / src).resolve()
        assert target.parent == folder and target.is_file(), src
    # every picture written is shown, and each once
    assert sorted(links.srcs) == sorted(p.name for p in folder.glob("*.png"))


@pytest.mark.parametrize("net", list(NETS))
def test_pictures_are_not_blank(reports, net):
    for png in reports[net].parent.glob("*.png"):
        with Image.open(png) as img:
            a = np.asarray(img.convert("RGB"), np.float64)
        assert a.std() > 0, png.name
        assert min(a.shape[:2]) >= 8, png.name


@pytest.mark.parametrize("net", ["ssd", "tiny", "landmarks", "recognition", "age_gender"])
def test_one_picture_per_layer_of_the_summary(reports, net):
    """The layer walk shows every row of the net's summary() (tiny at its test size)."""
    size = TINY_SIZE if net == "tiny" else None
    rows = get_net(net).summary(size).rows
    links = _parse(reports[net])
    layer_heads = [s for s in links.subsections if s and s.startswith("layers-")]
    assert len(layer_heads) == len(rows)
    table = next(t for t in links.tables if t[0][:3] == ["layer", "op", "output shape"])
    assert [r[0] for r in table[1:-1]] == [r.name for r in rows]


def _box_table(index: Path) -> np.ndarray:
    table = next(t for t in _parse(index).tables if t[0][:2] == ["face", "score"])
    return np.array([[float(v) for v in row[1:]] for row in table[1:]])


def test_ssd_page_agrees_with_the_detector(reports, photo):
    img = photo
    faces = get_net("ssd").locate_faces(img)
    got = _box_table(reports["ssd"])
    assert len(got) == len(faces) >= 2
    want = np.array([[f.score, f.box.x, f.box.y, f.box.width, f.box.height] for f in faces])
    np.testing.assert_allclose(got, want, atol=0.06)  # the page rounds to 0.1 px


def test_tiny_page_agrees_with_the_detector(reports, photo):
    img = photo
    faces = get_net("tiny").locate_faces(img, TinyFaceDetectorOptions(input_size=TINY_SIZE))
    got = _box_table(reports["tiny"])
    assert len(got) == len(faces) >= 1
    want = np.array([[f.score, f.box.x, f.box.y, f.box.width, f.box.height] for f in faces])
    np.testing.assert_allclose(got, want, atol=0.06)


def test_landmarks_page_agrees_with_the_chain(reports, photo):
    faces = faceapi_np.detect_all_faces(photo).with_face_landmarks()
    table = next(t for t in _parse(reports["landmarks"]).tables if t[0][1] == "aligned rect x")
    got = np.array([[float(v) for v in row[1:]] for row in table[1:]])
    want = [
        [
            v
            for b in (f.aligned_rect.box, f.landmarks.align_dlib())
            for v in (b.x, b.y, b.width, b.height)
        ]
        for f in faces
    ]
    assert len(got) == len(faces) >= 2
    np.testing.assert_allclose(got, want, atol=0.051)  # the page rounds to 0.1 px


def test_mtcnn_page_counts_the_detector_faces(reports, photo):
    img = photo
    faces = get_net("mtcnn").locate_faces(img, MtcnnOptions())
    text = reports["mtcnn"].read_text(encoding="utf-8")
    assert f"The {len(faces)} faces with their 5 points." in text


def test_recognition_distance_matrix_is_stated(reports):
    text = reports["recognition"].read_text(encoding="utf-8")
    assert "0.6 threshold" in text
    m = re.search(r"smallest distance (\d\.\d+), largest (\d\.\d+)", text)
    assert m and 0 < float(m.group(1)) <= float(m.group(2)) < 2


def test_colour_scales_are_stated(reports):
    text = reports["ssd"].read_text(encoding="utf-8")
    assert text.count("Colour: viridis from 0 (dark purple) to") >= 10
    assert "Colour: blue-white-red from -1 (blue) to 1 (red)" in text  # the normalised input


def test_bad_arguments_are_refused(tmp_path, samples_dir):
    image = samples_dir / SAMPLE
    with pytest.raises(OptionsError, match="unknown net"):
        faceapi_np.explain(image, net="yolo", out=tmp_path / "r")
    with pytest.raises(OptionsError, match="input_size"):
        faceapi_np.explain(image, net="ssd", out=tmp_path / "r", input_size=320)
    with pytest.raises(ImageError, match="too small"):
        faceapi_np.explain(np.zeros((16, 16, 3), np.uint8), net="mtcnn", out=tmp_path / "m")
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError):
        faceapi_np.explain(image, net="tiny", out=tmp_path / "file", input_size=128)


def test_every_registered_net_has_a_report():
    from faceapi_np.explain.report import _MAKERS
    from faceapi_np.registry import net_names

    assert set(_MAKERS) == set(net_names()) == set(NETS)


def test_cli_writes_the_report(tmp_path, photo, capsys):
    from faceapi_np.cli import main

    src = tmp_path / "photo.png"
    Image.fromarray(photo).save(src)
    out = tmp_path / "r"
    argv = ["explain", str(src), "--net", "tiny", "--input-size", "160", "--out", str(out)]
    assert main(argv) == 0
    assert capsys.readouterr().out.strip() == str(out / "index.html")
    assert "after-nms.png" in _parse(out / "index.html").srcs
    assert main(["explain", str(src), "--net", "nope"]) == 2  # argparse: not a choice
    assert main(["explain", str(src), "--net", "ssd", "--input-size", "320"]) == 1
    assert "input_size applies to the Tiny Face Detector only" in capsys.readouterr().err


def test_page_escapes_text_and_refuses_paths(tmp_path):
    page = Page(tmp_path, "<b>title</b>")
    page.para("a < b & `c`")
    img = Image.new("RGB", (4, 4))
    for bad in ("../up.png", "/abs.png", "sub/x.png", "x.jpg", "X.png"):
        with pytest.raises(ValueError):
            page.image(bad, img, "caption")
    text = page.write().read_text(encoding="utf-8")
    assert "&lt;b&gt;title&lt;/b&gt;" in text and "<b>" not in text
    assert "a &lt; b &amp; <code>c</code>" in text


def test_scale_and_mosaic():
    s = pictures.Scale.for_values([0.0, 2.0, 4.0])
    assert (s.lo, s.hi, s.cmap) == (0.0, 4.0, "viridis")
    assert s.describe() == "viridis from 0 (dark purple) to 4 (yellow)"
    np.testing.assert_array_equal(
        s.colours([0.0, 4.0, 9.0]), [[68, 1, 84], [253, 231, 37], [253, 231, 37]]
    )
    d = pictures.Scale.for_values([-3.0, 1.0])
    assert (d.lo, d.hi, d.cmap) == (-3.0, 3.0, "blue-white-red")
    np.testing.assert_array_equal(d.colours([0.0])[0], [247, 247, 247])
    fmap = np.zeros((5, 7, 20), np.float32)
    fmap[:, :, 13] = 5.0
    fmap[1, 2, 4] = -9.0
    picture, channels, scale = pictures.mosaic(fmap, count=4)
    assert channels[:2] == [13, 4] and len(channels) == 4
    assert (scale.lo, scale.hi) == (-9.0, 9.0)
    assert np.asarray(picture).std() > 0


def test_docs_pictures_exist_and_stay_small():
    """Every picture the docs show is committed, and all of them stay small."""
    docs = Path(__file__).resolve().parent.parent / "docs"
    shown = set()
    for md in docs.glob("*.md"):
        shown |= set(re.findall(r"\]\((img/[^)]+\.png)\)", md.read_text(encoding="utf-8")))
    assert len(shown) >= 15
    for rel in shown:
        assert (docs / rel).is_file(), rel
    assert sum((docs / rel).stat().st_size for rel in shown) < 2_500_000


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def test_page_renders_in_headless_chromium(reports, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium binary on PATH (install the OS package 'chromium')")
    shot = tmp_path / "shot.png"
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1200,1600",
        f"--screenshot={shot}",
        reports["ssd"].resolve().as_uri(),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=180)
    with Image.open(shot) as img:
        a = np.asarray(img.convert("RGB"), np.int64)
    assert a.std() > 0
    # the photo and the colour maps are drawn: many strongly coloured pixels, which a
    # page of text alone (black on white) would not have
    colourful = (a.max(axis=2) - a.min(axis=2)) > 40
    assert colourful.mean() > 0.03
