"""Images in (``load_image``), batches out (``to_batch``), and the two ops they rest on:
``pad_to_square`` and tfjs's bilinear ``resize_bilinear``."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image, ImageOps

from faceapi_np import limits
from faceapi_np.errors import ImageError
from faceapi_np.image import load_image, to_batch
from faceapi_np.ops import pad_to_square, resize_bilinear

rng = np.random.default_rng(20240522)
PIXELS = rng.integers(0, 256, size=(12, 17, 3), dtype=np.uint8)  # H=12, W=17


def png_bytes(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", **kw)
    return buf.getvalue()


def jpeg_bytes(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90, **kw)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------
# load_image: sources


def test_all_sources_give_the_same_pixels(tmp_path):
    pil = Image.fromarray(PIXELS)
    png = tmp_path / "pic.png"
    pil.save(png)
    npy = tmp_path / "pic.npy"
    np.save(npy, PIXELS)
    loaded = {
        "path": load_image(png),
        "str path": load_image(str(png)),
        "bytes": load_image(png.read_bytes()),
        "bytearray": load_image(bytearray(png.read_bytes())),
        "pil": load_image(pil),
        "uint8 array": load_image(PIXELS),
        "npy": load_image(npy),
    }
    for how, arr in loaded.items():
        assert arr.dtype == np.uint8 and arr.shape == (12, 17, 3), how
        np.testing.assert_array_equal(arr, PIXELS, err_msg=how)
        assert arr.flags.c_contiguous, how


def test_float_array_keeps_float32_values():
    """Float arrays stay float (as float32), with the same values."""
    for dtype in (np.float32, np.float64):
        arr = load_image(PIXELS.astype(dtype))
        assert arr.dtype == np.float32 and arr.shape == (12, 17, 3)
        np.testing.assert_array_equal(arr, PIXELS.astype(np.float32))
    frac = np.full((2, 3, 3), 0.25, np.float64)
    assert load_image(frac)[1, 2].tolist() == [0.25, 0.25, 0.25]


def test_grayscale_image_gives_three_equal_channels():
    gray = PIXELS[:, :, 0]
    arr = load_image(Image.fromarray(gray, mode="L"))
    assert arr.shape == (12, 17, 3) and arr.dtype == np.uint8
    for ch in range(3):
        np.testing.assert_array_equal(arr[:, :, ch], gray)


def test_rgba_image_drops_alpha():
    rgba = np.dstack([PIXELS, rng.integers(0, 256, size=(12, 17), dtype=np.uint8)])
    rgba[0, 0, 3] = 0  # fully transparent pixel keeps its colour too
    arr = load_image(png_bytes(Image.fromarray(rgba, mode="RGBA")))
    np.testing.assert_array_equal(arr, PIXELS)


def test_palette_image():
    palette = [0, 0, 0, 255, 0, 0, 10, 20, 30, 200, 150, 100]  # 4 colours
    idx = np.array([[0, 1, 2, 3], [3, 2, 1, 0]], np.uint8)
    img = Image.fromarray(idx, mode="P")
    img.putpalette(palette + [0] * (768 - len(palette)))
    arr = load_image(png_bytes(img))
    colours = np.array(palette, np.uint8).reshape(4, 3)
    np.testing.assert_array_equal(arr, colours[idx])
    assert arr[1, 0].tolist() == [200, 150, 100]


def test_palette_image_with_transparency():
    idx = np.array([[0, 1], [1, 0]], np.uint8)
    img = Image.fromarray(idx, mode="P")
    img.putpalette([9, 8, 7, 1, 2, 3] + [0] * 762)
    arr = load_image(png_bytes(img, transparency=0))
    assert arr.tolist() == [[[9, 8, 7], [1, 2, 3]], [[1, 2, 3], [9, 8, 7]]]


def test_16_bit_grayscale_png_is_scaled_not_clipped():
    """A 16-bit grayscale PNG (Pillow mode I;16) is reduced to 8 bits by scaling, as
    browsers decode it for face-api.js, not clipped to 255 (which turns it white)."""
    deep = (np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000).astype(np.uint16)
    data = png_bytes(Image.fromarray(deep))
    with Image.open(io.BytesIO(data)) as probe:
        assert probe.mode == "I;16"
    arr = load_image(data)
    assert arr.shape == (3, 4, 3) and arr.dtype == np.uint8
    expected = deep / 257.0  # 65535 -> 255
    for ch in range(3):
        assert np.abs(arr[:, :, ch] - expected).max() <= 1.0, arr[:, :, ch].tolist()


@pytest.mark.parametrize("layout", ["HW", "HW1", "HW4"])
def test_array_layouts(layout):
    gray = PIXELS[:, :, 1]
    if layout == "HW":
        src, expected = gray, np.dstack([gray] * 3)
    elif layout == "HW1":
        src, expected = gray[:, :, None], np.dstack([gray] * 3)
    else:
        src, expected = np.dstack([PIXELS, np.full((12, 17), 7, np.uint8)]), PIXELS
    arr = load_image(src)
    assert arr.shape == (12, 17, 3) and arr.dtype == np.uint8
    np.testing.assert_array_equal(arr, expected)


def test_non_contiguous_array():
    view = PIXELS[:, ::-1]
    arr = load_image(view)
    assert arr.flags.c_contiguous
    np.testing.assert_array_equal(arr, PIXELS[:, ::-1])


# ---------------------------------------------------------------------------------------
# EXIF orientation


def _oriented(fmt: str, orientation: int):
    """A 40x20 (W x H) picture whose EXIF orientation tag says ``orientation``."""
    raw = np.zeros((20, 40, 3), np.uint8)
    raw[:, :, 0] = np.arange(40, dtype=np.uint8)[None, :] * 6  # red grows to the right
    raw[:, :, 1] = np.arange(20, dtype=np.uint8)[:, None] * 12  # green grows downwards
    raw[:5, :5, 2] = 255  # blue top-left corner marker
    img = Image.fromarray(raw)
    exif = img.getexif()
    exif[274] = orientation
    data = png_bytes(img, exif=exif) if fmt == "png" else jpeg_bytes(img, exif=exif)
    return raw, data


def test_exif_orientation_6_png():
    """Orientation 6: the camera was turned; the stored pixels must be rotated 90 degrees
    clockwise to stand upright."""
    raw, data = _oriented("png", 6)
    with Image.open(io.BytesIO(data)) as probe:
        assert probe.getexif()[274] == 6
        assert np.asarray(probe).shape == (20, 40, 3)
    arr = load_image(data)
    assert arr.shape == (40, 20, 3)
    np.testing.assert_array_equal(arr, np.rot90(raw, k=-1))
    # the blue marker moved from the top-left to the top-right corner
    assert arr[0, 19, 2] == 255 and arr[0, 0, 2] == 0
    with Image.open(io.BytesIO(data)) as img:
        np.testing.assert_array_equal(arr, np.asarray(ImageOps.exif_transpose(img).convert("RGB")))


def test_exif_orientation_6_jpeg(tmp_path):
    raw, data = _oriented("jpeg", 6)
    path = tmp_path / "rotated.jpg"
    path.write_bytes(data)
    arr = load_image(path)
    assert arr.shape == (40, 20, 3)
    with Image.open(path) as img:
        plain = np.asarray(img.convert("RGB"))
        upright = np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
    assert plain.shape == (20, 40, 3)
    np.testing.assert_array_equal(arr, upright)
    np.testing.assert_array_equal(arr, np.rot90(plain, k=-1))
    # PIL images that carry the tag are turned upright too
    with Image.open(path) as img:
        np.testing.assert_array_equal(load_image(img), upright)


@pytest.mark.parametrize(
    "orientation, expected",
    [
        (1, lambda r: r),
        (2, lambda r: r[:, ::-1]),
        (3, lambda r: r[::-1, ::-1]),
        (8, lambda r: np.rot90(r, k=1)),
    ],
)
def test_other_exif_orientations(orientation, expected):
    raw, data = _oriented("png", orientation)
    np.testing.assert_array_equal(load_image(data), expected(raw))


# ---------------------------------------------------------------------------------------
# load_image: errors


def test_nonexistent_path(tmp_path):
    with pytest.raises(ImageError, match=r"no such image file: .*missing\.png"):
        load_image(tmp_path / "missing.png")


def test_directory_is_not_an_image(tmp_path):
    with pytest.raises(ImageError, match=r"no such image file"):
        load_image(tmp_path)


def test_empty_bytes():
    with pytest.raises(ImageError, match=r"image bytes are empty"):
        load_image(b"")


def test_random_bytes():
    junk = np.random.default_rng(5).integers(0, 256, 500, dtype=np.uint8).tobytes()
    with pytest.raises(ImageError, match=r"<bytes>: not a readable image"):
        load_image(junk)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageError, match=r"empty\.png: not a readable image"):
        load_image(path)


def test_truncated_jpeg(tmp_path):
    big = rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    data = jpeg_bytes(Image.fromarray(big))
    path = tmp_path / "half.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=r"half\.jpg: not a readable image \(.*truncated"):
        load_image(path)
    with pytest.raises(ImageError, match=r"<bytes>: not a readable image"):
        load_image(data[: len(data) // 2])


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (0, 5, 3), (4, 0, 4)])
def test_empty_array(shape):
    h, w = shape[:2]
    with pytest.raises(ImageError, match=rf"image is empty \({h}x{w} pixels\)"):
        load_image(np.zeros(shape, np.uint8))


def test_too_large(tmp_path):
    with limits.override(max_image_pixels=100):
        assert load_image(np.zeros((10, 10, 3), np.uint8)).shape == (10, 10, 3)  # at the limit
        with pytest.raises(
            ImageError,
            match=r"image is too large: 11x10 = 110 pixels, over the limit max_image_pixels=100",
        ):
            load_image(np.zeros((10, 11, 3), np.uint8))
        path = tmp_path / "big.png"
        Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(path)
        with pytest.raises(ImageError, match=r"big\.png: image is too large: 30x20 = 600 pixels"):
            load_image(path)
        with (
            Image.open(path) as img,
            pytest.raises(ImageError, match=r"image is too large: 30x20 = 600 pixels"),
        ):
            load_image(img)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint16, np.int8, bool, np.complex64])
def test_unsupported_dtypes(dtype):
    with pytest.raises(
        ImageError,
        match=rf"image arrays must be uint8 or float, got dtype {np.dtype(dtype)}",
    ):
        load_image(np.zeros((4, 4, 3), dtype))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_float_not_finite(bad):
    arr = np.full((4, 4, 3), 10.0, np.float32)
    arr[2, 1, 0] = bad
    with pytest.raises(ImageError, match=r"NaN or infinite"):
        load_image(arr)


@pytest.mark.parametrize("lo, hi", [(0.0, 255.5), (-1.0, 10.0)])
def test_float_out_of_range(lo, hi):
    arr = np.full((4, 4, 3), 10.0, np.float64)
    arr[0, 0, 0], arr[3, 3, 2] = lo, hi
    with pytest.raises(ImageError, match=rf"must lie in \[0, 255\] \(got {lo:g}\.\.{hi:g}\)"):
        load_image(arr)


@pytest.mark.parametrize("shape", [(4, 4, 2), (12,), (2, 4, 4, 3), (4, 4, 5)])
def test_bad_shapes(shape):
    with pytest.raises(
        ImageError,
        match=r"expected an image array of shape \(H, W\), \(H, W, 3\) or \(H, W, 4\), got",
    ):
        load_image(np.zeros(shape, np.uint8))


@pytest.mark.parametrize("src, name", [([[1, 2], [3, 4]], "list"), (7, "int"), (None, "NoneType")])
def test_unsupported_type(src, name):
    with pytest.raises(ImageError, match=rf"cannot load an image from {name}; pass a path, bytes"):
        load_image(src)


def test_npy_with_bad_content(tmp_path):
    path = tmp_path / "ints.npy"
    np.save(path, np.zeros((3, 3, 3), np.int64))
    with pytest.raises(ImageError, match=r"ints\.npy.*int64"):
        load_image(path)
    pickled = tmp_path / "obj.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ImageError, match=r"obj\.npy: not a readable \.npy array"):
        load_image(pickled)


# ---------------------------------------------------------------------------------------
# pad_to_square


def _rows(h, w):
    """(1, h, w, 1) float32 with values 1..h*w."""
    return np.arange(1, h * w + 1, dtype=np.float32).reshape(1, h, w, 1)


def test_pad_wide_image_bottom():
    out = pad_to_square(_rows(3, 6))
    assert out.shape == (1, 6, 6, 1) and out.dtype == np.float32
    expected = np.array(
        [
            [1, 2, 3, 4, 5, 6],
            [7, 8, 9, 10, 11, 12],
            [13, 14, 15, 16, 17, 18],
            [0, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0],
        ],
        np.float32,
    )
    np.testing.assert_array_equal(out[0, :, :, 0], expected)


def test_pad_wide_image_centered_odd_difference():
    """diff 3: Math.round(1.5) = 2 rows appended at the bottom, 1 prepended at the top."""
    out = pad_to_square(_rows(3, 6), center=True)
    expected = np.array(
        [
            [0, 0, 0, 0, 0, 0],
            [1, 2, 3, 4, 5, 6],
            [7, 8, 9, 10, 11, 12],
            [13, 14, 15, 16, 17, 18],
            [0, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0],
        ],
        np.float32,
    )
    np.testing.assert_array_equal(out[0, :, :, 0], expected)


def test_pad_tall_image_right_and_centered():
    x = _rows(5, 2)
    plain = pad_to_square(x)[0, :, :, 0]
    assert plain.tolist() == [
        [1, 2, 0, 0, 0],
        [3, 4, 0, 0, 0],
        [5, 6, 0, 0, 0],
        [7, 8, 0, 0, 0],
        [9, 10, 0, 0, 0],
    ]
    centered = pad_to_square(x, center=True)[0, :, :, 0]
    assert centered.tolist() == [
        [0, 1, 2, 0, 0],
        [0, 3, 4, 0, 0],
        [0, 5, 6, 0, 0],
        [0, 7, 8, 0, 0],
        [0, 9, 10, 0, 0],
    ]


def test_pad_even_and_unit_difference():
    even = pad_to_square(_rows(2, 6), center=True)[0, :, 0, 0]
    assert even.tolist() == [0, 0, 1, 7, 0, 0]
    # diff 1: Math.round(0.5) = 1 appended, nothing prepended
    unit = pad_to_square(_rows(2, 3), center=True)[0, :, :, 0]
    assert unit.tolist() == [[1, 2, 3], [4, 5, 6], [0, 0, 0]]


def test_pad_keeps_batch_and_channels():
    x = rng.random((2, 3, 4, 3)).astype(np.float32) + 1
    out = pad_to_square(x, center=True)
    assert out.shape == (2, 4, 4, 3)
    np.testing.assert_array_equal(out[:, 0:3], x)  # diff 1: all of it appended
    assert (out[:, 3] == 0).all()


def test_pad_square_unchanged():
    x = rng.random((2, 5, 5, 3)).astype(np.float32)
    for center in (False, True):
        out = pad_to_square(x, center=center)
        assert out.shape == x.shape and out.dtype == np.float32
        np.testing.assert_array_equal(out, x)
    as_uint8 = pad_to_square(np.full((1, 2, 2, 3), 200, np.uint8))
    assert as_uint8.dtype == np.float32 and (as_uint8 == 200).all()


# ---------------------------------------------------------------------------------------
# resize_bilinear


def ref_resize_bilinear(x, new_h, new_w):
    """tfjs-core 1.7 CPU resizeBilinear, alignCorners false, as a plain loop in doubles."""
    n, h, w, c = x.shape
    vals = x.astype(np.float64).tolist()
    out = np.zeros((n, new_h, new_w, c), np.float32)
    row_ratio, col_ratio = h / new_h, w / new_w
    for b in range(n):
        for r in range(new_h):
            src_r = row_ratio * r
            r0 = math.floor(src_r)
            r_frac = src_r - r0
            r1 = min(h - 1, math.ceil(src_r))
            for col in range(new_w):
                src_c = col_ratio * col
                c0 = math.floor(src_c)
                c_frac = src_c - c0
                c1 = min(w - 1, math.ceil(src_c))
                for d in range(c):
                    tl, tr = vals[b][r0][c0][d], vals[b][r0][c1][d]
                    bl, br = vals[b][r1][c0][d], vals[b][r1][c1][d]
                    top = tl + (tr - tl) * c_frac
                    bottom = bl + (br - bl) * c_frac
                    out[b, r, col, d] = top + (bottom - top) * r_frac
    return out


@pytest.mark.parametrize(
    "src_hw, dst_hw",
    [
        ((13, 7), (31, 45)),
        ((37, 23), (11, 5)),
        ((9, 50), (20, 17)),
        ((5, 5), (3, 3)),
        ((1, 1), (4, 3)),
    ],
    ids=["up", "down", "mixed", "square-down", "one-pixel"],
)
def test_resize_matches_tfjs_loop(src_hw, dst_hw):
    x = (np.random.default_rng(sum(src_hw) + sum(dst_hw)).random((2, *src_hw, 3)) * 255).astype(
        np.float32
    )
    got = resize_bilinear(x, *dst_hw)
    assert got.shape == (2, *dst_hw, 3) and got.dtype == np.float32
    np.testing.assert_array_equal(got, ref_resize_bilinear(x, *dst_hw))


def test_resize_identity():
    x = (rng.random((2, 11, 6, 3)) * 255).astype(np.float32)
    np.testing.assert_array_equal(resize_bilinear(x, 11, 6), x)


def test_resize_2x2_to_4x4_by_hand():
    x = np.array([[0, 4], [8, 12]], np.float32).reshape(1, 2, 2, 1)
    out = resize_bilinear(x, 4, 4)[0, :, :, 0]
    assert out.tolist() == [
        [0, 2, 4, 4],
        [4, 6, 8, 8],
        [8, 10, 12, 12],
        [8, 10, 12, 12],
    ]


def test_resize_4x4_to_3x3_by_hand():
    """Downscale: ratio 4/3, source rows 0, 1.333.., 2.666..; no half-pixel centres."""
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)  # value = 4 * row + col
    out = resize_bilinear(x, 3, 3)[0, :, :, 0]
    pos = np.array([0.0, 4 / 3, 8 / 3])
    expected = (4 * pos[:, None] + pos[None, :]).astype(np.float32)
    np.testing.assert_allclose(out, expected, rtol=0, atol=2e-6)
    assert out[0, 0] == 0 and out[2, 2] == pytest.approx(40 / 3, abs=1e-5)


# ---------------------------------------------------------------------------------------
# to_batch


def test_to_batch_pads_below_then_resizes():
    img = rng.integers(1, 256, size=(30, 50, 3), dtype=np.uint8)  # no zero pixels
    batch = to_batch([img], 64)
    assert batch.shape == (1, 64, 64, 3) and batch.dtype == np.float32
    square = np.zeros((1, 50, 50, 3), np.float32)
    square[0, :30] = img
    np.testing.assert_array_equal(batch, ref_resize_bilinear(square, 64, 64))
    # output row r samples source row r * 50 / 64; rows from 39 on (39.0 * 0.78125 = 30.47)
    # see padding only, row 38 (29.69) still blends in the last image row
    assert (batch[0, 39:] == 0).all()
    assert (batch[0, :39].min(axis=(1, 2)) > 0).all()


def test_to_batch_centered_splits_padding():
    img = rng.integers(1, 256, size=(30, 50, 3), dtype=np.uint8)
    batch = to_batch([img], 64, center=True)
    square = np.zeros((1, 50, 50, 3), np.float32)
    square[0, 10:40] = img  # diff 20: 10 rows above, 10 below
    np.testing.assert_array_equal(batch, ref_resize_bilinear(square, 64, 64))
    assert (batch[0, :12] == 0).all() and (batch[0, 52:] == 0).all()
    assert (batch[0, 12:52].min(axis=(1, 2)) > 0).all()


def test_to_batch_several_images_and_no_resize_at_input_size():
    a = rng.integers(0, 256, size=(64, 40, 3), dtype=np.uint8)
    b = rng.random((64, 64, 3)).astype(np.float32) * 255
    batch = to_batch([a, b], 64)
    assert batch.shape == (2, 64, 64, 3) and batch.dtype == np.float32
    np.testing.assert_array_equal(batch[0, :, :40], a.astype(np.float32))
    assert (batch[0, :, 40:] == 0).all()
    np.testing.assert_array_equal(batch[1], b)  # already square at the input size
