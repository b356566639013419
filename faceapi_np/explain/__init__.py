"""See inside the nets: a self-contained HTML page that walks through one net, in pictures.

``explain(image, net="ssd", out="report/")`` runs one net on one image and writes
``report/index.html`` with its PNGs beside it: the input as the net sees it, the layer
table of ``summary()``, a picture of every layer's output, and what the net does with
its output (anchors, score maps and NMS for the detectors; points, descriptors or
probabilities for the face nets). The page is plain HTML and CSS, links only to files
in its own folder and needs no network and no JavaScript.

Modules: :mod:`.pictures` (Pillow drawings with stated colour scales), :mod:`.page`
(the HTML writer), :mod:`.walk` (input, layer table, per-layer pictures), and one module
per kind of net (:mod:`.ssd`, :mod:`.tiny`, :mod:`.mtcnn`, :mod:`.landmarks`,
:mod:`.recognition`, :mod:`.classify`). Pillow is imported only when a report is made.
"""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

from ..registry import NETS as _REGISTRY

#: The nets a report can explain: every net of the registry, by its short name.
NETS = tuple(_REGISTRY)


def explain(
    image,
    net: str = "ssd",
    out: str | os.PathLike = "report",
    *,
    input_size: int | None = None,
    max_faces: int = 6,
    backend: str | None = None,
) -> Path:
    """Write a report of ``net`` running on ``image`` into the folder ``out``.

    Parameters
    ----------
    image : path, bytes, PIL.Image or ndarray
        Anything :func:`~faceapi_np.image.load_image` accepts.
    net : str
        A short name of :mod:`faceapi_np.registry` (:data:`NETS`): ``ssd``, ``tiny``,
        ``mtcnn``, ``landmarks``, ``landmarks_tiny``, ``recognition``, ``expression``,
        ``age_gender``.
    out : path
        Folder for ``index.html`` and its PNGs; created if missing. Files of an earlier
        report of the same name are replaced.
    input_size : int, optional
        The Tiny Face Detector's input size (a multiple of 32; default 416).
    max_faces : int
        The face nets explain at most this many faces (the best-scoring, found by SSD).
    backend : str, optional
        Backend name; default the active backend.

    Returns
    -------
    Path of ``index.html``.

    Raises
    ------
    OptionsError
        Unknown ``net``, or an ``input_size`` the net does not take.
    ImageError, WeightsError, OutputError
        The image cannot be read, the weights are missing, the folder cannot be written.
    """
    from .report import make_report

    return make_report(image, net, out, input_size=input_size, max_faces=max_faces, backend=backend)


__all__ = ["NETS", "explain"]


class _CallableModule(types.ModuleType):
    """This package, callable as :func:`explain`.

    ``faceapi_np.explain(image, ...)`` then works while ``faceapi_np.explain`` stays the
    package, so ``import faceapi_np.explain.pictures`` keeps working too (a function of
    the same name bound in ``faceapi_np`` would hide the package from such imports).
    """

    def __call__(self, *args, **kwargs) -> Path:
        return explain(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
