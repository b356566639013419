"""ONNX export: every exported graph, run by onnxruntime, gives the NumPy backend's outputs.

The graphs are traced from the nets' own forward passes (``faceapi_np/onnx_export/``);
here each is run on a seeded batch and compared with ``net.forward`` on the NumPy
backend. "Within 1e-4 relative" is taken per output: every element within
``1e-4 * |want| + 1e-4 * max|want|``, so values near zero (box corners, logits) are held
to the output's own scale rather than to their own tiny magnitude.
"""

from __future__ import annotations

import numpy as np
import pytest

try:
    import onnx
    import onnxruntime as ort
except ImportError as exc:  # the optional extra: pip install 'faceapi-np[onnx]'
    pytest.skip(
        f"ONNX export tests need onnx and onnxruntime ({exc.name} missing): "
        "pip install 'faceapi-np[onnx]'",
        allow_module_level=True,
    )

import faceapi_np
from faceapi_np import layers, nets
from faceapi_np.backend import get_backend
from faceapi_np.errors import OptionsError, WeightsError
from faceapi_np.mtcnn.stages import normalize
from faceapi_np.onnx_export.export import build_model, exportable, model_from_graph, resolve_net
from faceapi_np.onnx_export.graph import TRACE_BATCH, BatchDim, Graph
from faceapi_np.onnx_export.graph_backend import GraphBackend
from faceapi_np.onnx_export.symbolic import Sym

RTOL = 1e-4


def _session(model):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def _assert_close(got, want, what):
    assert got.shape == want.shape, f"{what}: shape {got.shape}, want {want.shape}"
    scale = float(np.abs(want).max())
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=RTOL * scale, err_msg=what)


def _reference(name, x):
    net, _, stage = resolve_net(name)
    bk = get_backend("numpy")
    out = net.forward(normalize(x), bk, stage=stage) if stage else net.forward(x, bk)
    return out if isinstance(out, tuple) else (out,)


def _declared(value_info, batch):
    dims = value_info.type.tensor_type.shape.dim
    return tuple(batch if d.dim_param == "N" else d.dim_value for d in dims)


@pytest.mark.parametrize("name", exportable())
def test_export_matches_numpy_backend(weights_dir, name):
    model = build_model(name)  # dynamic batch, traced at TRACE_BATCH, run at another
    size = model.graph.input[0].type.tensor_type.shape.dim[1].dim_value
    batch = TRACE_BATCH + 1
    x = np.random.default_rng(7).uniform(0, 255, (batch, size, size, 3)).astype(np.float32)
    got = _session(model).run(None, {"input": x})
    want = _reference(name, x)
    assert len(got) == len(want) == len(model.graph.output)
    for g, w, info in zip(got, want, model.graph.output):
        assert g.shape == _declared(info, batch), f"{name}/{info.name}: declared shape"
        _assert_close(g, np.asarray(w), f"{name}/{info.name}")


def test_export_onnx_writes_a_fixed_batch_graph(weights_dir, tmp_path):
    net = nets.get_net("landmarks_tiny")
    path = tmp_path / "landmarks_tiny.onnx"
    faceapi_np.export_onnx(net, path, batch=2)
    model = onnx.load(str(path))
    assert _declared(model.graph.input[0], None) == (2, 112, 112, 3)
    assert {p.key: p.value for p in model.metadata_props}["net"] == "landmarks_tiny"
    assert not list(tmp_path.glob(".*.tmp"))  # written through a renamed temporary file
    x = np.random.default_rng(3).uniform(0, 255, (2, 112, 112, 3)).astype(np.float32)
    (got,) = _session(model).run(None, {"input": x})
    _assert_close(got, net.forward(x, get_backend("numpy")), "landmarks_tiny")


def test_export_command(weights_dir, tmp_path, capsys):
    from faceapi_np.cli.main import main

    path = tmp_path / "r.onnx"
    assert main(["export", "recognition", "--onnx", str(path)]) == 0
    assert "descriptors Nx128" in capsys.readouterr().out
    x = np.random.default_rng(11).uniform(0, 255, (2, 150, 150, 3)).astype(np.float32)
    (got,) = _session(onnx.load(str(path))).run(None, {"input": x})
    want = nets.get_net("recognition").forward(x, get_backend("numpy"))
    _assert_close(got, want, "recognition via faceapi-np export")
    assert main(["export", "tiny", "--onnx", str(path), "--batch", "none"]) == 2
    assert main(["export", "mtcnn", "--onnx", str(path)]) == 2


def test_input_size_and_layout(weights_dir):
    model = build_model("tiny", input_size=224, batch=1)
    assert _declared(model.graph.output[0], None) == (1, 7, 7, 25)
    # activations stay NCHW from conv to conv: one transpose in, one out
    assert [n.op_type for n in model.graph.node].count("Transpose") == 2
    assert model.opset_import[0].version == 17


def test_export_errors(weights_dir, tmp_path):
    with pytest.raises(OptionsError, match="choose one of"):
        build_model("mtcnn")
    with pytest.raises(OptionsError, match="pnet"):
        build_model(nets.get_net("mtcnn"))
    with pytest.raises(OptionsError, match="batch"):
        build_model("tiny", batch=0)
    with pytest.raises(OptionsError, match="input_size"):
        build_model("tiny", input_size="big")
    with pytest.raises(WeightsError, match="load the weights"):
        build_model(faceapi_np.FaceRecognitionNet())
    with pytest.raises(faceapi_np.OutputError):
        faceapi_np.export_onnx("landmarks_tiny", tmp_path / "missing" / "x.onnx")


