"""SSD MobileNetV1 face detector, face-api.js's accurate default (``SsdMobilenetv1.ts``).

Pipeline: pad the image to a square at the bottom/right, resize to 512x512, map pixels
to [-1, 1], run the MobileNetV1 backbone and the SSD heads, decode 5118 anchor boxes,
then keep the best non-overlapping ones. Read top to bottom: :meth:`forward` is the
network, :meth:`locate_faces` the whole detector.
"""

from __future__ import annotations

import numpy as np

from .. import layers
from ..backend import Backend, get_backend
from ..image import reshaped_size, to_batch
from ..net import NeuralNetwork, planned
from ..ops import nms_ssd
from ..results import Box, FaceDetection
from ..tap import record
from . import params as ssd_params
from .const import INPUT_SCALE, INPUT_SIZE, IOU_THRESHOLD
from .mobilenet_v1 import mobilenet_v1
from .options import SsdMobilenetv1Options
from .output_layer import output_layer
from .prediction_layer import prediction_layer


class SsdMobilenetv1(NeuralNetwork):
    """SSD with a MobileNetV1 backbone, trained by face-api.js on WIDER FACE."""

    name = "ssd"
    instance_name = "ssd_mobilenetv1"
    role = "detector"
    model_name = "ssd_mobilenetv1_model"
    default_input_size = INPUT_SIZE

    def extract_params(self, reader):
        """This net's param tree from the weight map (see ``params.py``)."""
        return ssd_params.extract_params(reader)

    @planned
    def forward(self, batch, bk: Backend | None = None):
        """Raw detector output for a batch, before NMS. All of it is the backend's ops,
        so a backend that records forward passes replays it (``net.planned``).

        Parameters
        ----------
        batch : array, shape (N, 512, 512, 3), float32 RGB 0..255
            As made by ``to_batch(images, 512)``.

        Returns
        -------
        boxes : array, shape (N, 5118, 4), relative (y_min, x_min, y_max, x_max)
            Relative to the padded square input.
        scores : array, shape (N, 5118), face probability per anchor
        """
        bk = bk or get_backend()
        x = self._check_batch(batch, bk)
        p = self.params_on(bk)
        # 0..255 -> [-1, 1], applied as the first conv reads the pixels
        out, conv11 = mobilenet_v1(x, p.mobilenetv1, bk, layers.scale_norm(INPUT_SCALE, 1))
        heads = prediction_layer(out, conv11, p.prediction_layer, bk)
        boxes, scores = output_layer(heads, p.output_layer, bk)
        record("output_layer/boxes", "decode boxes", boxes)
        return boxes, record("output_layer/scores", "sigmoid", scores)

    def locate_faces(
        self,
        image,
        options: SsdMobilenetv1Options | None = None,
        bk: Backend | None = None,
    ) -> list[FaceDetection]:
        """Detect faces in one RGB image (H, W, 3); boxes in its pixels, best first.

        Mirrors ``SsdMobilenetv1.locateFaces``: NMS with IoU 0.5, then each box is clipped
        to the padded square, scaled back from it to the image, and made absolute.
        """
        options = options or SsdMobilenetv1Options()
        bk = bk or get_backend()
        height, width = image.shape[:2]
        boxes, scores = self.forward(to_batch([image], INPUT_SIZE, center=False, bk=bk), bk)
        boxes = bk.to_numpy(boxes[0]).astype(np.float64)
        scores = bk.to_numpy(scores[0]).astype(np.float64)
        keep = nms_ssd(boxes, scores, options.max_results, IOU_THRESHOLD, options.min_confidence)
        rw, rh = reshaped_size(width, height, INPUT_SIZE)
        pad_x, pad_y = (
            INPUT_SIZE / rw,
            INPUT_SIZE / rh,
        )  # square -> image, in image units
        faces = []
        for i in keep:
            y_min, x_min, y_max, x_max = boxes[i]
            top, bottom = max(0.0, y_min) * pad_y, min(1.0, y_max) * pad_y
            left, right = max(0.0, x_min) * pad_x, min(1.0, x_max) * pad_x
            rel = Box(left, top, right - left, bottom - top)
            faces.append(
                FaceDetection(float(scores[i]), rel.rescale(width, height), (width, height))
            )
        return faces
