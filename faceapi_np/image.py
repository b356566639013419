"""Images in, network batches out.

:func:`load_image` turns whatever a user has (a path, bytes, a PIL image, an array) into
one ``(H, W, 3)`` RGB array, applying EXIF orientation and converting grayscale,
palette and RGBA images, with a clear :class:`~faceapi_np.errors.ImageError` for
anything unusable. :func:`to_batch` then does what face-api.js's
``NetInput.toBatchTensor`` does: pad each image to a square and resize it to the net's
input size with TF's bilinear resize, giving an ``(N, S, S, 3)`` float32 batch.
"""

from __future__ import annotations

import io
import os
import warnings

import numpy as np

from . import limits
from .errors import ImageError, InputError
from .ops import js_round

#: Default of the limit ``max_image_pixels`` (about 10,000 x 10,000); the limit in force is
#: ``limits.get("max_image_pixels")``. Kept under this name for code that imported it.
MAX_PIXELS = limits.DEFAULTS["max_image_pixels"][0]


def check_pixels(width: int, height: int) -> None:
    """Refuse an image of more than ``max_image_pixels`` pixels, before it is decoded."""
    if width * height > limits.get("max_image_pixels"):
        raise limits.exceeded(
            "max_image_pixels",
            f"image is too large: {width}x{height} = {width * height} pixels",
            ImageError,
        )


def _from_pil(img, exif: bool = True) -> np.ndarray:
    from PIL import ImageOps

    check_pixels(*img.size)
    try:
        if exif:  # a browser shows the photo upright, so face-api.js's users see it so
            img = ImageOps.exif_transpose(img)
        if img.mode.startswith("I"):
            # 16-bit (or 32-bit integer) grayscale: scale to 8 bits as a browser decodes
            # it, rather than letting convert("RGB") clip everything above 255
            wide = np.asarray(img, dtype=np.float64)
            top = 65535.0 if wide.max() <= 65535 else float(wide.max())
            return _check_array(np.round(np.clip(wide, 0, None) * (255.0 / top)).astype(np.uint8))
        if img.mode == "F":
            # 32-bit float pixels: convert("RGB") would turn NaN into an arbitrary byte
            wide = np.asarray(img, dtype=np.float32)
            if not np.isfinite(wide).all():
                raise ImageError("float image (mode F) contains NaN or infinite values")
        if img.mode != "RGB":
            # 'LA'/'RGBA'/'P' with transparency: composite on nothing, i.e. drop alpha,
            # as tf.browser.fromPixels(..., 3) does.
            img = img.convert("RGB")
        arr = np.asarray(img, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError) as exc:  # truncated or corrupt data
        raise ImageError(f"could not decode image: {exc}") from None
    return _check_array(arr)


def _check_array(arr: np.ndarray) -> np.ndarray:
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)  # grayscale -> RGB
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise ImageError(
            f"expected an image array of shape (H, W), (H, W, 3) or (H, W, 4), got {arr.shape}"
        )
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    elif arr.shape[2] == 4:
        arr = arr[:, :, :3]  # drop alpha
    h, w = arr.shape[:2]
    if h == 0 or w == 0:
        raise ImageError(f"image is empty ({h}x{w} pixels)")
    check_pixels(w, h)
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    if np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float32)
        if not np.isfinite(arr).all():
            raise ImageError("image array contains NaN or infinite values")
        if arr.min() < 0 or arr.max() > 255:
            raise ImageError(
                "float image values must lie in [0, 255] "
                f"(got {float(arr.min()):g}..{float(arr.max()):g})"
            )
        return np.ascontiguousarray(arr)
    raise ImageError(f"image arrays must be uint8 or float, got dtype {arr.dtype}")


