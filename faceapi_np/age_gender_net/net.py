"""AgeGenderNet: age in years and gender of a face crop (``src/ageGenderNet/AgeGenderNet.ts``).

The feature extractor is a small Xception (Chollet 2017; face-api.js
``src/xception/TinyXception.ts``): the crop padded centred to 112x112, mean RGB
subtracted, divided by 256; a stride-2 3x3 conv; two reduction blocks (separable convs, a
3x3/2 max pool, and a strided 1x1 conv on the shortcut); two residual main blocks; an
exit reduction block and a separable conv (7x7 map). A 7x7 average pool then feeds two
dense heads: age (one number, years) and gender (two logits, male / female, softmaxed).
"""

from __future__ import annotations

import numpy as np

from .. import layers
from ..backend import Backend, get_backend
from ..image import to_batch
from ..net import NO_TAP, NeuralNetwork, Tap
from . import params as age_gender_params

INPUT_SIZE = 112
MEAN_RGB = (122.782, 117.001, 104.298)
INPUT_DIVISOR = 256.0


def _separable(x, p, bk, act=None, input_act=None, residual=None):
    """Separable 3x3 'same' conv plus bias (``common/depthwiseSeparableConv.ts``)."""
    return layers.separable_conv2d(
        x,
        p.depthwise_filter,
        p.pointwise_filter,
        p.bias,
        bk,
        1,
        "same",
        input_act=input_act,
        residual=residual,
        act=act,
    )


def reduction_block(x, p, bk, activate_input: bool = True):
    """``maxpool(sep1(relu(sep0(relu?(x))))) + conv1x1/2(x)`` (``reductionBlock``)."""
    out = _separable(
        x,
        p.separable_conv0,
        bk,
        act="relu",
        input_act="relu" if activate_input else None,
    )
    out = _separable(out, p.separable_conv1, bk)
    out = layers.max_pool(out, 3, 2, bk, "same")
    return layers.conv2d(
        x, p.expansion_conv.filters, p.expansion_conv.bias, bk, 2, "same", residual=out
    )


def main_block(x, p, bk):
    """``sep2(relu(sep1(relu(sep0(relu(x)))))) + x`` (``mainBlock``)."""
    out = _separable(x, p.separable_convs[0], bk, act="relu", input_act="relu")
    out = _separable(out, p.separable_convs[1], bk, act="relu")
    return _separable(out, p.separable_convs[2], bk, residual=x)


class AgeGenderNet(NeuralNetwork):
    """Age regression and gender classification on a TinyXception (about 420 kB)."""

    name = "age_gender"
    instance_name = "age_gender_net"
    role = "face"
    model_name = "age_gender_model"
    default_input_size = INPUT_SIZE

    def extract_params(self, reader):
        """This net's param tree from the weight map (see ``params.py``)."""
        return age_gender_params.extract_params(reader)

    def forward(self, batch, bk: Backend | None = None, tap: Tap = NO_TAP):
        """Raw outputs for a batch of face crops (N, 112, 112, 3), float32 RGB 0..255.

        Returns
        -------
        age : array (N,), years
        gender : array (N, 2), logits (male, female)
        """
        bk = bk or get_backend()
        x = self._check_batch(batch, bk)
        p = self.params_on(bk)
        out = layers.normalize_rgb(x, MEAN_RGB, INPUT_DIVISOR, bk)
        out = tap(
            "entry_flow/conv_in",
            "conv 3x3/2 + bias + relu",
            layers.conv2d(out, p.conv_in.filters, p.conv_in.bias, bk, 2, "same", act="relu"),
            p.conv_in,
        )
        for i, block in enumerate(p.reduction_blocks):
            out = tap(
                f"entry_flow/reduction_block_{i}",
                "reduction block",
                reduction_block(out, block, bk, activate_input=i > 0),
                block,
            )
        for i, block in enumerate(p.main_blocks):
            out = tap(
                f"middle_flow/main_block_{i}",
                "main block",
                main_block(out, block, bk),
                block,
            )
        out = tap(
            "exit_flow/reduction_block",
            "reduction block",
            reduction_block(out, p.exit_reduction_block, bk),
            p.exit_reduction_block,
        )
        out = tap(
            "exit_flow/separable_conv",
            "separable 3x3 + bias + relu",
            _separable(out, p.exit_separable_conv, bk, act="relu"),
            p.exit_separable_conv,
        )
        k = out.shape[1]  # tf.avgPool [7, 7] / 2 'valid' on the 7x7 map: a global mean
        out = tap("avg_pool", f"avg pool {k}x{k}", layers.avg_pool(out, k, 2, bk, "valid"))
        out = out.reshape(out.shape[0], -1)
        age = tap(
            "fc/age",
            "fully connected",
            layers.fully_connected(out, p.age.weights, p.age.bias, bk),
            p.age,
        )
        gender = tap(
            "fc/gender",
            "fully connected",
            layers.fully_connected(out, p.gender.weights, p.gender.bias, bk),
            p.gender,
        )
        return age.reshape(-1), gender

    def predict_age_and_gender(self, crops, bk: Backend | None = None) -> list[dict]:
        """``{"age", "gender", "gender_probability"}`` per face crop, one batch for all.

        face-api.js ``predictAgeAndGender``: gender is male when the softmax's male
        probability exceeds 0.5; the probability reported is that of the chosen gender
        (``1 - p_male`` for female, computed in float64 as JavaScript does).
        """
        bk = bk or get_backend()
        age, logits = self.forward(to_batch(crops, INPUT_SIZE, center=True, bk=bk), bk)
        age = np.asarray(bk.to_numpy(age), dtype=np.float32)
        probs = np.asarray(bk.to_numpy(layers.softmax(logits, bk)), dtype=np.float32)
        out = []
        for a, (p_male, _) in zip(age, probs):
            male = float(p_male) > 0.5
            out.append(
                {
                    "age": float(a),
                    "gender": "male" if male else "female",
                    "gender_probability": (float(p_male) if male else 1.0 - float(p_male)),
                }
            )
        return out
