"""FaceProcessor: a dense-block feature extractor and one dense layer on a face crop.

Mirrors face-api.js ``src/faceProcessor/FaceProcessor.ts``, the base of
FaceLandmark68Net, its tiny twin and FaceExpressionNet: the face crop is padded to a
square *centred*, resized to 112x112, and goes through the feature extractor
(``faceapi_np/face_feature_extractor/``) and a fully connected layer. Subclasses say how
many dense blocks, how many convs per block and how many outputs, and what the outputs
mean.
"""

from __future__ import annotations

from .. import layers
from ..backend import Backend, get_backend
from ..face_feature_extractor.const import INPUT_SIZE
from ..face_feature_extractor.extractor import extract_features
from ..image import to_batch
from ..net import NeuralNetwork, planned
from . import params as processor_params


class FaceProcessor(NeuralNetwork):
    """Base of the face-crop classifiers: features, then ``fc``."""

    role = "face"
    default_input_size = INPUT_SIZE
    #: Dense blocks in the feature extractor, and separable convs after each block's first.
    num_blocks = 4
    convs_per_block = 4
    #: Length of the output vector.
    num_outputs = 0

    def extract_params(self, reader):
        """The dense blocks and ``fc`` from the weight map (see ``params.py``)."""
        return processor_params.extract_params(
            reader, self.num_blocks, self.convs_per_block, self.num_outputs
        )

    @planned
    def forward(self, batch, bk: Backend | None = None):
        """Raw outputs (N, num_outputs) for a batch of face crops.

        Parameters
        ----------
        batch : array, shape (N, 112, 112, 3), float32 RGB 0..255
            As made by ``to_batch(crops, 112, center=True)``.
        """
        bk = bk or get_backend()
        x = self._check_batch(batch, bk)
        p = self.params_on(bk)
        features = extract_features(x, p.dense_blocks, bk)  # (N, C)
        return layers.dense(features, p.fc, bk, name="fc")

    def forward_crops(self, crops, bk: Backend):
        """:meth:`forward` on face crops of any size, as one batch (padded centred, resized)."""
        return self.forward(to_batch(crops, INPUT_SIZE, center=True, bk=bk), bk)
