"""MTCNN face detector with 5 landmarks (face-api.js ``src/mtcnn/Mtcnn.ts``).

Three cascaded nets (Zhang et al. 2016): P-Net proposes boxes on an image pyramid, R-Net
refines them on 24x24 patches, O-Net on 48x48 patches gives the final boxes, scores and 5
points (eyes, nose, mouth corners). The image goes in as BGR (face-api.js reverses the
channels), and each stage's boxes are squared and rounded as face-api.js does; see
``stages.py``. face-api.js marks MTCNN deprecated; it is here for completeness and parity.
"""

from __future__ import annotations

import time

import numpy as np

from ..backend import Backend, get_backend
from ..errors import ImageError
from ..net import NeuralNetwork, Summary
from ..results import Box, FaceDetection, FaceResult
from ..tap import Tap, recording
from . import params as mtcnn_params
from .onet import onet
from .options import MtcnnOptions
from .pnet import pnet
from .pyramid import select_scales, size_for_scale
from .rnet import rnet
from .stages import stage1, stage2, stage3

#: MTCNN's faces were their own type before every detector returned FaceDetection;
#: the name is kept for one release.
MtcnnFace = FaceResult

#: Input side of each net for summary() and forward(stage=...).
STAGE_INPUT = {"pnet": 12, "rnet": 24, "onet": 48}


class Mtcnn(NeuralNetwork):
    """MTCNN: P-Net, R-Net and O-Net in one weights file (about 2 MB, float32)."""

    name = "mtcnn"
    instance_name = "mtcnn"
    role = "detector"
    model_name = "mtcnn_model"
    single_pass = False
    default_input_size = 48

    def extract_params(self, reader):
        """This net's param tree from the weight map (see ``params.py``)."""
        return mtcnn_params.extract_params(reader)

    def forward(self, batch, bk: Backend | None = None, stage: str = "onet"):
        """Run one of the three nets on a batch of (transposed, BGR, normalised) inputs.

        ``stage`` is ``"pnet"`` (any size >= 12; returns probabilities (N, w, h) and
        regressions), ``"rnet"`` (24x24) or ``"onet"`` (48x48; also the 10 point
        coordinates). The detector itself is :meth:`locate_faces`.
        """
        bk = bk or get_backend()
        x = self._check_batch(batch, bk)
        p = self.params_on(bk)
        net = {"pnet": (pnet, p.pnet), "rnet": (rnet, p.rnet), "onet": (onet, p.onet)}
        if stage not in net:
            raise ValueError(f"stage must be one of {sorted(net)}, got {stage!r}")
        fn, params = net[stage]
        return fn(x, params, bk)

    def summary(self, input_size=None, batch_size: int = 1) -> Summary:
        """Rows of all three nets, each at its own input size (12, 24, 48)."""
        bk = get_backend("numpy")
        with recording(Tap(rows=True)) as tap:
            for stage, size in STAGE_INPUT.items():
                self.forward(np.zeros((batch_size, size, size, 3), np.float32), bk, stage)
        return Summary("Mtcnn", (batch_size, 48, 48, 3), tap.rows)

    def detect(self, image, options: MtcnnOptions | None = None, bk: Backend | None = None):
        """All faces with their 5 points, and face-api.js-style per-stage statistics.

        Parameters
        ----------
        image : ndarray (H, W, 3), RGB
            Non-uint8 images are rounded to uint8 first, as a canvas would store them.

        Returns
        -------
        faces : list of FaceResult, in O-Net's NMS order
            Each detection carries ``landmarks5``: left eye, right eye, nose, mouth corners.
        stats : dict
            ``scales``, ``pyramid`` ([{height, width}]), ``stage1`` ([{scale, numBoxes}]),
            ``stage2_numInputBoxes``, ``stage3_numInputBoxes``, and times in ms
            (``total_stage1`` ... ``total``), as face-api.js's ``forwardWithStats``.
        """
        options = options or MtcnnOptions()
        bk = bk or get_backend()
        p = self.params_on(bk)
        rgb = (
            image if image.dtype == np.uint8 else np.clip(np.round(image), 0, 255).astype(np.uint8)
        )
        height, width = rgb.shape[:2]
        if min(height, width) < options.min_face_size:
            raise ImageError(
                f"image is {width}x{height}, smaller than MtcnnOptions.min_face_size={options.min_face_size}; "
                "lower min_face_size to look for faces this small"
            )
        t_total = time.perf_counter()
        scales = select_scales(options, height, width)
        stats = {
            "scales": scales,
            "pyramid": [
                dict(zip(("height", "width"), size_for_scale(s, height, width))) for s in scales
            ],
        }
        bgr = rgb[:, :, ::-1].astype(np.float32)
        t = time.perf_counter()
        boxes, scores = stage1(bgr, scales, options.score_thresholds[0], p.pnet, bk, stats)
        stats["total_stage1"] = (time.perf_counter() - t) * 1e3
        faces = []
        if len(boxes):
            t = time.perf_counter()
            boxes, scores = stage2(rgb, boxes, options.score_thresholds[1], p.rnet, bk, stats)
            stats["total_stage2"] = (time.perf_counter() - t) * 1e3
            if len(boxes):
                t = time.perf_counter()
                boxes, scores, points = stage3(
                    rgb, boxes, options.score_thresholds[2], p.onet, bk, stats
                )
                stats["total_stage3"] = (time.perf_counter() - t) * 1e3
                faces = [
                    FaceResult(self._detection(b, s, pts, width, height))
                    for b, s, pts in zip(boxes, scores, points)
                ]
        stats["total"] = (time.perf_counter() - t_total) * 1e3
        return faces, stats

    @staticmethod
    def _detection(box, score, points, width: int, height: int) -> FaceDetection:
        """A face as face-api.js builds it: relative rect, then points relative to the box
        and shifted back by the detection's corner (float64, face-api.js's order)."""
        x, y, w, h = (float(v) for v in box)
        det = FaceDetection(
            float(score),
            Box(x / width, y / height, w / width, h / height).rescale(width, height),
            (width, height),
        )
        rel = (points - np.array([x, y])) / np.array([w, h])
        pts = rel * np.array([w, h]) + np.array([det.box.x, det.box.y])
        return FaceDetection(det.score, det.box, det.image_size, pts)

    def locate_faces(
        self, image, options: MtcnnOptions | None = None, bk: Backend | None = None
    ) -> list[FaceDetection]:
        """The detections of :meth:`detect` (with their 5 points), without the statistics."""
        return [face.detection for face in self.detect(image, options, bk)[0]]
