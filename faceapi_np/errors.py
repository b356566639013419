"""The exceptions faceapi_np raises.

Every error a user can cause (a bad image, a missing weight file, an option out of
range) is a :class:`FaceApiError`, so ``except FaceApiError`` catches all of them and
nothing else. The subclasses say which part of the input was wrong.
"""


class FaceApiError(Exception):
    """Base class of every error faceapi_np raises on purpose."""


class InputError(FaceApiError, ValueError):
    """An array or argument has the wrong type, dtype, shape or value."""


class ImageError(InputError):
    """An image could not be read, or is empty, too large, or of an unusable layout."""


class OptionsError(InputError):
    """A detector or CLI option is out of range (e.g. ``min_confidence`` not in (0, 1))."""


class WeightsError(FaceApiError):
    """A weights manifest or shard is missing, truncated, or belongs to another net."""


class FetchError(FaceApiError):
    """Downloading the weights or sample photos failed or gave files with wrong checksums."""


class OutputError(FaceApiError):
    """A result could not be written: missing folder, read-only place, a folder in the way."""


class BackendError(FaceApiError):
    """An unknown compute backend was asked for, or it cannot run here."""
