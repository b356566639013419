"""The :class:`Backend` interface every backend implements.

A backend provides the array namespace ``xp`` and the hot layer ops, each with a fused
epilogue so that a fast backend reads and writes an activation once:

* ``conv2d``: convolution, then ``+ bias``, ``* scale_w + scale_b``, ``+ residual``, activation;
* ``depthwise_conv2d``: depthwise convolution, then batch norm ``(y - mean) * inv + offset``, activation;
* ``max_pool``, ``avg_pool``;
* ``resize_to_square``: face-api.js's pad-to-square and bilinear resize of one image.

Activations are named: ``None``, ``"relu"``, ``"relu6"``, ``"leaky"`` (face-api.js's
``relu(x - 0.1x) + 0.1x``). The NumPy backend (``numpy_backend.py``) is the reference
every other backend is tested against.
"""

from __future__ import annotations

ACTIVATIONS = (None, "relu", "relu6", "leaky")


class Backend:
    """A compute backend: an array namespace plus the hot ops.

    Attributes
    ----------
    name : str
        Registry name (``"numpy"``, ``"numba"``, ``"cupy"``).
    xp : module
        Array namespace used by the layers (``numpy`` or ``cupy``).
    """

    name: str = "base"

    def __init__(self, xp):
        self.xp = xp

    def asarray(self, a):
        """Move a host array onto this backend (no copy when already there)."""
        return self.xp.asarray(a)

    def to_numpy(self, a):
        """Bring an array back to the host as a NumPy array."""
        return self.xp.asnumpy(a) if hasattr(self.xp, "asnumpy") else a

    def conv2d(self, x, w, stride: int = 1, padding="same", bias=None, scale=None, residual=None, act=None):
        """Convolution with a fused epilogue, TF semantics.

        ``y = act((conv(x, w) + bias) * scale[0] + scale[1] + residual)``, each term optional.

        Parameters
        ----------
        x : array (N, H, W, C_in)
        w : array (KH, KW, C_in, C_out)
        stride : int
        padding : ``"same"``, ``"valid"`` or an int of zero padding on every side
        bias : array (C_out,) or None
        scale : (weights, biases) pair of (C_out,) arrays or None
        residual : array (N, H', W', C_out) or None
        act : None | "relu" | "relu6" | "leaky"

        Returns
        -------
        array (N, H', W', C_out)
        """
        raise NotImplementedError

    def depthwise_conv2d(self, x, w, stride: int = 1, padding="same", bn=None, act=None):
        """Depthwise convolution (channel multiplier 1) with a fused epilogue.

        ``y = act((dwconv(x, w) - mean) * inv + offset)`` when ``bn = (mean, inv, offset)``.
        x (N, H, W, C), w (KH, KW, C, 1); returns (N, H', W', C).
        """
        raise NotImplementedError

    def max_pool(self, x, k: int, stride: int, padding="same"):
        """``k x k`` max pooling; padded cells never win (TF ``maxPool``)."""
        raise NotImplementedError

    def avg_pool(self, x, k: int, stride: int, padding="valid"):
        """``k x k`` average pooling; with 'same', padded cells are not counted (TF ``avgPool``)."""
        raise NotImplementedError

    def resize_to_square(self, image, size: int, center: bool = False):
        """One image (H, W, 3) padded to a square and resized to (size, size, 3), float32.

        face-api.js ``padToSquare`` then tfjs 1.7 ``resizeBilinear``; see
        :func:`faceapi_np.ops.pad_to_square` and :func:`faceapi_np.ops.resize_bilinear`.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<Backend {self.name}>"
