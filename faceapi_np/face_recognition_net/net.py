"""FaceRecognitionNet: a 128-number descriptor per face (``src/faceRecognitionNet/``).

dlib's ``dlib_face_recognition_resnet_model_v1`` (a ResNet-34-like net with fewer
filters, trained with a metric loss so that faces of one person lie within 0.6 of each
other) ported by face-api.js. The face crop is padded to a square *centred*, resized to
150x150, centred on a mean RGB and divided by 256.
"""

from __future__ import annotations

import numpy as np

from .. import layers
from ..backend import Backend, get_backend
from ..image import to_batch
from ..net import NeuralNetwork, planned
from . import params as recognition_params
from .const import INPUT_DIVISOR, INPUT_SIZE, MEAN_RGB
from .params import RESIDUAL_BLOCKS
from .residual import conv_layer, residual, residual_down


class FaceRecognitionNet(NeuralNetwork):
    """ResNet face descriptor net (about 6.2 MB of weights, 0.54 GFLOP per face)."""

    name = "recognition"
    instance_name = "face_recognition_net"
    role = "face"
    model_name = "face_recognition_model"
    default_input_size = INPUT_SIZE

    def extract_params(self, reader):
        """This net's param tree from the weight map (see ``params.py``)."""
        return recognition_params.extract_params(reader)

    @planned
    def forward(self, batch, bk: Backend | None = None):
        """Descriptors for a batch of face crops.

        Parameters
        ----------
        batch : array, shape (N, 150, 150, 3), float32 RGB 0..255
            As made by ``to_batch(crops, 150, center=True)``.

        Returns
        -------
        array, shape (N, 128)
        """
        bk = bk or get_backend()
        x = self._check_batch(batch, bk)
        p = self.params_on(bk)
        norm = layers.rgb_norm(MEAN_RGB, INPUT_DIVISOR)  # applied as the first conv reads
        out = conv_layer(
            x, p.conv32_down, bk, stride=2, padding="valid", input_norm=norm, name="conv32_down"
        )
        out = layers.max_pool(out, 3, 2, bk, "valid", name="max_pool")
        for (name, down), block in zip(RESIDUAL_BLOCKS, p.residuals):
            out = (residual_down if down else residual)(out, block, bk, name=name)
        out = layers.global_avg_pool(out, bk, name="global_avg")  # (N, 256)
        return layers.fully_connected(out, p.fc, None, bk, name="fc")  # (N, 128)

    def compute_face_descriptors(self, crops, bk: Backend | None = None) -> np.ndarray:
        """(N, 128) float32 descriptors of face crops, one batch for all.

        face-api.js ``computeFaceDescriptor``: the whole of each crop is the face.
        """
        bk = bk or get_backend()
        out = self.forward(to_batch(crops, INPUT_SIZE, center=True, bk=bk), bk)
        return np.asarray(bk.to_numpy(out), dtype=np.float32)
