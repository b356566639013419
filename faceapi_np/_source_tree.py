"""Binds the top-level ``kernels/`` folder as ``faceapi_np.kernels`` in a source tree.

Imported once by ``faceapi_np/__init__.py``; it has no public names.
"""


def _bind_source_kernels() -> None:
    """Make ``faceapi_np.kernels`` importable when running from a source tree.

    An installed package carries the top-level ``kernels/`` folder inside itself (setup.py
    maps it there). A plain checkout on ``PYTHONPATH``, or an editable install by a
    setuptools that does not honour ``package_dir``, has ``kernels/`` only beside the
    package; without this the numba backend would not find its kernels.
    """
    import importlib.util
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parent
    source = here.parent / "kernels"
    name = f"{__package__}.kernels"
    if name in sys.modules or (here / "kernels").is_dir():
        return
    if not (source / "__init__.py").is_file():
        return
    spec = importlib.util.spec_from_file_location(
        name, source / "__init__.py", submodule_search_locations=[str(source)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)  # kernels/__init__.py imports nothing heavy
    sys.modules[__package__].kernels = module  # as an import would bind it


_bind_source_kernels()
