"""One shared instance of each network, loaded on first use.

Mirrors face-api.js's ``faceapi.nets``: ``nets.ssd_mobilenetv1``,
``nets.tiny_face_detector``, ``nets.face_landmark_68_net``, ``nets.face_landmark_68_tiny_net``
``nets.face_recognition_net``, ``nets.face_expression_net`` and ``nets.age_gender_net``
are ready-made instances. :func:`get_net` loads a net from the
weights folder the first time it is needed; :func:`load_all` loads every net at once
(e.g. from another folder or a URL).
"""

from __future__ import annotations

import os

from . import paths
from .age_gender_net import AgeGenderNet
from .errors import WeightsError
from .face_expression_net import FaceExpressionNet
from .face_landmark_net import FaceLandmark68Net, FaceLandmark68TinyNet
from .face_recognition_net import FaceRecognitionNet
from .mtcnn import Mtcnn
from .ssd_mobilenetv1 import SsdMobilenetv1
from .tiny_face_detector import TinyFaceDetector

ssd_mobilenetv1 = SsdMobilenetv1()
tiny_face_detector = TinyFaceDetector()
face_landmark_68_net = FaceLandmark68Net()
face_landmark_68_tiny_net = FaceLandmark68TinyNet()
face_recognition_net = FaceRecognitionNet()
face_expression_net = FaceExpressionNet()
age_gender_net = AgeGenderNet()
mtcnn = Mtcnn()

#: Every shared instance by its short name (as used by the CLI: ``summary ssd``).
ALL = {
    "ssd": ssd_mobilenetv1,
    "tiny": tiny_face_detector,
    "landmarks": face_landmark_68_net,
    "landmarks_tiny": face_landmark_68_tiny_net,
    "recognition": face_recognition_net,
    "expression": face_expression_net,
    "age_gender": age_gender_net,
    "mtcnn": mtcnn,
}


def get_net(name: str):
    """The shared instance ``name`` (see :data:`ALL`), loading its weights if needed."""
    if name not in ALL:
        raise KeyError(f"unknown net {name!r}; choose one of {sorted(ALL)}")
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
