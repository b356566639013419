"""detect_video: arrays, streams, BGR frames and (with the video extra) files."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from PIL import Image

import faceapi_np as fa
from faceapi_np.errors import ImageError, InputError, OptionsError

TINY = fa.TinyFaceDetectorOptions(input_size=320)


@pytest.fixture(scope="module")
def frames(weights_dir, samples_dir) -> np.ndarray:
    """A (7, 240, 320, 3) clip: sample1 at 320 px wide, panned a few pixels per frame."""
    photo = Image.open(samples_dir / "sample1.jpg").convert("RGB")
    photo = np.asarray(photo.resize((336, round(photo.height * 336 / photo.width))))
    h = min(240, photo.shape[0]) // 2 * 2
    return np.stack([photo[:h, 2 * t : 2 * t + 320] for t in range(7)])


def _boxes(faces):
    return [(f.box.x, f.box.y, f.box.width, f.box.height, f.score) for f in faces]


def test_every_nth_frame_of_an_array_with_index_and_time(frames):
    got = list(fa.detect_video(frames, every=3, options=TINY, fps=25))
    assert [(r.index, r.time) for r in got] == [(0, 0.0), (3, 0.12), (6, 0.24)]
    for r in got:
        assert _boxes(r.faces) == _boxes(fa.detect_all_faces(frames[r.index], TINY))
        assert len(r.faces) >= 1
        assert r.faces.image.shape == frames[r.index].shape  # the chain can go on
    assert got[0].faces.with_face_landmarks()[0].landmarks is not None


def test_streams_and_bgr_frames_give_the_same_faces(frames):
    want = [_boxes(r.faces) for r in fa.detect_video(frames, every=2, options=TINY)]
    stream = (f for f in frames)  # a generator, as a camera loop gives
    assert [_boxes(r.faces) for r in fa.detect_video(stream, every=2, options=TINY)] == want
    bgr = [np.ascontiguousarray(f[:, :, ::-1]) for f in frames]  # OpenCV's channel order
    got = list(fa.detect_video(bgr, every=2, options=TINY, bgr=True))
    assert [_boxes(r.faces) for r in got] == want
    assert [r.time for r in got] == [None] * 4  # no fps given
    wrong = [_boxes(r.faces) for r in fa.detect_video(bgr[:1], options=TINY)]
    assert wrong != want[:1]  # unswapped BGR is a different picture


def test_bad_arguments_are_refused_at_the_call(frames):
    with pytest.raises(OptionsError, match="every"):
        fa.detect_video(frames, every=0)
    with pytest.raises(OptionsError, match="every"):
        fa.detect_video(frames, every=2.5)
    with pytest.raises(OptionsError, match="fps"):
        fa.detect_video(frames, fps=-1)
    with pytest.raises(InputError, match=r"\(T, H, W, 3\)"):
        fa.detect_video(frames[0])  # one image, not a video
    with pytest.raises(InputError, match="iterable of frames"):
        fa.detect_video(42)
    with pytest.raises(ImageError, match="no such file"):
        fa.detect_video("missing-clip.mp4")
    with pytest.raises(InputError, match="bgr=True"):
        next(fa.detect_video([Image.new("RGB", (8, 8))], bgr=True))


def test_a_file_needs_the_video_extra(tmp_path, monkeypatch):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\0" * 64)
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # as if not installed
    with pytest.raises(InputError, match=r"faceapi-np\[video\]"):
        fa.detect_video(clip)


def write_clip(path, frames, fps: float) -> None:
    """Write frames as an H.264 MP4 with imageio-ffmpeg (the test skips without it)."""
    ffmpeg = pytest.importorskip(
        "imageio_ffmpeg", reason="video files need the video extra (pip install -e '.[video]')"
    )
    h, w = frames.shape[1:3]
    writer = ffmpeg.write_frames(str(path), (w, h), fps=fps, macro_block_size=1, quality=9)
    writer.send(None)  # start ffmpeg
    for f in frames:
        writer.send(np.ascontiguousarray(f).tobytes())
    writer.close()


def test_every_fifth_frame_of_a_video_file(frames, tmp_path):
    clip = tmp_path / "clip.mp4"
    many = np.concatenate([frames, frames[::-1]])  # 14 frames, 10 per second
    write_clip(clip, many, fps=10)
    from faceapi_np.video import read_video

    decoded, fps = read_video(clip)
    decoded = list(decoded)
    assert fps == 10 and len(decoded) == 14 and decoded[0].shape == frames[0].shape
    # lossy, but the same picture: mean error of a few grey levels
    assert np.abs(decoded[3].astype(int) - many[3]).mean() < 6
    got = list(fa.detect_video(clip, every=5, options=TINY))
    assert [(r.index, r.time) for r in got] == [(0, 0.0), (5, 0.5), (10, 1.0)]
    for r in got:
        assert _boxes(r.faces) == _boxes(fa.detect_all_faces(decoded[r.index], TINY))
        # and the best face is where it is in the uncompressed frame, to a pixel or two
        best = fa.detect_all_faces(many[r.index], TINY)[:1]
        assert np.allclose(_boxes(r.faces)[0][:4], _boxes(best)[0][:4], atol=3)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(ImageError, match="cannot read video"):
        fa.detect_video(bad)
