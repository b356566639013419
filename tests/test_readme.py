"""The README's examples run as written (on the sample photos): every Python block, and
every command line that names a sample photo."""

from __future__ import annotations

import importlib.util
import io
import re
import shlex
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, re.S)
COMMANDS = [
    line.split("  #")[0].strip()
    for block in re.findall(r"```sh\n(.*?)```", TEXT, re.S)
    for line in block.splitlines()
    if "tests/data/samples" in line
]


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code, weights_dir, samples_dir, tmp_path, monkeypatch, capsys):
    for module in re.findall(r"^import (\w+) as \w+  # pip install", code, re.M):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"the example needs {module}, which faceapi_np does not depend on")
    monkeypatch.chdir(tmp_path)  # files the example writes land here
    exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})
    assert capsys.readouterr().out.strip()  # every example prints something


@pytest.mark.parametrize("line", COMMANDS)
def test_readme_command_runs(line, weights_dir, samples_dir, tmp_path, monkeypatch, capsys):
    """``faceapi-np ...`` lines, run from a folder whose tests/data/samples is the photos';
    ``ls ... |`` feeds standard input and ``> FILE`` takes standard output."""
    from faceapi_np.cli import main

    (tmp_path / "tests" / "data").mkdir(parents=True)
    (tmp_path / "tests" / "data" / "samples").symlink_to(samples_dir)
    monkeypatch.chdir(tmp_path)
    if " | " in line:
        listing, line = line.split(" | ")
        files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.glob(listing.split()[1]))
        assert files
        monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(files) + "\n"))
    words = shlex.split(line)
    target = None
    if ">" in words:
        words, target = words[: words.index(">")], words[words.index(">") + 1]
    assert words[0] == "faceapi-np"
    assert main(words[1:]) == 0
    out = capsys.readouterr().out
    assert out.strip()
    if target:
        assert len(out.splitlines()) == len(list(samples_dir.glob("*.jpg")))  # one per photo
