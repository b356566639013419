"""FaceExpressionNet: probabilities of 7 expressions for a face crop.

Mirrors face-api.js ``src/faceExpressionNet/FaceExpressionNet.ts``: a FaceProcessor
(``faceapi_np/face_processor/``), the same feature extractor as FaceLandmark68Net (4 dense blocks of 4 convs on a 112x112 crop, centred
padding, mean RGB, / 255) with its own weights, a dense layer to 7 logits, and a softmax.
"""

from __future__ import annotations

import numpy as np

from .. import layers
from ..backend import Backend, get_backend
from ..face_processor import FaceProcessor

#: Output order of the net (face-api.js ``FaceExpressions``).
EXPRESSIONS = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised")


class FaceExpressionNet(FaceProcessor):
    """Expression classifier on a dense-block feature extractor (about 330 kB)."""

    name = "expression"
    instance_name = "face_expression_net"
    model_name = "face_expression_model"
    num_outputs = len(EXPRESSIONS)

    def predict_expressions(self, crops, bk: Backend | None = None) -> list[dict]:
        """One ``{expression: probability}`` dict per face crop, one batch for all.

        face-api.js ``predictExpressions``: softmax of the logits.
        """
        bk = bk or get_backend()
        logits = self.forward_crops(crops, bk)
        probs = np.asarray(bk.to_numpy(layers.softmax(logits, bk)), dtype=np.float32)
        return [{name: float(p) for name, p in zip(EXPRESSIONS, row)} for row in probs]
