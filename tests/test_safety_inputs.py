"""Bad or extreme inputs to the library: images, options, limits, odd shapes, odd calls.

Each must give a result or a FaceApiError that says what was wrong, within bounded time
and memory.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

import faceapi_np as fa
from faceapi_np import limits
from faceapi_np.errors import (
    BackendError,
    FaceApiError,
    ImageError,
    InputError,
    OptionsError,
)
from faceapi_np.image import load_image, reshaped_size, to_batch
from faceapi_np.mtcnn.pyramid import pyramid_down, select_scales


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` RGB pixels but holds almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# ---------------------------------------------------------------------------------------
# limits: defaults, overrides, environment


def test_every_limit_has_a_positive_default_and_an_env_name():
    for name, (default, what) in limits.DEFAULTS.items():
        assert default > 0 and what
        assert limits.env_name(name) == "FACEAPI_NP_" + name.upper()
    assert limits.current() == {n: d for n, (d, _) in limits.DEFAULTS.items()}


def test_set_limits_returns_the_previous_settings_and_override_restores():
    before = limits.get("max_input_size")
    with limits.override(max_input_size=64):
        assert limits.get("max_input_size") == 64
        old = limits.set_limits(max_input_size=96)
        assert old == {"max_input_size": 64} and limits.get("max_input_size") == 96
    assert limits.get("max_input_size") == before


def test_environment_sets_a_limit_and_code_wins(monkeypatch):
    monkeypatch.setenv("FACEAPI_NP_MAX_BATCH_SIZE", "3")
    assert limits.get("max_batch_size") == 3
    with limits.override(max_batch_size=5):
        assert limits.get("max_batch_size") == 5
    monkeypatch.setenv("FACEAPI_NP_MAX_BATCH_SIZE", "lots")
    with pytest.raises(OptionsError, match="environment variable FACEAPI_NP_MAX_BATCH_SIZE"):
        limits.get("max_batch_size")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_image_pixels": 0}, "must be a positive number"),
        ({"max_image_pixels": -5}, "must be a positive number"),
        ({"max_image_pixels": float("nan")}, "must be a positive number"),
        ({"max_image_pixels": True}, "must be a positive number"),
        ({"max_image_pixels": 2.5}, "must be a whole number"),
        ({"max_image_pixels": "many"}, "must be a positive number"),
        ({"no_such_limit": 3}, "unknown limit 'no_such_limit'"),
    ],
)
def test_bad_limit_values_are_refused(kwargs, match):
    with pytest.raises(OptionsError, match=match):
        limits.set_limits(**kwargs)


def test_limit_accepts_numpy_numbers():
    with limits.override(max_input_size=np.int64(640), download_seconds=np.float32(2.5)):
        assert limits.get("max_input_size") == 640 and limits.get("download_seconds") == 2.5


# ---------------------------------------------------------------------------------------
# images


def test_pixel_limit_is_checked_from_the_header_before_decoding(tmp_path):
    data = png_header_only(13000, 13000)  # would decode to 507 MB
    assert len(data) < 200
    with pytest.raises(ImageError, match=r"13000x13000 = 169000000 pixels, over the limit"):
        load_image(data)
    path = tmp_path / "bomb.png"
    path.write_bytes(data)
    with pytest.raises(ImageError, match=r"bomb\.png: image is too large.*FACEAPI_NP_MAX_IMAGE"):
        load_image(path)


def test_raising_the_pixel_limit_lets_a_large_image_through():
    img = np.zeros((20, 30, 3), np.uint8)
    with limits.override(max_image_pixels=500):
        with pytest.raises(ImageError, match="max_image_pixels=500"):
            load_image(img)
        with limits.override(max_image_pixels=600):
            assert load_image(img).shape == (20, 30, 3)


def test_npy_pixel_limit_and_broken_npy(tmp_path):
    path = tmp_path / "pixels.npy"
    np.save(path, np.zeros((40, 50, 3), np.uint8))
    with limits.override(max_image_pixels=1000):
        with pytest.raises(ImageError, match=r"pixels\.npy: image is too large: 50x40"):
            load_image(path)
    path.write_bytes(path.read_bytes()[:100])  # header promises more than the file holds
    with pytest.raises(ImageError, match="not a readable .npy array"):
        load_image(path)


def test_nan_float_pil_image_is_refused():
    img = Image.fromarray(np.array([[1.0, np.nan], [3.0, 4.0]], np.float32), mode="F")
    with pytest.raises(ImageError, match="float image .* NaN or infinite"):
        load_image(img)
    ok = Image.fromarray(np.array([[1.0, 2.0], [3.0, 4.0]], np.float32), mode="F")
    assert load_image(ok).shape == (2, 2, 3)


@pytest.mark.parametrize("value", [np.nan, np.inf, -1.0, 256.0])
def test_bad_float_arrays_are_refused(value):
    arr = np.full((8, 8, 3), 10.0, np.float32)
    arr[3, 4, 1] = value
    with pytest.raises(ImageError):
        load_image(arr)


@pytest.mark.parametrize("src", [None, 3, 2.5, ["a.jpg"], {"x": 1}, b"", b"\0" * 10])
def test_unusable_image_sources(src):
    with pytest.raises(ImageError):
        load_image(src)


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/null", "/"])
def test_devices_and_folders_are_not_images(path):
    with pytest.raises(ImageError, match="no such image file"):
        load_image(path)


# ---------------------------------------------------------------------------------------
# geometry: strips of every aspect ratio, degenerate boxes


@pytest.mark.parametrize("w, h", [(2000, 1), (1, 2000), (5000, 3), (3, 5000), (1, 1), (1025, 1)])
def test_reshaped_size_never_gives_zero(w, h):
    rw, rh = reshaped_size(w, h, 512)
    assert min(rw, rh) >= 1 and max(rw, rh) == 512


@pytest.fixture(scope="module")
def detectors(weights_dir):
    return [
        fa.SsdMobilenetv1Options(),
        fa.TinyFaceDetectorOptions(input_size=128),
        fa.MtcnnOptions(max_num_scales=2),
    ]


@pytest.mark.parametrize("shape", [(1, 2000), (2000, 1), (3, 5000), (40, 4000), (4000, 40)])
def test_strips_give_a_result_or_a_clear_error(detectors, shape):
    img = np.full((*shape, 3), 128, np.uint8)
    for options in detectors:
        try:
            faces = fa.detect_all_faces(img, options)
        except FaceApiError as exc:  # MTCNN: smaller than a face or over the pyramid limit
            assert isinstance(options, fa.MtcnnOptions), exc
            continue
        for f in faces:
            assert np.isfinite([f.box.x, f.box.y, f.box.width, f.box.height]).all()


def test_resize_results_refuses_bad_sizes():
    det = fa.FaceDetection(0.9, fa.Box(10, 10, 20, 20), (100, 100))
    assert fa.resize_results([det], 50, 50)[0].box.width == pytest.approx(10)
    for w, h in [(0, 10), (10, -1), (float("nan"), 10), (10, float("inf")), ("10", 10)]:
        with pytest.raises(InputError, match="width and height must be positive"):
            fa.resize_results([det], w, h)
    with pytest.raises(InputError, match="cannot resize str"):
        fa.resize_results("face", 10, 10)


@pytest.mark.parametrize(
    "faces, match",
    [
        ([None], "cannot cut a face out of a NoneType"),
        (["box"], "cannot cut a face out of a str"),
        ([(1, 2, 3, 4)], "cannot cut a face out of a tuple"),
        ([fa.Box(float("nan"), 0, 5, 5)], "needs finite numbers"),
        ([fa.Box("a", 0, 5, 5)], "needs finite numbers"),
        ([fa.Box(50, 50, 5, 5)], "lies outside"),
        (7, "faces must be a list"),
    ],
)
def test_extract_faces_refuses_non_boxes(faces, match):
    img = np.zeros((20, 20, 3), np.uint8)
    with pytest.raises(InputError, match=match):
        fa.extract_faces(img, faces)


def test_extract_faces_takes_a_single_box():
    img = np.arange(20 * 20 * 3, dtype=np.uint8).reshape(20, 20, 3)
    (crop,) = fa.extract_face_tensors(img, fa.Box(2, 3, 4, 5))
    np.testing.assert_array_equal(crop, img[3:8, 2:6])


# ---------------------------------------------------------------------------------------
# options: NumPy scalars, NaN, limits


def test_options_take_numpy_scalars_and_store_python_numbers():
    ssd = fa.SsdMobilenetv1Options(np.float32(0.25), np.int64(7))
    assert ssd == fa.SsdMobilenetv1Options(0.25, 7) and type(ssd.max_results) is int
    tiny = fa.TinyFaceDetectorOptions(np.int32(320), np.float16(0.5))
    assert tiny.input_size == 320 and type(tiny.score_threshold) is float
    mt = fa.MtcnnOptions(
        np.float32(40), np.float64(0.5), np.int8(3), [np.float32(0.5), 0.6, np.float64(0.7)]
    )
    assert mt.min_face_size == 40.0 and mt.max_num_scales == 3
    assert mt.score_thresholds == (0.5, pytest.approx(0.6), pytest.approx(0.7))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: fa.SsdMobilenetv1Options(float("nan")), "min_confidence"),
        (lambda: fa.SsdMobilenetv1Options(np.bool_(True)), "min_confidence"),
        (lambda: fa.SsdMobilenetv1Options(0.5, 3.0), "max_results"),
        (lambda: fa.TinyFaceDetectorOptions(416.0), "multiple of 32"),
        (lambda: fa.TinyFaceDetectorOptions(4096), "over the limit max_input_size=2048"),
        (lambda: fa.TinyFaceDetectorOptions(score_threshold=float("nan")), "score_threshold"),
        (lambda: fa.MtcnnOptions(min_face_size=float("nan")), "min_face_size"),
        (lambda: fa.MtcnnOptions(min_face_size=float("inf")), "min_face_size"),
        (lambda: fa.MtcnnOptions(scale_factor=float("nan")), "scale_factor"),
        (lambda: fa.MtcnnOptions(max_num_scales=10**6), "over the limit max_pyramid_scales"),
        (lambda: fa.MtcnnOptions(scale_steps=(float("inf"),)), "scale_steps"),
        (lambda: fa.MtcnnOptions(scale_steps=(float("nan"), 0.5)), "scale_steps"),
        (lambda: fa.MtcnnOptions(scale_steps=[0.1] * 1000), "over the limit max_pyramid_scales"),
        (lambda: fa.MtcnnOptions(score_thresholds=(0.5, float("nan"), 0.5)), "score_thresholds"),
        (lambda: fa.MtcnnOptions(score_thresholds="abc"), "score_thresholds"),
    ],
)
def test_bad_options_are_refused(make, match):
    with pytest.raises(OptionsError, match=match):
        make()


def test_input_size_limit_can_be_raised():
    with limits.override(max_input_size=4096):
        assert fa.TinyFaceDetectorOptions(4096).input_size == 4096


def test_mtcnn_pyramid_is_bounded_in_pixels():
    opts = fa.MtcnnOptions(min_face_size=1)
    with pytest.raises(OptionsError, match="over the limit max_pyramid_pixels=20000000"):
        select_scales(opts, 3000, 4000)
    assert select_scales(fa.MtcnnOptions(), 3000, 4000)  # a 12 MP photo with the defaults
    with pytest.raises(OptionsError, match="max_pyramid_pixels"):
        select_scales(fa.MtcnnOptions(scale_steps=(1e200,)), 100, 100)
    with pytest.raises(OptionsError, match="max_pyramid_pixels"):
        select_scales(fa.MtcnnOptions(min_face_size=1e-300), 100, 100)


def test_mtcnn_scale_factor_near_one_stops_at_max_num_scales():
    opts = fa.MtcnnOptions(scale_factor=1 - 1e-15, max_num_scales=4)
    assert select_scales(opts, 100, 100) == pytest.approx([0.6] * 4)
    assert len(pyramid_down(20, 1 - 1e-15, 100, 100, max_count=7)) == 7


# ---------------------------------------------------------------------------------------
# odd calls


def test_to_batch_limits():
    img = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(InputError, match="no images"):
        to_batch([], 32)
    for size, match in [(0, "positive"), (2.0, "integer"), (True, "integer")]:
        with pytest.raises(InputError, match=match):
            to_batch([img], size)
    with pytest.raises(InputError, match="over the limit max_input_size"):
        to_batch([img], 100_000)
    with limits.override(max_batch_size=2), pytest.raises(InputError, match="max_batch_size=2"):
        to_batch([img] * 3, 32)


def test_compute_face_descriptors_of_nothing(weights_dir):
    with pytest.raises(InputError, match="at least one face crop"):
        fa.compute_face_descriptors([])


@pytest.mark.parametrize("name", [3, None.__class__, ["numpy"], b"numpy"])
def test_non_string_backend_names(name):
    with pytest.raises(BackendError, match="must be a string"):
        fa.get_backend(name)
    with pytest.raises(BackendError, match="must be a string"):
        fa.set_backend(name)
