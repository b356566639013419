"""Faces in video: a file, a ``(T, H, W, 3)`` array, or any stream of frames.

:func:`detect_video` runs the detector on every ``every``-th frame and yields one
:class:`FrameResult` per processed frame (its index in the source, its time, its
faces), lazily, so a long clip or a camera is never held in memory. Frames from OpenCV
are BGR: pass ``bgr=True``. Video files are decoded by ffmpeg through the optional
``video`` extra (``imageio-ffmpeg``, which ships its own ffmpeg binary), imported only
when a path is given.

face-api.js runs its detector on a ``<video>`` element frame by frame; this is the
same loop, with the frame skipping that its examples do by timer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .errors import ImageError, InputError, OptionsError

#: How to get the ffmpeg reader, in every message that needs it.
VIDEO_EXTRA = "pip install 'faceapi-np[video]' (imageio-ffmpeg)"


@dataclass(frozen=True)
class FrameResult:
    """The faces of one processed video frame.

    Attributes
    ----------
    index : int
        Position of the frame in the source, from 0 (skipped frames count).
    time : float or None
        Seconds from the start, ``index / fps``; None when the frame rate is unknown.
    faces : FaceResults
        As :func:`~faceapi_np.detect_all_faces` returns them; ``faces.image`` is the frame
        (RGB), so the chain goes on: ``frame.faces.with_face_landmarks()``.
    """

    index: int
    time: float | None
    faces: list


def _check_every(every) -> int:
    if isinstance(every, (bool, np.bool_)) or not isinstance(every, (int, np.integer)):
        raise OptionsError(f"every must be a whole number of frames >= 1, got {every!r}")
    if every < 1:
        raise OptionsError(f"every must be >= 1 (1 = every frame), got {every}")
    return int(every)


def _to_rgb(frame, bgr: bool) -> np.ndarray:
    """One frame as an array, channels reordered from BGR(A) when ``bgr``."""
    if not bgr:
        return frame
    arr = np.asarray(frame) if not hasattr(frame, "mode") else None
    if arr is None or arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise InputError(
            "bgr=True needs (H, W, 3) or (H, W, 4) arrays (as OpenCV gives), "
            f"got {getattr(frame, 'shape', type(frame).__name__)}"
        )
    return arr[:, :, 2::-1]  # BGR(A) -> RGB, alpha dropped


def _last_line(exc) -> str:
    """ffmpeg's last line of complaint, which names the problem."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def read_video(path: str | os.PathLike) -> tuple[Iterator[np.ndarray], float | None]:
    """Decode a video file: an iterator of ``(H, W, 3)`` uint8 RGB frames and its fps.

    Needs the ``video`` extra (imageio-ffmpeg). Raises
    :class:`~faceapi_np.errors.ImageError` for a missing or unreadable file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ImageError(f"cannot read video {path}: no such file")
    try:
        import imageio_ffmpeg
    except ImportError:
        raise InputError(
            f"reading video files needs the optional 'video' extra: {VIDEO_EXTRA}"
        ) from None
    reader = imageio_ffmpeg.read_frames(path)
    try:
        meta = next(reader)
    except (OSError, RuntimeError, StopIteration) as exc:
        raise ImageError(f"cannot read video {path}: {_last_line(exc)}") from None
    w, h = meta["size"]
    fps = meta.get("fps") or None

    def frames():
        try:
            for raw in reader:
                yield np.frombuffer(raw, np.uint8).reshape(h, w, 3)
        except (OSError, RuntimeError) as exc:
            raise ImageError(f"cannot read video {path}: {_last_line(exc)}") from None
        finally:
            reader.close()

    return frames(), fps


def _frames(source, bgr: bool):
    """``(frames, fps)`` of a path, a (T, H, W, C) array or any iterable of frames."""
    if isinstance(source, (str, os.PathLike)):
        frames, fps = read_video(source)
        return frames, fps, False  # ffmpeg gives RGB already
    if isinstance(source, np.ndarray):
        if source.ndim != 4 or source.shape[-1] not in (1, 3, 4):
            raise InputError(
                "a video array must have shape (T, H, W, 3) (or 1 or 4 channels), "
                f"got {source.shape}; for a single image use detect_all_faces"
            )
        return iter(source), None, bgr
    if isinstance(source, (bytes, bytearray)) or not hasattr(source, "__iter__"):
        raise InputError(
            "detect_video takes a video file path, a (T, H, W, 3) array or an iterable of "
            f"frames, got {type(source).__name__}"
        )
    return iter(source), None, bgr


def detect_video(
    frames_or_path,
    every: int = 1,
    options=None,
    bgr: bool = False,
    fps: float | None = None,
    backend: str | None = None,
) -> Iterator[FrameResult]:
    """Detect faces in every ``every``-th frame of a video or stream of frames.

    Parameters
    ----------
    frames_or_path : path, ndarray (T, H, W, 3) or iterable of frames
        A video file (needs the ``video`` extra), an array of frames, or any iterable of
        images (arrays, PIL images, ...; e.g. a generator reading a camera).
    every : int
        Process frames 0, every, 2 * every, ...; the others are read and skipped.
    options : SsdMobilenetv1Options | TinyFaceDetectorOptions | MtcnnOptions, optional
        As for :func:`~faceapi_np.detect_all_faces`; for video the Tiny Face Detector
        (``TinyFaceDetectorOptions(input_size=320)``) is the fast choice.
    bgr : bool
        The frames are BGR, as OpenCV's ``VideoCapture.read()`` gives them.
    fps : float, optional
        Frame rate of an array or stream, for :attr:`FrameResult.time`; a file's own
        rate is read from the file.
    backend : str, optional
        Backend name for these calls; default the active backend.

    Yields
    ------
    FrameResult
        ``index``, ``time`` and ``faces`` of each processed frame, in order.

    Examples
    --------
    >>> for frame in detect_video("clip.mp4", every=5):  # doctest: +SKIP
    ...     print(frame.index, frame.time, len(frame.faces))
    """
    # Checked here, at the call, not at the first frame as a generator would
    every = _check_every(every)
    if fps is not None and not (isinstance(fps, (int, float)) and fps > 0):
        raise OptionsError(f"fps must be a positive number, got {fps!r}")
    frames, file_fps, swap = _frames(frames_or_path, bgr)
    rate = file_fps if file_fps is not None else fps
    return _detect_frames(frames, every, options, swap, rate, backend)


def _detect_frames(frames, every, options, swap, rate, backend) -> Iterator[FrameResult]:
    """The loop of :func:`detect_video`."""
    from .api import detect_all_faces

    for index, frame in enumerate(frames):
        if index % every:
            continue
        faces = detect_all_faces(_to_rgb(frame, swap), options, backend)
        yield FrameResult(index, None if rate is None else index / rate, faces)
