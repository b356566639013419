"""FaceExpressionNet: probabilities of 7 expressions for a face crop.

Mirrors face-api.js ``src/faceExpressionNet/FaceExpressionNet.ts``: the same feature
extractor as FaceLandmark68Net (4 dense blocks of 4 convs on a 112x112 crop, centred
padding, mean RGB, / 255) with its own weights, a dense layer to 7 logits, and a softmax.
"""

from __future__ import annotations

import numpy as np

from .. import layers
from ..backend import Backend, get_backend
from ..face_feature_extractor.extractor import INPUT_SIZE, extract_features
from ..face_landmark_net.params import extract_params as extract_face_processor_params
from ..image import to_batch
from ..net import NO_TAP, NeuralNetwork, Tap

#: Output order of the net (face-api.js ``FaceExpressions``).
EXPRESSIONS = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised")


class FaceExpressionNet(NeuralNetwork):
    """Expression classifier on a dense-block feature extractor (about 330 kB)."""

    name = "expression"
    instance_name = "face_expression_net"
    role = "face"
    model_name = "face_expression_model"
    default_input_size = INPUT_SIZE

    def extract_params(self, reader):
        """This net's param tree from the weight map (see ``params.py``)."""
        return extract_face_processor_params(reader, 4, 4, len(EXPRESSIONS))

    def forward(self, batch, bk: Backend | None = None, tap: Tap = NO_TAP):
        """Logits (N, 7) for a batch of face crops (N, 112, 112, 3), float32 RGB 0..255."""
        bk = bk or get_backend()
        x = self._check_batch(batch, bk)
        p = self.params_on(bk)
        out = extract_features(x, p.dense_blocks, bk, tap)
        return tap(
            "fc",
            "fully connected",
            layers.fully_connected(out, p.fc.weights, p.fc.bias, bk),
            p.fc,
        )

    def predict_expressions(self, crops, bk: Backend | None = None) -> list[dict]:
        """One ``{expression: probability}`` dict per face crop, one batch for all.

        face-api.js ``predictExpressions``: softmax of the logits.
        """
        bk = bk or get_backend()
        logits = self.forward(to_batch(crops, INPUT_SIZE, center=True, bk=bk), bk)
        probs = np.asarray(bk.to_numpy(layers.softmax(logits, bk)), dtype=np.float32)
        return [{name: float(p) for name, p in zip(EXPRESSIONS, row)} for row in probs]
