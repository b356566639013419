"""One shared instance of each network, loaded on first use.

Mirrors face-api.js's ``faceapi.nets``: ``nets.ssd_mobilenetv1``,
``nets.tiny_face_detector``, ``nets.face_landmark_68_net``, ``nets.face_landmark_68_tiny_net``,
``nets.face_recognition_net``, ``nets.face_expression_net``, ``nets.age_gender_net`` and
``nets.mtcnn`` are ready-made instances (the list comes from :mod:`faceapi_np.registry`).
:func:`get_net` loads a net from the weights folder the first time it is needed;
:func:`load_all` loads every net at once (e.g. from another folder or a URL).
"""

from __future__ import annotations

import os

from . import paths
from .errors import InputError, WeightsError
from .registry import NET_CLASSES

#: Every shared instance by its short name (as used by the CLI: ``summary ssd``).
ALL = {cls.name: cls() for cls in NET_CLASSES}
_BY_INSTANCE_NAME = {net.instance_name: net for net in ALL.values()}


def __getattr__(name: str):
    """``nets.ssd_mobilenetv1`` etc.: the shared instances by face-api.js's names."""
    try:
        return _BY_INSTANCE_NAME[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def __dir__():
    return sorted([*globals(), *_BY_INSTANCE_NAME])


def get_net(name: str):
    """The shared instance ``name`` (see :data:`ALL`), loading its weights if needed."""
    if name not in ALL:
        raise InputError(f"unknown net {name!r}; choose one of {list(ALL)}")
    net = ALL[name]
    if not net.is_loaded:
        folder = paths.weights_dir()
        manifest = folder / f"{net.model_name}-weights_manifest.json"
        if not str(folder).startswith(("http://", "https://")) and not manifest.is_file():
            raise WeightsError(
                f"the weights of {type(net).__name__} are not in {folder}; run "
                "'faceapi-np weights fetch' (or set FACEAPI_NP_WEIGHTS to a folder holding "
                "face-api.js's weights)"
            )
        net.load(folder)
    return net


def load_all(source: str | os.PathLike | None = None) -> dict:
    """Load every shared net from ``source`` (folder or URL; default: the weights folder)."""
    source = paths.weights_dir() if source is None else source
    for net in ALL.values():
        net.load(source)
    return ALL