def test_import_and_cli_parser_load_no_onnx():
    import subprocess
    import sys

    code = (
        "import sys, faceapi_np\n"
        "from faceapi_np.cli.main import build_parser\n"
        "build_parser()\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('onnx', 'onnxruntime', 'openvino'))\n"
        "assert not heavy, heavy\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr


# --- the tracing machinery on its own ---------------------------------------------------


def _mixed_ops(x, bk):
    """Layers and xp calls the nets use, in layouts that force every conversion."""
    xp, rng = bk.xp, np.random.default_rng(1)
    f32 = np.float32
    w = rng.standard_normal((3, 3, 3, 4)).astype(f32)
    dw, pw = rng.standard_normal((3, 3, 4, 1)).astype(f32), rng.standard_normal((1, 1, 4, 5))
    b4, b5 = rng.standard_normal(4).astype(f32), rng.standard_normal(5).astype(f32)
    y = layers.conv2d(x, w, b4, bk, 2, "same", act="relu6")
    y = layers.separable_conv2d(y, dw, pw.astype(f32), b5, bk, 1, "same", input_act="relu")
    y = layers.leaky_relu(layers.max_pool(y, 3, 2, bk, "same"), bk)
    y = layers.avg_pool(y, 2, 1, bk, "same") * f32(0.5) - b5
    y = xp.pad(y, ((0, 0), (0, 1), (0, 1), (0, 0)))
    y = xp.concatenate([y, xp.zeros_like(y[:, :1])], axis=1)
    prob = layers.softmax(y, bk, axis=3)[..., 1]  # (N, H, W)
    n = y.shape[0]
    flat = y.reshape(n, -1) @ rng.standard_normal((y.size // n, 3)).astype(f32)
    anchors = xp.tile(np.arange(8, dtype=f32).reshape(2, 4), (n, 1))
    pairs = xp.stack([anchors[:, 0] * f32(2), -anchors[:, 3]], axis=1)  # (2N, 2)
    return prob, flat, y.mean(axis=(1, 2)), layers.sigmoid(pairs.reshape(n, -1) + flat[:, :1], bk)


@pytest.mark.parametrize("dynamic", [False, True])
def test_traced_ops_match_numpy(dynamic):
    x = np.random.default_rng(2).uniform(-1, 1, (3, 11, 9, 3)).astype(np.float32)
    graph = Graph(dynamic)
    graph.input_name = "input"
    sym = Sym(graph, "input", (BatchDim(TRACE_BATCH) if dynamic else 3,) + x.shape[1:])
    outs = _mixed_ops(sym, GraphBackend(graph))
    model = model_from_graph(graph, sym, {f"out{i}": o.logical() for i, o in enumerate(outs)}, "t")
    got = _session(model).run(None, {"input": x})
    for i, (g, w) in enumerate(zip(got, _mixed_ops(x, get_backend("numpy")))):
        _assert_close(g, w, f"out{i}")


def test_reshape_that_would_fix_the_batch_is_refused():
    graph = Graph(dynamic=True)
    graph.input_name = "input"
    x = Sym(graph, "input", (BatchDim(2), 4, 3))
    with pytest.raises(ValueError, match="fix the batch size"):
        x.reshape(8, 3)
    assert x.reshape(-1).shape == (24,)
    assert x.reshape(x.shape[0], -1).shape[0] is x.shape[0]


# --- benchmark peers --------------------------------------------------------------------


@pytest.mark.parametrize("peer", ["onnxruntime", "openvino"])
def test_peer_runs_the_exported_graph(weights_dir, peer):
    from faceapi_np.onnx_export import peers

    pytest.importorskip(peer, reason=f"{peer} is not installed ({peers.PEERS[peer][1]})")
    model = build_model("tiny", input_size=128, batch=2)
    x = np.random.default_rng(5).uniform(0, 255, (2, 128, 128, 3)).astype(np.float32)
    (got,) = peers.make_runner(peer, model.SerializeToString())(x)
    _assert_close(np.asarray(got), _reference("tiny", x)[0], f"{peer} tiny")


def test_peer_ratios():
    from faceapi_np.onnx_export.peers import add_peer_ratios

    rows = [
        {"backend": "numba", "net": "tiny", "batch": 1, "median_ms": 30.0},
        {"backend": "onnxruntime", "net": "tiny", "batch": 1, "median_ms": 20.0},
        {"backend": "openvino", "net": "tiny", "batch": 1, "median_ms": 10.0},
        {"backend": "numba", "net": "ssd", "batch": 1, "median_ms": 5.0},
    ]
    add_peer_ratios(rows)
    assert [r.get("vs_peer") for r in rows] == [3.0, 2.0, 1.0, None]


def test_bench_peer_rows_and_missing_peer(weights_dir, tmp_path, monkeypatch, capsys):
    import json

    from faceapi_np.cli.main import main
    from faceapi_np.onnx_export import peers

    monkeypatch.setitem(peers.PEERS, "absent", ("faceapi_np_absent_runtime", "pip install absent"))
    out = tmp_path / "bench.json"
    argv = ["bench", "--backends", "numpy", "--peers", "onnxruntime,absent"]
    argv += ["--nets", "landmarks_tiny", "--batch", "2", "--repeat", "1", "--no-chain"]
    assert main([*argv, "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    rows = {r["backend"]: r for r in report["nets"]}
    assert set(rows) == {"numpy", "onnxruntime"}
    assert rows["onnxruntime"]["vs_peer"] == 1.0 and rows["onnxruntime"]["batch"] == 2
    ratio = rows["numpy"]["median_ms"] / rows["onnxruntime"]["median_ms"]
    assert rows["numpy"]["vs_peer"] == pytest.approx(ratio)
    assert "pip install absent" in report["skipped"]["absent"]
    assert "skipping peer absent" in capsys.readouterr().err
    assert main([*argv[:4], "nosuchpeer", "--json", str(out)]) == 2  # a usage error
