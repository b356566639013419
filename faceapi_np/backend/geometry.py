"""Output sizes and padding of a convolution or pooling window, TF style."""

from __future__ import annotations


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
