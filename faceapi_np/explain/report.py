"""One report from start to end: check the arguments, open the page, write the parts
common to every net (what it is, how to read the colours), hand over to the net's own
module, and write ``index.html``."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import numpy as np

from ..backend import get_backend
from ..errors import OptionsError
from ..image import load_image
from ..registry import NETS
from .page import Page

#: Where each net's sections are made: short name -> (module, function). Every net of the
#: registry has an entry (checked by the tests).
_MAKERS = {
    "ssd": ("ssd", "explain_ssd"),
    "tiny": ("tiny", "explain_tiny"),
    "mtcnn": ("mtcnn", "explain_mtcnn"),
    "landmarks": ("landmarks", "explain_landmarks"),
    "landmarks_tiny": ("landmarks", "explain_landmarks"),
    "recognition": ("recognition", "explain_recognition"),
    "expression": ("classify", "explain_expression"),
    "age_gender": ("classify", "explain_age_gender"),
}


def _options(net: str, input_size: int | None, max_faces: int):
    """Keyword arguments of the net's maker, checked."""
    if isinstance(max_faces, bool) or not isinstance(max_faces, int) or max_faces < 1:
        raise OptionsError(f"max_faces must be a positive integer, got {max_faces!r}")
    if input_size is not None and net != "tiny":
        raise OptionsError(
            f"input_size applies to the Tiny Face Detector only; {net!r} has a fixed input size"
        )
    if net == "tiny":
        from ..tiny_face_detector import TinyFaceDetectorOptions

        return {"options": TinyFaceDetectorOptions(input_size=input_size or 416)}
    if net in ("landmarks", "landmarks_tiny", "recognition", "expression", "age_gender"):
        kw = {"max_faces": max_faces}
        if net.startswith("landmarks"):
            kw["net_name"] = net
        return kw
    return {}


def make_report(
    image,
    net: str,
    out: str | os.PathLike,
    input_size: int | None = None,
    max_faces: int = 6,
    backend: str | None = None,
) -> Path:
    """What :func:`faceapi_np.explain.explain` does (see there)."""
    if net not in NETS:
        raise OptionsError(f"unknown net {net!r}; choose one of {', '.join(NETS)}")
    kwargs = _options(net, input_size, max_faces)
    name = os.fspath(image) if isinstance(image, (str, os.PathLike)) else "an image array"
    img = load_image(image)
    bk = get_backend(backend)
    page = Page(out, f"Inside {NETS[net].__name__}")
    height, width = img.shape[:2]
    page.para(
        f"The net `{net}` run on {os.path.basename(name)} ({width}x{height} pixels) with the "
        f"{bk.name} backend, step by step: the input as the net receives it, the table of its "
        "layers, what every layer outputs, and how its last output becomes the result."
    )
    page.section(
        "colours",
        "How to read the colours",
        "Pictures that show numbers as colours use one of two colour maps, and each caption "
        "names the map and the range it spans. viridis (dark purple = low, through blue and "
        "green, to yellow = high) is used for values that are never negative: ReLU outputs, "
        "probabilities, distances. blue-white-red (blue = negative, white = 0, red = "
        "positive, symmetric about 0) is used for values of either sign. Values beyond a "
        "range take the colour of its end. Small maps are enlarged with visible square "
        "cells: each square is one value.",
    )
    module = importlib.import_module(f".{_MAKERS[net][0]}", __package__)
    getattr(module, _MAKERS[net][1])(page, _uint8(img), bk, **kwargs)
    return page.write()


def _uint8(img):
    """The image as uint8 (float images are rounded, as a canvas would store them)."""
    return img if img.dtype == np.uint8 else np.clip(np.round(img), 0, 255).astype(np.uint8)
