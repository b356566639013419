"""Tiny Face Detector: face-api.js's small, fast detector (``src/tinyFaceDetector/``).

A Tiny-YOLOv2 (Redmon & Farhadi, *YOLO9000*, 2017) whose convs are depthwise-separable
(``TinyYolov2Base.runMobilenet``). The image is padded to a square at the bottom/right,
resized to ``input_size``, centred on a mean RGB and divided by 256; the net predicts,
for each 32x32-pixel cell and each of 5 anchors, a box and an objectness logit.
"""

from __future__ import annotations

import numpy as np

from .. import layers
from ..backend import Backend, get_backend
from ..image import reshaped_size, to_batch
from ..net import NeuralNetwork, planned
from ..ops import nms, sigmoid
from ..results import Box, FaceDetection
from ..tap import is_recording
from . import params as tiny_params
from .const import (
    BOX_ANCHORS,
    BOX_ENCODING_SIZE,
    INPUT_DIVISOR,
    IOU_THRESHOLD,
    MEAN_RGB,
)
from .options import TinyFaceDetectorOptions


def decode_grid(grid, input_width: int, input_height: int, score_threshold: float):
    """Boxes and scores above the threshold from one image's output grid.

    Mirrors ``TinyYolov2Base.extractBoxes``, in float64 as face-api.js computes it in
    JavaScript: centre ``((col + sigmoid(tx)) / cells, (row + sigmoid(ty)) / cells)``, size
    ``exp(tw) * anchor_w / cells`` (likewise height), each stretched by
    ``max(w, h) / w`` (or ``/ h``) to undo the square padding.

    Parameters
    ----------
    grid : ndarray, shape (cells, cells, 5 * 5)
    input_width, input_height : int
        Size of the image inside the padded square, after resizing.

    Returns
    -------
    boxes : ndarray, shape (K, 4), (x, y, width, height) relative to the image
    scores : ndarray, shape (K,)
        In row, column, anchor order.
    """
    cells = grid.shape[0]
    g = grid.reshape(cells, cells, len(BOX_ANCHORS), BOX_ENCODING_SIZE).astype(np.float64)
    side = max(input_width, input_height)
    corr_x, corr_y = side / input_width, side / input_height
    scores = sigmoid(g[..., 4])
    row, col, anchor = np.nonzero(scores > score_threshold)
    t = g[row, col, anchor]
    anchors = np.asarray(BOX_ANCHORS, dtype=np.float64)[anchor]
    ct_x = ((col + sigmoid(t[:, 0])) / cells) * corr_x
    ct_y = ((row + sigmoid(t[:, 1])) / cells) * corr_y
    w = ((np.exp(t[:, 2]) * anchors[:, 0]) / cells) * corr_x
    h = ((np.exp(t[:, 3]) * anchors[:, 1]) / cells) * corr_y
    x, y = ct_x - w / 2, ct_y - h / 2
    # face-api.js builds BoundingBox(x, y, x + w, y + h); Box then stores right - left.
    return np.stack([x, y, (x + w) - x, (y + h) - y], axis=1), scores[row, col, anchor]


class TinyFaceDetector(NeuralNetwork):
    """Tiny-YOLOv2 face detector with depthwise-separable convs (about 190 kB of weights)."""

    name = "tiny"
    instance_name = "tiny_face_detector"
    role = "detector"
    model_name = "tiny_face_detector_model"
    default_input_size = 416

    def extract_params(self, reader):
        """This net's param tree from the weight map (see ``params.py``)."""
        return tiny_params.extract_params(reader)

    @planned
    def forward(self, batch, bk: Backend | None = None):
        """Raw output grid for a batch.

        Parameters
        ----------
        batch : array, shape (N, S, S, 3), float32 RGB 0..255, S a multiple of 32

        Returns
        -------
        array, shape (N, S/32, S/32, 25): per anchor (tx, ty, tw, th, objectness logit)
        """
        bk = bk or get_backend()
        x = self._check_batch(batch, bk)
        p = self.params_on(bk)
        norm = layers.rgb_norm(MEAN_RGB, INPUT_DIVISOR)  # applied as conv0 reads the pixels
        # the 2x2/2 max pool after a conv is done by the conv as it stores its output, but
        # while a tap records they run as their own layers (each output kept and named);
        # the same values either way
        pool = None if is_recording() else 2
        out = layers.conv(
            x, p.conv0, bk, 1, "valid", act="leaky", input_norm=norm, max_pool=pool, name="conv0"
        )
        last = len(p.separable_convs)
        for i, conv in enumerate(p.separable_convs, start=1):
            if pool is None:
                out = layers.max_pool(out, 2, 2, bk, "same", name=f"conv{i}/max_pool")
            # tinyYolov2/depthwiseSeparableConv.ts: pad 1, separable 3x3 'valid', leaky ReLU
            fused_pool = pool if i < last else None  # the last conv's pool is 2x2/1
            out = layers.separable_conv(
                out, conv, bk, 1, 1, act="leaky", max_pool=fused_pool, name=f"conv{i}"
            )
        out = layers.max_pool(out, 2, 1, bk, "same", name="conv8/max_pool")
        return layers.conv(out, p.conv8, bk, 1, "valid", name="conv8")

    def locate_faces(
        self,
        image,
        options: TinyFaceDetectorOptions | None = None,
        bk: Backend | None = None,
    ) -> list[FaceDetection]:
        """Detect faces in one RGB image (H, W, 3); boxes in its pixels, best first.

        Mirrors ``TinyYolov2Base.detect`` + ``TinyFaceDetector.locateFaces``: decode the
        grid, NMS (IoU 0.4) on boxes scaled to the input size, then absolute boxes.
        """
        options = options or TinyFaceDetectorOptions()
        bk = bk or get_backend()
        height, width = image.shape[:2]
        size = options.input_size
        grid = bk.to_numpy(self.forward(to_batch([image], size, center=False, bk=bk), bk))[0]
        boxes, scores = decode_grid(
            grid, *reshaped_size(width, height, size), options.score_threshold
        )
        keep = nms(boxes * size, scores, IOU_THRESHOLD)
        faces = []
        for i in keep:
            # face-api.js goes relative -> absolute -> relative -> absolute; the float64
            # round trip is reproduced so the last bits agree.
            absolute = Box(*boxes[i]).rescale(width, height)
            rel = absolute.rescale(1.0 / width, 1.0 / height)
            faces.append(
                FaceDetection(float(scores[i]), rel.rescale(width, height), (width, height))
            )
        return faces
