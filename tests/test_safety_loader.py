"""Hostile weights: manifests and shards that try to read elsewhere, lie about sizes, or
carry values no net could use. Every case must end in a WeightsError saying what is wrong,
without blocking and without reading a file outside the weights folder.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import threading

import numpy as np
import pytest
from test_loader import MODEL, f32, quant, toy_groups, write_model

from faceapi_np import limits, paths
from faceapi_np.errors import WeightsError
from faceapi_np.loader import load_weight_map, manifest_name
from faceapi_np.tiny_face_detector import TinyFaceDetector


@pytest.fixture
def toy(tmp_path):
    folder = tmp_path / "weights"
    folder.mkdir()
    write_model(folder, toy_groups())
    return folder


def edit_manifest(folder, edit):
    path = folder / manifest_name(MODEL)
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))


def set_path(value, group=0, index=0):
    def edit(m):
        m[group]["paths"][index] = value

    return edit


# ---------------------------------------------------------------------------------------
# confinement: only files beside the manifest, only regular files


@pytest.mark.parametrize(
    "shard",
    [
        "../outside",
        "sub/../../outside",
        "/etc/passwd",
        "/dev/zero",
        "./toy_model-group1-shard1",
        ".hidden",
        "",
        "a//b",
        "C:\\x",
        "http://example.invalid/x",
        "shard?x=1",
        "%2e%2e/outside",
    ],
)
def test_shard_paths_outside_the_folder_are_refused(toy, shard):
    (toy.parent / "outside").write_bytes(b"\0" * 1024)
    edit_manifest(toy, set_path(shard))
    with pytest.raises(WeightsError, match="not a plain relative file name"):
        load_weight_map(toy, MODEL)


@pytest.mark.parametrize("target", ["outside", "/dev/zero"])
def test_symlinks_leading_out_are_refused(toy, target):
    outside = toy.parent / "outside"
    outside.write_bytes(b"\0" * 1024)
    link = toy / "link-shard"
    link.symlink_to(outside if target == "outside" else target)
    edit_manifest(toy, set_path("link-shard"))
    with pytest.raises(WeightsError, match="is a link leading outside the weights folder"):
        load_weight_map(toy, MODEL)


def test_symlink_inside_the_folder_is_followed(toy):
    name = f"{MODEL}-group1-shard1"
    (toy / name).rename(toy / "real-shard")
    (toy / name).symlink_to("real-shard")
    assert "a/filters" in load_weight_map(toy, MODEL)


def test_fifo_shard_is_refused_without_blocking(toy):
    name = f"{MODEL}-group1-shard1"
    (toy / name).unlink()
    os.mkfifo(toy / name)
    outcome = []

    def load():
        try:
            load_weight_map(toy, MODEL)
        except WeightsError as exc:
            outcome.append(str(exc))

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(30)  # a blocking open() would hang here for ever
    assert not worker.is_alive(), "the loader blocked on a FIFO"
    assert outcome and "is not a regular file" in outcome[0]


def test_fifo_manifest_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / manifest_name(MODEL))
    with pytest.raises(WeightsError, match="weights manifest .* is not a regular file"):
        load_weight_map(tmp_path, MODEL)


def test_folder_in_place_of_a_shard(toy):
    name = f"{MODEL}-group1-shard1"
    (toy / name).unlink()
    (toy / name).mkdir()
    with pytest.raises(WeightsError, match="is not a regular file"):
        load_weight_map(toy, MODEL)


def test_oversized_shard_is_refused_before_reading(toy, monkeypatch):
    name = f"{MODEL}-group1-shard1"
    expected = (toy / name).stat().st_size
    with open(toy / name, "r+b") as f:
        f.truncate(8 * 1024**3)  # sparse: 8 GiB that would never fit in memory
    import faceapi_np.loader as loader

    reads = []
    real_read = loader._read_file
    monkeypatch.setattr(loader, "_read_file", lambda p, *a: reads.append(p) or real_read(p, *a))
    with pytest.raises(
        WeightsError, match=rf"accounts for {expected} bytes but the shards hold {8 * 1024**3}"
    ):
        load_weight_map(toy, MODEL)
    assert not any(name in str(p) for p in reads)  # only the manifest was read


# ---------------------------------------------------------------------------------------
# shapes, dtypes, names


def set_entry(field, value, group=0, index=0):
    def edit(m):
        m[group]["weights"][index][field] = value

    return edit


@pytest.mark.parametrize(
    "shape",
    [
        [-1, 3],
        [True, 3],
        [2.0, 3],
        ["3"],
        [3] * 9,  # rank beyond any net
        [2**40, 2**40, 2**40],  # overflows int64 when multiplied
        "3x3",
        None,
    ],
)
def test_bad_shapes_are_refused(toy, shape):
    edit_manifest(toy, set_entry("shape", shape))
    with pytest.raises(WeightsError, match="'a/filters' has an invalid shape"):
        load_weight_map(toy, MODEL)


def test_shape_too_large_for_the_limit(toy):
    edit_manifest(toy, set_entry("shape", [2**31 - 1, 2**31 - 1]))
    with pytest.raises(WeightsError, match="over the limit max_weights_bytes"):
        load_weight_map(toy, MODEL)


@pytest.mark.parametrize("name", [3, None, ["a"], {"a": 1}, ""])
def test_non_string_names_are_refused(toy, name):
    edit_manifest(toy, set_entry("name", name))
    with pytest.raises(WeightsError, match="is not a non-empty string"):
        load_weight_map(toy, MODEL)


@pytest.mark.parametrize("dtype", [["float32"], {"x": 1}, None, 7, "float16"])
def test_unhashable_or_unknown_dtype(toy, dtype):
    edit_manifest(toy, set_entry("dtype", dtype))
    with pytest.raises(WeightsError, match="unsupported dtype"):
        load_weight_map(toy, MODEL)


def test_duplicate_names_are_refused(toy):
    edit_manifest(toy, set_entry("name", "b/bias"))
    with pytest.raises(WeightsError, match=r"named more than once: \['b/bias'\]"):
        load_weight_map(toy, MODEL)


@pytest.mark.parametrize("paths_value", [["ok", 3], "one-string", None, [None]])
def test_non_string_paths_are_refused(toy, paths_value):
    def edit(m):
        m[0]["paths"] = paths_value

    edit_manifest(toy, edit)
    with pytest.raises(WeightsError, match="is not a tfjs weights manifest"):
        load_weight_map(toy, MODEL)


def test_deeply_nested_manifest(tmp_path):
    (tmp_path / manifest_name(MODEL)).write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(WeightsError, match="not a JSON weights manifest: nested too deeply"):
        load_weight_map(tmp_path, MODEL)


@pytest.mark.parametrize("source", [None, 3, ["a"]])
def test_non_path_sources_are_refused(source):
    with pytest.raises(WeightsError, match="weights source must be a folder"):
        load_weight_map(source, MODEL)


@pytest.mark.parametrize("model", [None, 3, "", ["m"]])
def test_non_string_model_names_are_refused(toy, model):
    with pytest.raises(WeightsError, match="model name must be a non-empty string"):
        load_weight_map(toy, model)


# ---------------------------------------------------------------------------------------
# values: quantisation parameters and float weights


@pytest.mark.parametrize(
    "field, value",
    [
        ("scale", float("nan")),
        ("scale", float("inf")),
        ("min", float("-inf")),
        ("scale", True),
        ("min", None),
        ("scale", "0.1"),
        ("scale", [0.1]),
    ],
)
def test_malformed_quantisation_values(toy, field, value):
    def edit(m):
        m[0]["weights"][1]["quantization"][field] = value

    edit_manifest(toy, edit)
    with pytest.raises(WeightsError, match="'a/quantised' has a malformed quantization"):
        load_weight_map(toy, MODEL)


@pytest.mark.parametrize("scale, minimum", [(1e300, 0.0), (0.1, 1e300), (-0.1, 0.0), (1e37, 0)])
def test_quantisation_out_of_range(toy, scale, minimum):
    def edit(m):
        m[0]["weights"][1]["quantization"].update(scale=scale, min=minimum)

    edit_manifest(toy, edit)
    with pytest.raises(WeightsError, match="decoding to values outside the float32 range"):
        load_weight_map(toy, MODEL)


def test_quantised_int32_out_of_range(tmp_path):
    write_model(tmp_path, [([quant("k", [0, 255], 1e8, 0.0, dtype="int32")], [])])
    with pytest.raises(WeightsError, match="outside the int32 range"):
        load_weight_map(tmp_path, MODEL)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_float32_weights_must_be_finite(tmp_path, bad):
    write_model(tmp_path, [([f32("w", [1.0, bad, 3.0]), f32("ok", [1.0])], [])])
    with pytest.raises(WeightsError, match="tensor 'w' holds NaN or infinite values"):
        load_weight_map(tmp_path, MODEL)


def test_zero_scale_is_a_constant(tmp_path):
    write_model(tmp_path, [([quant("k", [0, 7, 255], 0.0, 1.5)], [])])
    assert load_weight_map(tmp_path, MODEL)["k"].tolist() == [1.5, 1.5, 1.5]


# ---------------------------------------------------------------------------------------
# URLs: whole-download deadline, redirects, oversized answers, FACEAPI_NP_WEIGHTS


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; ``/trickle/...`` sends one byte at a time, ``/to-*`` redirect."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/trickle/"):
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            stop = self.server.stop_trickle
            while not stop.wait(0.2):  # a byte every 0.2 s: each read is quick
                try:
                    self.wfile.write(b"[")
                    self.wfile.flush()
                except OSError:
                    return
            return
        if self.path.startswith("/to-"):
            scheme = self.path[len("/to-") :].split("/", 1)[0]
            target = {
                "ftp": "ftp://127.0.0.1/x",
                "file": "file:///etc/passwd",
                "http": f"http://127.0.0.1:{self.server.server_address[1]}/w/",
            }[scheme]
            rest = self.path.split("/", 2)[2] if self.path.count("/") > 1 else ""
            self.send_response(302)
            self.send_header("Location", target + rest)
            self.end_headers()
            return
        if self.path.startswith("/huge/"):
            self.send_response(200)
            self.send_header("Content-Length", str(10 * 1024**3))
            self.end_headers()
            return
        super().do_GET()


@pytest.fixture
def server(tmp_path, monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    (tmp_path / "w").mkdir()
    write_model(tmp_path / "w", toy_groups())
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(tmp_path))
    )
    httpd.daemon_threads = True
    httpd.stop_trickle = threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.stop_trickle.set()
        httpd.shutdown()
        httpd.server_close()


def test_trickling_server_hits_the_whole_download_deadline(server):
    with (
        limits.override(download_seconds=1.5),
        pytest.raises(
            WeightsError, match=r"did not finish within 1\.5 s, over the limit download_seconds"
        ),
    ):
        load_weight_map(f"{server}/trickle/{manifest_name(MODEL)}", MODEL)


@pytest.mark.parametrize("scheme", ["ftp", "file"])
def test_redirect_to_another_scheme_is_refused(server, scheme):
    # urllib itself already refuses file://; ftp:// it would follow, and we refuse
    with pytest.raises(WeightsError, match=r"(?i)redirect(ion)? to (another scheme|url)"):
        load_weight_map(f"{server}/to-{scheme}/{manifest_name(MODEL)}", MODEL)


def test_redirect_within_http_is_followed(server):
    assert "a/filters" in load_weight_map(f"{server}/to-http/{manifest_name(MODEL)}", MODEL)


def test_oversized_answer_is_refused(server):
    with pytest.raises(WeightsError, match="over the limit max_weights_bytes"):
        load_weight_map(f"{server}/huge/{manifest_name(MODEL)}", MODEL)


def test_weights_env_var_may_be_a_url(weights_dir, monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    real = weights_dir
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(real))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/"
        monkeypatch.setenv("FACEAPI_NP_WEIGHTS", url)
        assert paths.weights_dir() == url and isinstance(paths.weights_dir(), str)
        assert paths.weights_dir() / "x.json" == url + "x.json"
        by_url = TinyFaceDetector().load()
        by_folder = TinyFaceDetector().load(real)
        for (name, a), (_, b) in zip(by_url.iter_params(), by_folder.iter_params()):
            np.testing.assert_array_equal(a, b, err_msg=name)
    finally:
        httpd.shutdown()
        httpd.server_close()
