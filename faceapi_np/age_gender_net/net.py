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
from ..net import NeuralNetwork, planned
from ..tap import traced
from . import params as age_gender_params
from .const import INPUT_DIVISOR, INPUT_SIZE, MEAN_RGB


@traced("reduction block")
def reduction_block(x, p, bk, activate_input: bool = True):
    """``maxpool(sep1(relu(sep0(relu?(x))))) + conv1x1/2(x)`` (``reductionBlock``)."""
    relu_input = "relu" if activate_input else None
    out = layers.separable_conv(x, p.separable_conv0, bk, act="relu", input_act=relu_input)
    out = layers.separable_conv(out, p.separable_conv1, bk)
    out = layers.max_pool(out, 3, 2, bk, "same")
    return layers.conv(x, p.expansion_conv, bk, 2, "same", residual=out)


@traced("main block")
def main_block(x, p, bk):
    """``sep2(relu(sep1(relu(sep0(relu(x)))))) + x`` (``mainBlock``)."""
    sep0, sep1, sep2 = p.separable_convs
    out = layers.separable_conv(x, sep0, bk, act="relu", input_act="relu")
    out = layers.separable_conv(out, sep1, bk, act="relu")
    return layers.separable_conv(out, sep2, bk, residual=x)


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

    @planned
    def forward(self, batch, bk: Backend | None = None):
        """Raw outputs for a batch of face crops (N, 112, 112, 3), float32 RGB 0..255.

        Returns
        -------
        age : array (N,), years
        gender : array (N, 2), logits (male, female)
        """
        bk = bk or get_backend()
        x = self._check_batch(batch, bk)
        p = self.params_on(bk)
        norm = layers.rgb_norm(MEAN_RGB, INPUT_DIVISOR)  # applied as the first conv reads
        out = layers.conv(
            x, p.conv_in, bk, 2, "same", act="relu", input_norm=norm, name="entry_flow/conv_in"
        )
        for i, block in enumerate(p.reduction_blocks):
            name = f"entry_flow/reduction_block_{i}"
            out = reduction_block(out, block, bk, activate_input=i > 0, name=name)
        for i, block in enumerate(p.main_blocks):
            out = main_block(out, block, bk, name=f"middle_flow/main_block_{i}")
        out = reduction_block(out, p.exit_reduction_block, bk, name="exit_flow/reduction_block")
        sep = p.exit_separable_conv
        out = layers.separable_conv(out, sep, bk, act="relu", name="exit_flow/separable_conv")
        k = out.shape[1]  # tf.avgPool [7, 7] / 2 'valid' on the 7x7 map: a global mean
        out = layers.avg_pool(out, k, 2, bk, "valid", name="avg_pool")
        out = out.reshape(out.shape[0], -1)  # (N, C)
        age = layers.dense(out, p.age, bk, name="fc/age")  # (N, 1)
        gender = layers.dense(out, p.gender, bk, name="fc/gender")  # (N, 2)
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
