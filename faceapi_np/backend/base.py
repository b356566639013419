"""The :class:`Backend` interface every backend implements."""

from __future__ import annotations


class Backend:
    """A compute backend: an array namespace plus the hot kernels.

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

    def conv2d(self, x, w, stride: int, padding):
        """Regular convolution, TF semantics (no bias).

        x (N, H, W, C_in), w (KH, KW, C_in, C_out); ``padding`` is ``"same"``, ``"valid"``
        or an int of zero padding on every side. Returns (N, H', W', C_out).
        """
        raise NotImplementedError

    def depthwise_conv2d(self, x, w, stride: int, padding):
        """Depthwise convolution, TF semantics: x (N, H, W, C), w (KH, KW, C, 1)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<Backend {self.name}>"
