"""Whole-or-nothing writes (faceapi_np/fileio.py)."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
from PIL import Image

from faceapi_np.errors import OutputError
from faceapi_np.fileio import atomic_write, save_image, write_text


def test_write_replaces_the_file_whole(tmp_path):
    path = tmp_path / "out.json"
    write_text(path, "old")
    write_text(path, "new")
    assert path.read_text() == "new"
    assert os.listdir(tmp_path) == ["out.json"]  # no temporary file left behind


def test_an_error_in_the_block_leaves_the_old_file(tmp_path):
    path = tmp_path / "out.json"
    write_text(path, "old")
    with pytest.raises(RuntimeError), atomic_write(path, "w") as f:
        f.write("half of the new")
        raise RuntimeError("killed")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.json"]


def test_permissions_follow_the_umask_like_open(tmp_path):
    old = os.umask(0o022)
    try:
        write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644


@pytest.mark.parametrize("make", ["missing folder", "folder in the way"])
def test_unwritable_targets_are_output_errors(tmp_path, make):
    path = tmp_path / "nope" / "out.json" if make == "missing folder" else tmp_path
    with pytest.raises(OutputError, match="cannot write"):
        write_text(path, "x")


def test_save_image_by_suffix(tmp_path):
    picture = Image.fromarray(np.full((4, 5, 3), 200, np.uint8))
    save_image(picture, tmp_path / "a.png")
    assert Image.open(tmp_path / "a.png").format == "PNG"
    with pytest.raises(OutputError, match="unknown image type"):
        save_image(picture, tmp_path / "a.xyz")
