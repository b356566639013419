"""The shape of the code: no import cycles, small modules, one registry, kernels findable."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import faceapi_np
from faceapi_np import nets, registry, weights
from faceapi_np.cli import main as cli_main

PACKAGE = Path(faceapi_np.__file__).resolve().parent
ROOT = PACKAGE.parent
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    """Dotted name -> file of every module of the package (kernels/ included)."""
    found = {}
    for base, prefix in ((PACKAGE, "faceapi_np"), (ROOT / "kernels", "faceapi_np.kernels")):
        for path in base.rglob("*.py"):
            parts = path.relative_to(base).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((prefix, *parts))] = path
    return found


def _imports(name: str, path: Path, modules: dict) -> set[str]:
    """The package's modules that ``name`` imports, anywhere in the file (lazy ones too)."""
    is_pkg = path.name == "__init__.py"
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in modules else target)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m in modules and m != name}


def test_no_import_cycles():
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    # a package's __init__ re-exports its children: an edge from a child to its own
    # package is a child importing a sibling through the package, not a cycle of design
    for name in graph:
        graph[name] = {m for m in graph[name] if not name.startswith(m + ".")}
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_results_never_import_the_chain():
    modules = _modules()
    assert "faceapi_np.api" not in _imports(
        "faceapi_np.results", modules["faceapi_np.results"], modules
    )


def test_no_module_is_too_long():
    long = {
        str(p.relative_to(ROOT)): n
        for p in _modules().values()
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_everything_derives_from_the_registry():
    names = registry.net_names()
    assert list(nets.ALL) == names and len(names) == 8
    assert weights.MODEL_NAMES == tuple(c.model_name for c in registry.NET_CLASSES)
    assert registry.net_names("detector") == ["ssd", "tiny", "mtcnn"]
    assert {c.detector for c in registry.OPTIONS_CLASSES} == set(registry.net_names("detector"))
    for cls in registry.NET_CLASSES:  # nets.<face-api.js name> is the shared instance
        assert getattr(nets, cls.instance_name) is nets.ALL[cls.name]


def test_cli_choices_come_from_the_registry(capsys):
    assert cli_main(["summary", "--help"]) == 0
    text = capsys.readouterr().out
    assert all(name in text for name in registry.net_names())
    assert cli_main(["detect", "--help"]) == 0
    assert "{ssd,tiny,mtcnn}" in capsys.readouterr().out


def test_kernels_are_found_from_a_plain_source_tree(tmp_path):
    code = (
        "import faceapi_np, faceapi_np.kernels as k, pathlib, sys;"
        "print(pathlib.Path(k.__file__).resolve().parent)"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()) == (ROOT / "kernels").resolve() or "site-packages" in out.stdout
