"""The one list of networks: every other list of nets is derived from it.

Mirrors face-api.js ``src/globalApi/nets.ts``. Each net class declares, as class
attributes, its short ``name`` (CLI, ``nets.get_net``, ``bench``), its ``instance_name``
in :mod:`faceapi_np.nets`, its ``role`` (``"detector"``: an image in, face boxes out;
``"face"``: face crops in), its ``model_name`` (the weights manifest's stem) and its
``default_input_size``. Each detector's Options class names its net in ``detector``.

Adding a net is adding its folder and one line to :data:`NET_CLASSES` (see
``docs/architecture.md``, "Adding a net").
"""

from __future__ import annotations

from .age_gender_net import AgeGenderNet
from .errors import OptionsError
from .face_expression_net import FaceExpressionNet
from .face_landmark_net import FaceLandmark68Net, FaceLandmark68TinyNet
from .face_recognition_net import FaceRecognitionNet
from .mtcnn import Mtcnn, MtcnnOptions
from .ssd_mobilenetv1 import SsdMobilenetv1, SsdMobilenetv1Options
from .tiny_face_detector import TinyFaceDetector, TinyFaceDetectorOptions

#: Every network, detectors first, the default detector first of all.
NET_CLASSES = (
    SsdMobilenetv1,
    TinyFaceDetector,
    Mtcnn,
    FaceLandmark68Net,
    FaceLandmark68TinyNet,
    FaceRecognitionNet,
    FaceExpressionNet,
    AgeGenderNet,
)

#: The Options class of each detector, the default first.
OPTIONS_CLASSES = (SsdMobilenetv1Options, TinyFaceDetectorOptions, MtcnnOptions)

#: Short name -> net class, in :data:`NET_CLASSES` order.
NETS = {cls.name: cls for cls in NET_CLASSES}


def net_names(role: str | None = None) -> list[str]:
    """Short names of the nets, all of them or those of one ``role``."""
    return [cls.name for cls in NET_CLASSES if role is None or cls.role == role]


def model_names() -> list[str]:
    """The manifest stems of every net (``<stem>-weights_manifest.json``)."""
    return [cls.model_name for cls in NET_CLASSES]


def options_class(detector: str):
    """The Options class of the detector called ``detector``."""
    for cls in OPTIONS_CLASSES:
        if cls.detector == detector:
            return cls
    raise OptionsError(f"unknown detector {detector!r}; choose one of {net_names('detector')}")


def detector_of(options) -> str:
    """Short name of the detector an Options object selects."""
    if isinstance(options, OPTIONS_CLASSES):
        return options.detector
    *first, last = [cls.__name__ for cls in OPTIONS_CLASSES]
    raise OptionsError(f"expected {', '.join(first)} or {last}, got {type(options).__name__}")


# Every detector has Options, and every Options class a detector: checked at import, so a
# registry that disagrees with itself fails at once rather than at the first CLI call.
assert sorted(c.detector for c in OPTIONS_CLASSES) == sorted(net_names("detector"))
