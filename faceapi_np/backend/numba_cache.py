"""Where the numba kernels' compiled code is kept, and whether it still has to be compiled.

numba's ``cache=True`` writes beside the source file (``__pycache__``), which fails where
the package folder is read-only (a system site-packages, a container layer) and is lost
with every new virtual environment. faceapi_np keeps its kernels' machine code in a
per-user folder of its own instead, chosen in this order:

1. ``NUMBA_CACHE_DIR``, when the user set it: numba's own rule, left untouched;
2. ``$FACEAPI_NP_CACHE/numba``;
3. ``$XDG_CACHE_HOME/faceapi_np/numba``, by default ``~/.cache/faceapi_np/numba``.

Inside it, one folder per installed copy of the kernels (named as numba names its own:
the source folder's name and a hash of its path), because numba keys its index by source
file. numba already keys each entry by signature, CPU and numba version, and each file
name by Python version, so one folder serves every machine and Python that share it.
numba stamps an entry with its source file's time and size; our kernels inline code from
the other kernel files (the matrix product of ``gemm.py`` and ``block_ir.py`` is in every
conv), so here the stamp is a hash of every kernel file: a change to any of them
recompiles them all. (numba's own folders, with ``NUMBA_CACHE_DIR`` or a cache folder that
cannot be written, keep numba's per-file stamp.)

Only faceapi_np's kernels are redirected (a cache locator that answers for files in the
kernels folder alone), so the user's own numba functions cache where they always did.

A *marker* file beside the compiled code records that every kernel was compiled for every
signature the nets use (:func:`faceapi_np.warmup.compile_kernels`), under a key made of
the numba version, the Python, the CPU (as numba describes it) and a hash of the kernel
sources. :func:`compile_needed` is true when no marker matches: the next numba backend
then says so on stderr and compiles everything once.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from pathlib import Path

#: Shown before the first compile when no earlier compile on this machine says better
#: (and counted by the 'auto' choice): ``faceapi-np warmup`` into an empty cache, every
#: kernel and every net, took 81 s on the 2-core development machine.
COMPILE_ESTIMATE_S = 80
#: Module path of the kernels whose compiled code lives here.
KERNELS_PACKAGE = "faceapi_np.kernels.numba"

_installed = False


def kernels_dir() -> Path:
    """The folder of the numba kernel sources (``kernels/numba`` of the installed package)."""
    import importlib.util

    spec = importlib.util.find_spec(KERNELS_PACKAGE)  # imports faceapi_np.kernels only
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def cache_root() -> Path:
    """The folder holding the compiled kernels of every installed copy (see the module doc)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"])
    if os.environ.get("FACEAPI_NP_CACHE"):
        return Path(os.environ["FACEAPI_NP_CACHE"]) / "numba"
    from ..paths import user_cache_dir

    return user_cache_dir() / "numba"


def cache_dir() -> Path:
    """The folder of this installed copy's compiled kernels (and of its marker)."""
    source = kernels_dir()
    # numba's own naming (``get_suitable_cache_subpath``), so that with NUMBA_CACHE_DIR
    # the marker lands in the very folder numba writes the kernels to
    digest = hashlib.sha1(str(source).encode()).hexdigest()
    return cache_root() / f"{source.name}_{digest}"


def _locator_class():
    """A numba cache locator for faceapi_np's kernel files, None for every other file."""
    from numba.core import caching

    folder = str(kernels_dir())

    class KernelCacheLocator(caching._SourceFileBackedLocatorMixin, caching._CacheLocator):
        """Puts the compiled code of faceapi_np's kernels in :func:`cache_dir`."""

        def __init__(self, py_func, py_file):
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            self._cache_path = str(cache_dir())

        def get_cache_path(self):
            return self._cache_path

        def get_source_stamp(self):
            # numba's stamp is this one file's time and size; a kernel also inlines code
            # of the other kernel files (gemm.py, block_ir.py, epilogue.py ...), so a
            # change to any of them must recompile it: stamp every file's content
            return _sources_digest()

        @classmethod
        def from_function(cls, py_func, py_file):
            if os.path.dirname(os.path.abspath(py_file)) != folder:
                return None  # not one of ours: numba's usual locators decide
            return super().from_function(py_func, py_file)  # None if it cannot be written

    return KernelCacheLocator


def install() -> None:
    """Send the kernels' compiled code to :func:`cache_dir`; call before they are imported.

    Does nothing when the user set ``NUMBA_CACHE_DIR`` or ``NUMBA_CACHE_LOCATOR_CLASSES``
    (numba's own settings win), or when this numba lacks the locator hooks (numba's
    defaults then apply: ``__pycache__``, or its user-wide folder when that is read-only).
    A folder that cannot be written falls back the same way.
    """
    global _installed
    if _installed or os.environ.get("NUMBA_CACHE_DIR"):
        return
    if os.environ.get("NUMBA_CACHE_LOCATOR_CLASSES"):
        return
    from numba.core import caching

    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
    if impl is None or not hasattr(caching, "_SourceFileBackedLocatorMixin"):
        return
    impl._locator_classes = [_locator_class(), *impl._locator_classes]
    _installed = True


