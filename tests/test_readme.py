"""The README's Python examples run as written (on the sample photos)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code, weights_dir, samples_dir, tmp_path, monkeypatch, capsys):
    for module in re.findall(r"^import (\w+) as \w+  # pip install", code, re.M):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"the example needs {module}, which faceapi_np does not depend on")
    monkeypatch.chdir(tmp_path)  # files the example writes land here
    exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})
    assert capsys.readouterr().out.strip()  # every example prints something
