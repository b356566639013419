"""The tfjs weights loader (``load_weight_map``) and the shape-checking ``ParamReader``.

Synthetic manifests and shards are written into ``tmp_path``; the last tests read the
real face-api.js weights.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import threading

import numpy as np
import pytest

from faceapi_np import paths, weights
from faceapi_np.errors import WeightsError
from faceapi_np.loader import load_weight_map, manifest_name
from faceapi_np.params import ParamReader
from faceapi_np.ssd_mobilenetv1 import SsdMobilenetv1

MODEL = "toy_model"


# ---------------------------------------------------------------------------------------
# helpers


def write_model(folder, groups, model=MODEL):
    """Write a manifest and its shards into ``folder``.

    ``groups`` is a list of ``(entries, cuts)``: each entry is ``(manifest entry dict,
    stored bytes)``; the group's bytes are concatenated in entry order and cut into shard
    files at the byte offsets in ``cuts`` (``[]`` = one shard). Returns the manifest path.
    """
    manifest = []
    for gi, (entries, cuts) in enumerate(groups):
        data = b"".join(raw for _, raw in entries)
        bounds = [0, *cuts, len(data)]
        names = []
        for si in range(len(bounds) - 1):
            name = f"{model}-group{gi + 1}-shard{si + 1}"
            (folder / name).write_bytes(data[bounds[si] : bounds[si + 1]])
            names.append(name)
        manifest.append({"paths": names, "weights": [e for e, _ in entries]})
    path = folder / manifest_name(model)
    path.write_text(json.dumps(manifest))
    return path


def f32(name, values):
    values = np.asarray(values, np.float32)
    entry = {"name": name, "shape": list(values.shape), "dtype": "float32"}
    return entry, values.astype("<f4").tobytes()


def i32(name, values):
    values = np.asarray(values, np.int32)
    entry = {"name": name, "shape": list(values.shape), "dtype": "int32"}
    return entry, values.astype("<i4").tobytes()


def quant(name, codes, scale, minimum, dtype="float32", qdtype="uint8"):
    codes = np.asarray(codes, qdtype)
    entry = {
        "name": name,
        "shape": list(codes.shape),
        "dtype": dtype,
        "quantization": {"dtype": qdtype, "scale": scale, "min": minimum},
    }
    return entry, codes.astype(codes.dtype.newbyteorder("<")).tobytes()


def js_round(x):
    """JavaScript Math.round: halves go towards +infinity."""
    return np.floor(np.asarray(x, np.float64) + 0.5)


rng = np.random.default_rng(1234)
A = rng.standard_normal((3, 3, 2, 4)).astype(np.float32)
B = rng.standard_normal(5).astype(np.float32)
Q_CODES = rng.integers(0, 256, size=(2, 7), dtype=np.uint8)
Q_CODES[0, 0], Q_CODES[1, 6] = 0, 255
Q_SCALE, Q_MIN = 0.1, -0.3
Q16_CODES = np.array([0, 1, 40000, 65535], np.uint16)
INT_CODES = np.array([0, 1, 2, 4, 200, 255], np.uint8)
INT_SCALE, INT_MIN = 0.4, -0.7  # no .5 ties: np.round and Math.round agree
IVALS = np.array([[1, -2, 3], [2147483647, -2147483648, 0]], np.int32)
SCALAR = 42.5
C = rng.standard_normal((3, 5)).astype(np.float32)  # 60 bytes, straddles shard cuts


def toy_groups():
    group1 = [
        f32("a/filters", A),
        quant("a/quantised", Q_CODES, Q_SCALE, Q_MIN),
        quant("a/int_quantised", INT_CODES, INT_SCALE, INT_MIN, dtype="int32"),
        i32("a/ints", IVALS),
        f32("a/scalar", np.float32(SCALAR)),
        quant("a/quantised16", Q16_CODES, 0.001, 2.0, qdtype="uint16"),
    ]
    # group 2 is split over three shards: cut at 10 (inside B) and 37 (inside C)
    group2 = [f32("b/bias", B), f32("b/straddling", C), f32("b/after", [7.0, 8.0])]
    return [(group1, []), (group2, [10, 37])]


@pytest.fixture
def toy(tmp_path):
    """A two-group toy model in tmp_path; returns the folder."""
    write_model(tmp_path, toy_groups())
    return tmp_path


# ---------------------------------------------------------------------------------------
# decoding


def test_toy_model_decodes_every_entry(toy):
    wm = load_weight_map(toy, MODEL)
    assert list(wm) == [
        "a/filters",
        "a/quantised",
        "a/int_quantised",
        "a/ints",
        "a/scalar",
        "a/quantised16",
        "b/bias",
        "b/straddling",
        "b/after",
    ]
    assert wm["a/filters"].dtype == np.float32 and wm["a/filters"].shape == (3, 3, 2, 4)
    np.testing.assert_array_equal(wm["a/filters"], A)
    np.testing.assert_array_equal(wm["a/ints"], IVALS)
    assert wm["a/ints"].dtype == np.int32
    assert wm["a/scalar"].shape == () and wm["a/scalar"].dtype == np.float32
    assert float(wm["a/scalar"]) == SCALAR
    np.testing.assert_array_equal(wm["b/bias"], B)
    np.testing.assert_array_equal(wm["b/after"], np.array([7.0, 8.0], np.float32))


def test_shards_are_concatenated_in_order(toy):
    """A tensor whose bytes straddle two shard files decodes whole."""
    assert sorted(p.name for p in toy.glob("*group2-shard*")) == [
        f"{MODEL}-group2-shard1",
        f"{MODEL}-group2-shard2",
        f"{MODEL}-group2-shard3",
    ]
    assert (toy / f"{MODEL}-group2-shard2").stat().st_size == 27
    wm = load_weight_map(toy, MODEL)
    np.testing.assert_array_equal(wm["b/straddling"], C)
    np.testing.assert_array_equal(wm["b/bias"], B)


def test_uint8_quantised_float_is_computed_in_double(toy):
    """q * scale + min is evaluated in float64 and only then rounded to float32 (as tfjs)."""
    wm = load_weight_map(toy, MODEL)
    expected = (Q_CODES.astype(np.float64) * Q_SCALE + Q_MIN).astype(np.float32)
    got = wm["a/quantised"]
    assert got.dtype == np.float32 and got.shape == (2, 7)
    np.testing.assert_array_equal(got, expected)
    # the float64 formula is distinguishable from a float32-only evaluation
    naive = Q_CODES.astype(np.float32) * np.float32(Q_SCALE) + np.float32(Q_MIN)
    assert (naive != expected).any()
    # spot values: code 0 decodes to min, code 255 to 255 * scale + min
    assert got[0, 0] == np.float32(-0.3) and got[1, 6] == np.float32(25.2)


def test_uint16_quantised_float(toy):
    wm = load_weight_map(toy, MODEL)
    expected = (Q16_CODES.astype(np.float64) * 0.001 + 2.0).astype(np.float32)
    np.testing.assert_array_equal(wm["a/quantised16"], expected)
    assert wm["a/quantised16"][3] == np.float32(67.535)


def test_uint8_quantised_int32_is_rounded(toy):
    wm = load_weight_map(toy, MODEL)
    got = wm["a/int_quantised"]
    assert got.dtype == np.int32
    # -0.7 -> -1, -0.3 -> 0, 0.1 -> 0, 0.9 -> 1, 79.3 -> 79, 101.3 -> 101
    assert got.tolist() == [-1, 0, 0, 1, 79, 101]


def test_int32_quantisation_ties_round_like_math_round(tmp_path):
    """tfjs decodes quantised int32 with Math.round, which rounds .5 up (2.5 -> 3, -2.5 -> -2).

    Codes 0..6 with scale 0.5 and min -1.5 give exactly -1.5, -1, -0.5, 0, 0.5, 1, 1.5 and
    then 2.5 for code 8.
    """
    codes = np.array([0, 1, 2, 3, 4, 5, 6, 8], np.uint8)
    write_model(tmp_path, [([quant("k", codes, 0.5, -1.5, dtype="int32")], [])])
    got = load_weight_map(tmp_path, MODEL)["k"]
    expected = js_round(codes * 0.5 - 1.5).astype(np.int32)
    assert expected.tolist() == [-1, -1, 0, 0, 1, 1, 2, 3]
    assert got.tolist() == expected.tolist()


def test_decoded_arrays_own_their_memory(toy):
    """Arrays are writable copies, not read-only views of the shard bytes."""
    wm = load_weight_map(toy, MODEL)
    for name in ("a/filters", "a/ints", "b/straddling"):
        assert wm[name].flags.writeable, name
        wm[name][...] = 0  # must not raise


# ---------------------------------------------------------------------------------------
# sources: folder, manifest path, URL


def test_folder_and_manifest_path_and_str_agree(toy):
    by_folder = load_weight_map(toy, MODEL)
    by_manifest = load_weight_map(toy / manifest_name(MODEL), "ignored_model_name")
    by_str = load_weight_map(str(toy), MODEL)
    for other in (by_manifest, by_str):
        assert list(other) == list(by_folder)
        for name in by_folder:
            np.testing.assert_array_equal(other[name], by_folder[name])


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture
def http_root(tmp_path, monkeypatch):
    """Serve tmp_path over HTTP on 127.0.0.1; yields (folder, base URL)."""
    for var in (
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_load_from_url_matches_folder(http_root):
    folder, url = http_root
    write_model(folder, toy_groups())
    local = load_weight_map(folder, MODEL)
    for source in (url, url.rstrip("/"), url + manifest_name(MODEL)):
        remote = load_weight_map(source, MODEL)
        assert list(remote) == list(local)
        for name in local:
            assert remote[name].dtype == local[name].dtype
            np.testing.assert_array_equal(remote[name], local[name])


def test_url_404_is_a_weights_error(http_root):
    folder, url = http_root
    with pytest.raises(
        WeightsError,
        match=r"(?s)could not read weights manifest .*toy_model-weights_manifest\.json.*404",
    ):
        load_weight_map(url, MODEL)


def test_url_missing_shard_names_the_shard(http_root):
    folder, url = http_root
    write_model(folder, toy_groups())
    (folder / f"{MODEL}-group2-shard2").unlink()
    with pytest.raises(WeightsError, match=r"weights shard .*toy_model-group2-shard2.*404"):
        load_weight_map(url, MODEL)


# ---------------------------------------------------------------------------------------
# errors


def test_missing_manifest(tmp_path):
    with pytest.raises(
        WeightsError,
        match=r"weights manifest not found: .*toy_model-weights_manifest\.json",
    ):
        load_weight_map(tmp_path, MODEL)


def test_missing_shard(toy):
    (toy / f"{MODEL}-group2-shard3").unlink()
    with pytest.raises(WeightsError, match=r"weights shard not found: .*toy_model-group2-shard3"):
        load_weight_map(toy, MODEL)


def test_truncated_shard_names_file_and_tensor(toy):
    shard = toy / f"{MODEL}-group2-shard3"
    shard.write_bytes(shard.read_bytes()[:-3])
    with pytest.raises(WeightsError) as info:
        load_weight_map(toy, MODEL)
    msg = str(info.value)
    assert "toy_model-weights_manifest.json" in msg
    assert "group 1" in msg and "toy_model-group2-shard3" in msg
    assert "'b/after'" in msg and "truncated" in msg


def test_shard_with_extra_bytes(toy):
    shard = toy / f"{MODEL}-group1-shard1"
    shard.write_bytes(shard.read_bytes() + b"\0\0\0\0")
    size = shard.stat().st_size
    with pytest.raises(
        WeightsError,
        match=rf"group 0.*accounts for {size - 4} bytes but the shards hold {size}",
    ):
        load_weight_map(toy, MODEL)


def _rewrite_manifest(folder, edit):
    path = folder / manifest_name(MODEL)
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))


def test_unknown_dtype(toy):
    def edit(m):
        m[1]["weights"][0]["dtype"] = "float16"

    _rewrite_manifest(toy, edit)
    with pytest.raises(WeightsError, match=r"tensor 'b/bias' has unsupported dtype 'float16'"):
        load_weight_map(toy, MODEL)


def test_unknown_quantization_dtype(toy):
    def edit(m):
        m[0]["weights"][1]["quantization"]["dtype"] = "int4"

    _rewrite_manifest(toy, edit)
    with pytest.raises(
        WeightsError,
        match=r"tensor 'a/quantised' has unsupported quantization dtype 'int4'",
    ):
        load_weight_map(toy, MODEL)


@pytest.mark.parametrize(
    "quantization",
    [
        {"dtype": "uint8", "min": 0.0},  # no scale
        {"dtype": "uint8", "scale": 1.0},  # no min
        "uint8",  # not an object
    ],
    ids=["no-scale", "no-min", "not-a-dict"],
)
def test_malformed_quantization_is_a_weights_error(toy, quantization):
    """A manifest with a malformed quantization block is a malformed manifest: WeightsError,
    not a bare KeyError/AttributeError."""

    def edit(m):
        m[0]["weights"][1]["quantization"] = quantization

    _rewrite_manifest(toy, edit)
    with pytest.raises(WeightsError, match=r"a/quantised"):
        load_weight_map(toy, MODEL)


def test_manifest_not_json(tmp_path):
    (tmp_path / manifest_name(MODEL)).write_bytes(b"\x89PNG not json at all")
    with pytest.raises(
        WeightsError,
        match=r"toy_model-weights_manifest\.json is not a JSON weights manifest",
    ):
        load_weight_map(tmp_path, MODEL)


@pytest.mark.parametrize(
    "content",
    [
        {"paths": [], "weights": []},  # a dict, not a list of groups
        [{"paths": ["x"]}],  # no weights
        [{"paths": "x", "weights": []}],  # paths not a list
        [{"paths": [], "weights": [{"name": "a", "shape": [1]}]}],  # entry without dtype
        [1, 2, 3],
    ],
    ids=["dict", "no-weights", "paths-str", "no-dtype", "ints"],
)
def test_json_that_is_not_a_manifest(tmp_path, content):
    (tmp_path / manifest_name(MODEL)).write_text(json.dumps(content))
    with pytest.raises(
        WeightsError,
        match=r"toy_model-weights_manifest\.json is not a tfjs weights manifest",
    ):
        load_weight_map(tmp_path, MODEL)


@pytest.mark.parametrize("shape", [[2, -1], [2.0, 3], "3", None, [[2]]])
def test_invalid_shape(toy, shape):
    def edit(m):
        m[0]["weights"][0]["shape"] = shape

    _rewrite_manifest(toy, edit)
    with pytest.raises(WeightsError, match=r"tensor 'a/filters' has an invalid shape"):
        load_weight_map(toy, MODEL)


# ---------------------------------------------------------------------------------------
# ParamReader


@pytest.fixture
def reader():
    wm = {
        "conv/filters": np.arange(3 * 3 * 2 * 4, dtype=np.float32).reshape(3, 3, 2, 4),
        "conv/bias": np.array([1, 2, 3, 4], np.float32),
        "unused_a": np.zeros(2, np.float32),
        "const/int": np.array([5, 6], np.int32),
        "unused_b": np.zeros((), np.float32),
    }
    return ParamReader(wm, "folder/toy [toy_model]")


def test_take_exact_shape(reader):
    f = reader.take("conv/filters", (3, 3, 2, 4))
    assert f.shape == (3, 3, 2, 4) and f.dtype == np.float32 and f.flags.c_contiguous
    assert f[2, 2, 1, 3] == 71.0


def test_take_with_wildcard(reader):
    f = reader.take("conv/filters", (None, 3, None, 4))
    assert f.shape == (3, 3, 2, 4)
    b = reader.take("conv/bias", (None,))
    assert b.tolist() == [1.0, 2.0, 3.0, 4.0]


def test_take_converts_int32_to_float32(reader):
    v = reader.take("const/int", (2,))
    assert v.dtype == np.float32 and v.tolist() == [5.0, 6.0]


@pytest.mark.parametrize(
    "shape, shown",
    [
        ((3, 3, 2, 5), r"\(3, 3, 2, 5\)"),
        ((3, 3, 2), r"\(3, 3, 2\)"),
        ((None, 3, 4, None), r"\('\?', 3, 4, '\?'\)"),
    ],
)
def test_take_wrong_shape(reader, shape, shown):
    with pytest.raises(WeightsError) as info:
        reader.take("conv/filters", shape)
    msg = str(info.value)
    assert msg.startswith("folder/toy [toy_model]: tensor 'conv/filters'")
    assert "has shape (3, 3, 2, 4)" in msg
    assert re.search(rf"expected {shown}", msg)
    assert "conv/filters" not in reader.used


def test_take_missing_name(reader):
    with pytest.raises(
        WeightsError,
        match=r"folder/toy \[toy_model\]: tensor 'conv/weights' is missing; is this the manifest of another net\?",
    ):
        reader.take("conv/weights", (3, 3, 2, 4))


def test_leftovers_in_map_order(reader):
    assert reader.leftovers() == [
        "conv/filters",
        "conv/bias",
        "unused_a",
        "const/int",
        "unused_b",
    ]
    reader.take("conv/bias", (4,))
    reader.take("conv/filters", (3, 3, 2, 4))
    reader.take("conv/bias", (4,))  # taking twice is fine
    assert reader.leftovers() == ["unused_a", "const/int", "unused_b"]


# ---------------------------------------------------------------------------------------
# the real face-api.js weights

TENSOR_COUNTS = {
    "ssd_mobilenetv1_model": 151,
    "tiny_face_detector_model": 19,
    "mtcnn_model": 50,
    "face_landmark_68_model": 49,
    "face_landmark_68_tiny_model": 28,
    "face_recognition_model": 117,
    "face_expression_model": 49,
    "age_gender_model": 51,
}


@pytest.fixture(scope="module")
def real_weights():
    weights.fetch()
    return paths.weights_dir()


def test_tensor_counts_cover_all_models():
    assert set(TENSOR_COUNTS) == set(weights.MODEL_NAMES)


@pytest.mark.parametrize("model", weights.MODEL_NAMES)
def test_real_weights_load(real_weights, model):
    wm = load_weight_map(real_weights, model)
    manifest = json.loads((real_weights / manifest_name(model)).read_text())
    assert len(wm) == TENSOR_COUNTS[model]
    assert list(wm) == [w["name"] for g in manifest for w in g["weights"]]
    for name, arr in wm.items():
        assert arr.dtype in (np.float32, np.int32), name
        assert np.isfinite(arr).all(), name


def test_real_ssd_graph_constants(real_weights):
    """SSD's manifest carries uint8-quantised int32 graph constants; their values are known."""
    wm = load_weight_map(real_weights, "ssd_mobilenetv1_model")
    assert wm["Output/extra_dim"].shape == (1, 5118, 4)
    assert wm["Output/extra_dim"].dtype == np.float32
    assert wm["Preprocessor/ResizeImage/size"].tolist() == [512, 512]
    assert wm["Postprocessor/stack/1"].dtype == np.int32
    assert int(wm["Postprocessor/stack/1"]) == 5118
    anchors = [int(wm[f"Prediction/BoxPredictor_{i}/stack_1/1"]) for i in range(6)]
    assert anchors == [3072, 1536, 384, 96, 24, 6]
    assert sum(anchors) == 5118


def test_manifest_of_another_net(real_weights, tmp_path):
    """The tiny detector's files under the SSD's names: SSD's load says a tensor is missing."""
    manifest = json.loads(
        (real_weights / "tiny_face_detector_model-weights_manifest.json").read_text()
    )
    assert manifest[0]["paths"] == ["tiny_face_detector_model-shard1"]
    manifest[0]["paths"] = ["ssd_mobilenetv1_model-shard1"]
    (tmp_path / "ssd_mobilenetv1_model-weights_manifest.json").write_text(json.dumps(manifest))
    shutil.copyfile(
        real_weights / "tiny_face_detector_model-shard1",
        tmp_path / "ssd_mobilenetv1_model-shard1",
    )
    # the files themselves are consistent ...
    assert len(load_weight_map(tmp_path, "ssd_mobilenetv1_model")) == 19
    # ... but belong to another net
    net = SsdMobilenetv1()
    with pytest.raises(
        WeightsError,
        match=r"ssd_mobilenetv1_model\]: tensor '.*' is missing; is this the manifest of another net\?",
    ):
        net.load(tmp_path)
    assert not net.is_loaded