def _cpu() -> list:
    """The CPU as numba's cache index describes it: target triple, CPU name, features."""
    try:
        import llvmlite.binding as ll
        from numba.core import config
        from numba.core.codegen import get_host_cpu_features

        # numba's own rule: NUMBA_CPU_NAME=generic implies no features (a portable cache)
        name = config.CPU_NAME or ll.get_host_cpu_name()
        features = config.CPU_FEATURES
        if features is None:
            features = get_host_cpu_features()
        return [ll.get_process_triple(), name, features]
    except Exception:  # numba's internals moved: a coarser key still separates machines
        import platform

        return [platform.machine(), platform.processor()]


@functools.lru_cache(maxsize=1)
def _sources_digest() -> str:
    """A hash of every kernel source file (names and contents), made once per process."""
    sources = hashlib.sha256()
    for path in sorted(kernels_dir().glob("*.py")):
        sources.update(path.name.encode() + b"\0" + path.read_bytes())
    return sources.hexdigest()


def _base_key() -> dict:
    """The part of the key known without importing numba: numba, Python, kernel sources."""
    from importlib.metadata import version

    return {
        "numba": version("numba"),
        "python": f"{sys.implementation.cache_tag}{getattr(sys, 'abiflags', '')}",
        "kernels": _sources_digest(),
    }


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:12]


def compile_key() -> dict:
    """What the compiled kernels depend on: numba, Python, the kernel sources and the CPU."""
    return _base_key() | {"cpu": _cpu()}


def compiled_dir() -> Path:
    """The folder numba really writes the kernels to: :func:`cache_dir`, unless that could
    not be written and numba fell back to its own (``__pycache__`` or its user folder)."""
    module = sys.modules.get(f"{KERNELS_PACKAGE}.conv2d")
    cache = getattr(getattr(module, "conv2d", None), "_cache", None)  # any cached kernel
    path = getattr(cache, "cache_path", None)
    return Path(path) if path else cache_dir()


def marker_path(key: dict | None = None) -> Path:
    """The marker file of ``key`` (default: this process's :func:`compile_key`)."""
    key = compile_key() if key is None else key
    base = {k: v for k, v in key.items() if k != "cpu"}
    return compiled_dir() / f"faceapi_np-compiled-{_digest(base)}-{_digest(key['cpu'])}.json"


def compile_maybe_needed() -> bool:
    """A quick :func:`compile_needed` that imports nothing: false when a marker for this
    numba, Python and kernel source exists (for some CPU, which it does not check)."""
    try:
        pattern = f"faceapi_np-compiled-{_digest(_base_key())}-*.json"
        return not any(compiled_dir().glob(pattern))
    except Exception:  # no numba installed, no kernels folder
        return True


def compile_needed() -> bool:
    """True unless every kernel was compiled here for this numba, Python, CPU and source.

    The marker must exist and every index file it lists must still be there (a cache
    folder emptied by hand means compiling again).
    """
    try:
        marker = json.loads(marker_path().read_text())
    except (OSError, ValueError):
        return True
    folder = compiled_dir()
    return not all((folder / name).is_file() for name in marker.get("index_files", []))


def mark_compiled(seconds: float) -> Path | None:
    """Write the marker after a full compile; None when the folder cannot be written."""
    from ..errors import OutputError
    from ..fileio import write_text

    key = compile_key()
    folder = compiled_dir()
    record = key | {
        "compile_seconds": round(seconds, 1),
        "index_files": sorted(p.name for p in folder.glob("*.nbi")),
    }
    path = marker_path(key)
    try:
        write_text(path, json.dumps(record, indent=1) + "\n")
    except (OSError, OutputError):
        return None
    return path


#: A recorded "compile" shorter than this loaded the kernels from numba's cache rather
#: than compiling them, and says nothing of how long a compile takes.
_LOADED_ONLY_S = 5.0


def compile_estimate() -> float:
    """Seconds a full compile is expected to take: the last one recorded here, if any.

    The folder keeps a marker for every version of the kernels compiled in it; the
    newest one that compiled is the best guess for the next (the longest, taken before,
    was that of the slowest version ever compiled here)."""
    newest = None
    for path in compiled_dir().glob("faceapi_np-compiled-*.json"):
        try:
            seconds = float(json.loads(path.read_text())["compile_seconds"])
            when = path.stat().st_mtime
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if seconds >= _LOADED_ONLY_S and (newest is None or when > newest[0]):
            newest = (when, seconds)
    return COMPILE_ESTIMATE_S if newest is None else newest[1]


def kernels() -> list:
    """The cached numba kernels (dispatchers) of the kernel modules imported so far."""
    from numba.core.caching import NullCache

    found = {}
    for name, module in list(sys.modules.items()):
        if not name.startswith(KERNELS_PACKAGE + ".") or module is None:
            continue
        for obj in vars(module).values():
            cache = getattr(obj, "_cache", None)
            if hasattr(obj, "_cache_misses") and cache is not None:
                if not isinstance(cache, NullCache):
                    found[id(obj)] = obj
    return list(found.values())


def announce() -> None:
    """The one line said on stderr before kernels are compiled for the first time (not
    with ``FACEAPI_NP_QUIET=1``, which ``faceapi-np --quiet`` sets)."""
    from ..notice import say

    say(f"compiling numba kernels (first run only, ~{compile_estimate():.0f} s)...")
