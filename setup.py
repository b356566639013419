"""Build script: packages, the ``kernels/`` folder as ``faceapi_np.kernels``, and the
weight checksum list copied from ``weights/SHA256SUMS`` into the installed package."""

import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildPyWithChecksums(build_py):
    """Also install ``weights/SHA256SUMS`` as ``faceapi_np/data/weights.sha256``.

    The list is committed once, in ``weights/``; an installed (non-editable) package
    has no ``weights/`` folder beside it, so it carries this copy.
    """

    def run(self):
        super().run()
        target = Path(self.build_lib) / "faceapi_np" / "data" / "weights.sha256"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "weights" / "SHA256SUMS", target)


setup(
    # faceapi_np and its subpackages, plus kernels/ installed as faceapi_np.kernels
    packages=find_packages(include=["faceapi_np", "faceapi_np.*"])
    + ["faceapi_np.kernels"]
    + [f"faceapi_np.kernels.{p}" for p in find_packages("kernels")],
    package_dir={"faceapi_np.kernels": "kernels"},
    cmdclass={"build_py": BuildPyWithChecksums},
)
