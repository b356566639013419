"""The CuPy backend without a GPU: CUDA sources compile, and its Python side runs whole
nets through a NumPy stand-in for cupy (tests/cupy_standin.py). On a GPU machine
``scripts/gpu_check.sh`` runs the real thing; here the real cupy backend is skipped."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import faceapi_np as fa
from faceapi_np import backend
from faceapi_np.image import to_batch

CUDA_DIR = Path(__file__).resolve().parents[1] / "kernels" / "cuda"
SOURCES = sorted(CUDA_DIR.glob("*.cu"))


@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_cuda_source_compiles(source, arch, tmp_path):
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc is not installed: CUDA sources not compiled")
    proc = subprocess.run(
        [
            nvcc,
            "--ptx",
            f"-arch={arch}",
            "-I",
            str(CUDA_DIR),
            "-o",
            str(tmp_path / "k.ptx"),
            str(source),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert ".entry" in (tmp_path / "k.ptx").read_text()


def _nvrtc():
    """The NVRTC library (the compiler CuPy's RawModule uses), or None."""
    import ctypes
    import importlib.util

    spec = importlib.util.find_spec("nvidia")
    for root in spec.submodule_search_locations if spec else []:
        for lib in sorted(Path(root).glob("cu*/lib/libnvrtc.so*")):
            return ctypes.CDLL(str(lib))
    return None


@pytest.mark.parametrize("arch", ["compute_80", "compute_90"])
@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_cuda_source_compiles_with_nvrtc(source, arch):
    """Compile each kernel file exactly as cupy.RawModule will on a GPU machine.

    NVRTC has no host headers, so it catches what nvcc lets pass (e.g. ``INFINITY``).
    """
    import ctypes

    lib = _nvrtc()
    if lib is None:
        pytest.skip("NVRTC is not installed (the cuda-check extra: pip install -e '.[cuda-check]')")
    prog = ctypes.c_void_p()
    assert (
        lib.nvrtcCreateProgram(
            ctypes.byref(prog), source.read_bytes(), source.name.encode(), 0, None, None
        )
        == 0
    )
    opts = [
        b"--std=c++14",
        b"-I" + str(CUDA_DIR).encode(),
        b"--gpu-architecture=" + arch.encode(),
    ]
    status = lib.nvrtcCompileProgram(prog, len(opts), (ctypes.c_char_p * len(opts))(*opts))
    size = ctypes.c_size_t()
    lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    lib.nvrtcGetProgramLog(prog, log)
    lib.nvrtcDestroyProgram(ctypes.byref(prog))
    assert status == 0, log.value.decode()


@pytest.fixture
def standin_cupy(monkeypatch):
    """The cupy backend, built on the NumPy stand-in, removed again afterwards."""
    import cupy_standin

    monkeypatch.setitem(sys.modules, "cupy", cupy_standin.make_module())
    for mod in ("faceapi_np.backend.cupy_backend", "faceapi_np.kernels.cupy_ops"):
        monkeypatch.delitem(sys.modules, mod, raising=False)
    monkeypatch.setattr(backend, "_cache", dict(backend._cache))
    backend._cache.pop("cupy", None)
    cupy_standin.RawModule.launches = []
    bk = backend.get_backend("cupy")
    yield bk, cupy_standin.RawModule.launches
    for mod in ("faceapi_np.backend.cupy_backend", "faceapi_np.kernels.cupy_ops"):
        sys.modules.pop(mod, None)


def test_real_cupy_backend_skips_with_reason():
    try:
        import cupy  # noqa: F401  (only: is it installed?)
    except ImportError:
        with pytest.raises(fa.BackendError, match="cupy is not installed"):
            backend.get_backend("cupy")
        assert "cupy" not in backend.available_backends()
    else:
        pytest.skip("cupy is installed: the GPU check script covers it")


def test_every_kernel_is_defined_in_its_source(standin_cupy):
    from faceapi_np.kernels import cupy_ops

    for name, path in cupy_ops.KERNELS.items():
        cupy_ops.kernel(name)  # the stand-in asserts `extern "C" __global__ void name(`
        assert (CUDA_DIR / path).is_file()
    assert cupy_ops.launch_config(1) == ((1,), (256,))
    assert cupy_ops.launch_config(257) == ((2,), (256,))
    assert cupy_ops.launch_config(10**12)[0][0] == cupy_ops.MAX_BLOCKS


@pytest.mark.parametrize(
    "cls, size, batch",
    [
        (fa.TinyFaceDetector, 128, 2),
        (fa.FaceLandmark68Net, 112, 2),
        (fa.FaceRecognitionNet, 150, 1),
        (fa.AgeGenderNet, 112, 1),
    ],
)
def test_cupy_backend_python_side_runs_whole_nets(standin_cupy, weights_dir, cls, size, batch):
    bk, launches = standin_cupy
    net = cls().load(weights_dir)
    x = np.random.default_rng(0).uniform(0, 255, (batch, size, size, 3)).astype(np.float32)
    got, want = net.forward(x, bk), net.forward(x, backend.get_backend("numpy"))
    for g, w in zip(
        got if isinstance(got, tuple) else [got],
        want if isinstance(want, tuple) else [want],
    ):
        np.testing.assert_allclose(bk.to_numpy(g), w, rtol=1e-4, atol=1e-4 * np.abs(w).max())
    assert {"im2col", "conv_epilogue"} <= set(launches)


def test_cupy_backend_resize_matches_reference(standin_cupy):
    bk, launches = standin_cupy
    rng = np.random.default_rng(1)
    for shape, center in (
        ((30, 50, 3), False),
        ((41, 20, 3), True),
        ((64, 64, 3), True),
    ):
        img = rng.integers(0, 256, shape, dtype=np.uint8)
        np.testing.assert_array_equal(
            to_batch([img], 64, center, bk=bk),
            to_batch([img], 64, center, bk=backend.get_backend("numpy")),
        )
    assert "resize_to_square_u8" in launches
