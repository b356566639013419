"""The activation functions, once, for the layers and for every backend's epilogues.

Functions take the array namespace ``xp`` (numpy or cupy) rather than a backend, so the
backends can apply them without importing the layer library that calls the backends.
"""

from __future__ import annotations

#: The activations a fused epilogue applies, with the integer code kernels switch on.
ACT_CODES = {None: 0, "relu": 1, "relu6": 2, "leaky": 3}
#: face-api.js's leaky-ReLU slope, float32(0.1) as written out in ``tinyYolov2/leaky.ts``.
LEAKY_ALPHA = 0.10000000149011612


def relu(x, xp):
    """``max(x, 0)`` (TF ``tf.relu``)."""
    return xp.maximum(x, 0)


def relu6(x, xp):
    """``min(max(x, 0), 6)`` (TF ``tf.clipByValue(x, 0, 6)``)."""
    return xp.clip(x, 0, 6)


def leaky_relu(x, xp, alpha: float = LEAKY_ALPHA):
    """Leaky ReLU written as face-api.js writes it: ``relu(x - a*x) + a*x``.

    Equal to ``max(x, a*x)`` up to float32 rounding; we keep face-api.js's form
    (``src/tinyYolov2/leaky.ts``) so outputs match it bit for bit where possible.
    """
    ax = x * xp.float32(alpha)
    return xp.maximum(x - ax, 0) + ax


def activate(x, act, xp):
    """Apply the named activation: None, ``"relu"``, ``"relu6"`` or ``"leaky"``."""
    if act is None:
        return x
    if act == "relu":
        return relu(x, xp)
    if act == "relu6":
        return relu6(x, xp)
    if act == "leaky":
        return leaky_relu(x, xp)
    raise ValueError(f"unknown activation {act!r}")
