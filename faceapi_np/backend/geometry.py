"""Output sizes and padding of a convolution or pooling window, TF style."""

from __future__ import annotations

from ..errors import InputError


def check_filter(x_shape, w_shape, op: str = "conv2d") -> None:
    """An :class:`~faceapi_np.errors.InputError` unless filter ``w_shape`` (KH, KW, C_in,
    ...) reads the channels of an (N, H, W, C_in) input ``x_shape``."""
    if len(x_shape) != 4 or len(w_shape) != 4 or w_shape[2] != x_shape[3]:
        raise InputError(
            f"{op}: a filter of shape {tuple(w_shape)} does not fit an input of shape "
            f"{tuple(x_shape)} (expected (N, H, W, C) and (KH, KW, C, ...) with the same C)"
        )


def same_pads(size: int, k: int, stride: int) -> tuple[int, int]:
    """TF 'SAME' padding (before, after) along one axis.

    The output has ``ceil(size / stride)`` positions; the padding needed is split with the
    odd pixel *after*, which makes stride-2 convs on even inputs asymmetric.
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


def window_pads(h: int, w: int, kh: int, kw: int, stride: int, padding):
    """((top, bottom), (left, right)) for ``padding`` = 'same', 'valid' or an int."""
    if padding == "same":
        return same_pads(h, kh, stride), same_pads(w, kw, stride)
    if padding == "valid":
        return (0, 0), (0, 0)
    p = int(padding)
    return (p, p), (p, p)


def output_size(size: int, k: int, stride: int, before: int, after: int) -> int:
    """Number of window positions along one axis after padding."""
    return (size + before + after - k) // stride + 1


def conv_geometry(
    h: int, w: int, kh: int, kw: int, stride: int, padding
) -> tuple[int, int, int, int]:
    """(pad_top, pad_left, out_height, out_width) of a conv or pooling window over (h, w)."""
    (t, b), (l, r) = window_pads(h, w, kh, kw, stride, padding)
    return t, l, output_size(h, kh, stride, t, b), output_size(w, kw, stride, l, r)


def live_taps(size: int, k: int, stride: int, before: int, out: int) -> tuple[int, int]:
    """``(first, end)``: the filter taps along one axis that read the input for some output.

    Taps outside it fall in the padding for every one of the ``out`` positions (a 3x3
    'same' filter over a 1-pixel map uses only its middle tap), so they only add zeros.
    """
    first = max(0, before - (out - 1) * stride)
    end = min(k, size + before)
    return first, max(first, end)


def square_placement(h: int, w: int, center: bool) -> tuple[int, int, int]:
    """(side, off_y, off_x): where face-api.js's ``padToSquare`` puts an h x w image.

    The square's side is ``max(h, w)``; the shorter dimension gets ``diff`` zeros after it,
    or, when ``center``, ``round(diff / 2)`` after (JavaScript rounds halves up) and the
    rest before.
    """
    side = max(h, w)
    diff = side - min(h, w)
    before = diff - (diff + 1) // 2 if center else 0
    return (side, before, 0) if w > h else (side, 0, before)
