"""Every op of a backend once, on tiny inputs of each argument type the nets pass.

On the numba backend this compiles (or loads from the cache) every kernel signature the
nets use; :mod:`faceapi_np.backend` calls it when the kernels are first compiled on a
machine, and :func:`faceapi_np.warmup` for a warm-up ahead of time.
"""

from __future__ import annotations

import numpy as np

from .base import SeparableConv


def compile_kernels(bk) -> None:
    """Run every op of ``bk`` once on tiny inputs of every argument type the nets pass.

    The ops take C-contiguous float32 activations and weights and plain ints; images come
    as uint8 or float32 arrays, and either may be read-only (a decoded photo is), which
    numba compiles separately. Needs no weights. On the numba backend this compiles (or
    loads from the cache) every kernel signature the nets use.
    """
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 4, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)
    c = np.ones(4, np.float32)
    # conv: im2col (k > 1) and the 1x1 path, every epilogue term, each activation code
    y = bk.conv2d(x, w, 2, "same", bias=c, scale=(c, c), act="relu6")
    bk.conv2d(y, np.ones((1, 1, 4, 4), np.float32), 1, "valid", residual=y, act="leaky")
    for act in (None, "relu"):
        bk.conv2d(x, w, 1, 1, act=act)
    # a 3x3 stride-1 conv with the channels and the tiles for the numba backend's Winograd
    # kernel (numba_tiling.WINOGRAD_MIN_C, WINOGRAD_MIN_TILES)
    x64 = rng.standard_normal((1, 46, 46, 64)).astype(np.float32)
    bk.conv2d(x64, rng.standard_normal((3, 3, 64, 64)).astype(np.float32), 1, "same", act="relu")
    # a stride-1 conv of 32+ channels on a map of 32+ columns that Winograd does not take
    # (a 3x1 filter): the numba backend's product per filter row (ROWS_MIN_WIDTH)
    x32 = rng.standard_normal((1, 2, 32, 32)).astype(np.float32)
    w32 = rng.standard_normal((3, 1, 32, 32)).astype(np.float32)
    c32 = np.ones(32, np.float32)
    bk.conv2d(x32, w32, 1, "same", bias=c32, scale=(c32, c32), residual=x32, act="relu")
    x16 = rng.standard_normal((1, 4, 4, 16)).astype(np.float32)
    # 13-16 output pixels against more filters (two blocks of them at least): the numba
    # backend's turned-around product
    w96 = rng.standard_normal((3, 3, 16, 96)).astype(np.float32)
    bk.conv2d(x16, w96, 1, "same", bias=np.ones(96, np.float32), act="relu")
    # depthwise: with and without batch norm, with the ReLU fused into its reads
    dw = np.ones((3, 3, 3, 1), np.float32)
    bk.depthwise_conv2d(x, dw, 1, "same", bn=(x[0, 0, 0], x[0, 0, 1], x[0, 0, 2]), act="relu6")
    bk.depthwise_conv2d(x, dw, 2, "valid", input_act="relu")
    # separable: a 3x3 depthwise conv fused into the 1x1 conv after it
    pw = np.ones((1, 1, 3, 3), np.float32)
    bn = (x[0, 0, 0], x[0, 0, 1], x[0, 0, 2])
    bk.separable_conv2d(x, dw, pw, 2, "same", depthwise_bn=bn, depthwise_act="relu6", act="relu6")
    bk.separable_conv2d(x, dw, pw, 1, 1, input_act="relu", bias=x[0, 0, 0], residual=x)
    # a chain whose map between its two convs is large enough for the numba backend to
    # run them depth first (numba_tiling.DEPTH_FIRST_MIN_FLOATS: 128 * 128 * 128 floats)
    x128 = rng.standard_normal((1, 128, 128, 16)).astype(np.float32)
    convs = [
        SeparableConv(np.ones((3, 3, c, 1), np.float32), np.ones((1, 1, c, m), np.float32), s)
        for c, m, s in ((16, 128, 1), (128, 16, 2))
    ]
    bk.separable_chain(x128, convs)
    bk.max_pool(x, 3, 2, "same")
    bk.avg_pool(x, 2, 2, "valid")
    # the small ops between the convs: a dense layer, a mean, a pad, an add
    bk.dense(x.reshape(2, -1), rng.standard_normal((60, 4)).astype(np.float32), c)
    padded = bk.pad(x, ((0, 0), (0, 1), (0, 1), (0, 1)))
    bk.add(padded, padded, act="relu")
    bk.spatial_mean(padded)
    # SSD's output layer: six heads of 1-2 anchors a cell (4 encodings, 3 logits each)
    heads = [np.ones((2, a * k), np.float32) for a in (1, 2, 1, 1, 2, 1) for k in (4, 3)]
    bk.ssd_output(heads, np.ones((8, 4), np.float32), 10.0, 5.0)
    # the pad-and-resize of every kind of image the nets are given
    for dtype in (np.uint8, np.float32):
        image = np.full((7, 5, 3), 9, dtype)
        bk.resize_to_square(image, 4, False)
        image.flags.writeable = False
        bk.resize_to_square(image, 4, True)
    getattr(bk, "synchronize", lambda: None)()