def load_image(src, exif: bool = True) -> np.ndarray:
    """Load an image as an RGB array.

    Parameters
    ----------
    src : str | os.PathLike | bytes | PIL.Image.Image | numpy.ndarray
        A file path (any format Pillow reads, or a ``.npy`` pixel array), encoded file
        bytes (PNG, JPEG, ...), a Pillow image or an array of shape (H, W), (H, W, 3) or
        (H, W, 4). Grayscale is replicated to three channels; alpha is dropped.
    exif : bool
        Apply the EXIF orientation (default), as a browser displays the photo. False keeps
        the pixels as stored, as a plain decoder (e.g. face-api.js in Node with jpeg-js)
        reads them.

    Returns
    -------
    numpy.ndarray, shape (H, W, 3)
        uint8 for decoded images and uint8 arrays; float32 for float arrays (values in
        [0, 255]), which the nets accept as face-api.js accepts float tensors.
    """
    if isinstance(src, np.ndarray):
        return _check_array(src)
    from PIL import Image

    if isinstance(src, Image.Image):
        return _from_pil(src, exif)
    if isinstance(src, (bytes, bytearray, memoryview)):
        if len(src) == 0:
            raise ImageError("image bytes are empty")
        fp, name = io.BytesIO(bytes(src)), "<bytes>"
    elif isinstance(src, (str, os.PathLike)):
        name = os.fspath(src)
        if not os.path.isfile(name):
            raise ImageError(f"no such image file: {name}")
        if name.lower().endswith(".npy"):  # raw pixels, e.g. saved by the reference tool
            try:
                # memory-mapped first, so a header declaring a huge array costs nothing
                arr = np.load(name, allow_pickle=False, mmap_mode="r")
            except (OSError, ValueError, EOFError) as exc:
                raise ImageError(f"{name}: not a readable .npy array ({exc})") from None
            try:
                if arr.ndim >= 2:
                    check_pixels(arr.shape[1], arr.shape[0])
                return _check_array(np.array(arr))
            except ImageError as exc:
                raise ImageError(f"{name}: {exc}") from None
        fp = name
    else:
        raise ImageError(
            f"cannot load an image from {type(src).__name__}; "
            "pass a path, bytes, a PIL image or a numpy array"
        )
    try:
        with warnings.catch_warnings():
            # Pillow warns of "decompression bombs" from the header; the pixel limit
            # below is ours, checked at the same point, and says how to raise it
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(fp)
        with img:
            check_pixels(*img.size)  # the header's size, before any pixel is decoded
            img.load()
            return _from_pil(img, exif)
    except ImageError as exc:
        raise ImageError(f"{name}: {exc}") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{name}: image is too large: {exc}") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"{name}: not a readable image ({exc})") from None


def to_batch(images, input_size: int, center: bool = False, bk=None):
    """Pad each image to a square and resize it to ``input_size``, as face-api.js does.

    Mirrors ``NetInput.toBatchTensor(inputSize, isCenterInputs)`` in face-api.js
    ``src/dom/NetInput.ts``: ``padToSquare`` (zeros appended at the bottom or right, or
    split around the image when ``center``), then ``tf.image.resizeBilinear`` unless the
    square already has the right size. The backend ``bk`` (default: the active one) does
    the work; see :meth:`faceapi_np.backend.Backend.resize_to_square`.

    Parameters
    ----------
    images : sequence of arrays, each (H, W, 3)
    input_size : int
    center : bool
        The detectors pass False, the landmark and recognition nets True.

    Returns
    -------
    array of the backend, shape (N, input_size, input_size, 3), float32, values 0..255
    """
    from .backend import get_backend

    if isinstance(input_size, bool) or not isinstance(input_size, (int, np.integer)):
        raise InputError(f"input_size must be an integer, got {input_size!r}")
    if input_size < 1:
        raise InputError(f"input_size must be positive, got {input_size}")
    limits.check("max_input_size", int(input_size), "input_size")
    images = list(images)
    if not images:
        raise InputError("no images to run the net on (an empty list)")
    limits.check("max_batch_size", len(images), "batch size")
    bk = bk or get_backend()
    return bk.xp.stack([bk.resize_to_square(img, input_size, center) for img in images])


def reshaped_size(width: int, height: int, input_size: int) -> tuple[int, int]:
    """(width, height) of the image inside the padded square after resizing.

    face-api.js ``computeReshapedDimensions``: scale so the longer side is
    ``input_size``, then round each side. A side that would round to 0 pixels (a strip
    more than ``2 * input_size`` times longer than wide) is kept at 1, where face-api.js
    would divide by zero further on.
    """
    scale = input_size / max(width, height)
    return max(1, js_round(width * scale)), max(1, js_round(height * scale))
