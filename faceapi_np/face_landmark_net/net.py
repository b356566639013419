"""68-point face landmarks: FaceLandmark68Net and FaceLandmark68TinyNet.

Mirrors face-api.js ``src/faceLandmarkNet/`` (``FaceLandmark68NetBase.ts``) with its
feature extractors (``faceapi_np/face_feature_extractor/``): the face crop is padded to a
square *centred*, resized to 112x112, centred on a mean RGB and divided by 255; 4 (tiny:
3) dense blocks, a global average pool and one dense layer give 136 numbers, the (x, y) of
68 points relative to the padded square. :func:`landmarks_from_output` undoes the
padding, as face-api.js's ``postProcess`` does.
"""

from __future__ import annotations

import numpy as np

from ..backend import Backend, get_backend
from ..face_feature_extractor.const import INPUT_SIZE
from ..face_processor import FaceProcessor

NUM_POINTS = 68


def landmarks_from_output(output, crop_sizes, input_size: int = INPUT_SIZE) -> np.ndarray:
    """Landmarks relative to each face crop (0..1) from the net's raw output.

    face-api.js ``postProcess``: the crop of size (w, h) was scaled by
    ``s = input_size / max(w, h)`` and padded on both sides of its shorter dimension by
    ``|w*s - h*s| / 2``; the raw output is relative to the padded square. So
    ``x = (out_x * input_size - pad_x) / (w * s)``, likewise y.

    Parameters
    ----------
    output : ndarray, shape (N, 136), interleaved x0, y0, x1, y1, ...
    crop_sizes : sequence of (width, height)

    Returns
    -------
    ndarray, shape (N, 68, 2), float32
    """
    out = np.asarray(output, dtype=np.float32).reshape(len(crop_sizes), NUM_POINTS, 2)
    result = np.empty_like(out)
    for i, (w, h) in enumerate(crop_sizes):
        s = input_size / max(w, h)
        sw, sh = w * s, h * s
        pad = np.array(
            [abs(sw - sh) / 2 if sw < sh else 0, abs(sw - sh) / 2 if sh < sw else 0],
            np.float32,
        )
        # float32 steps as tfjs: mul, sub, div
        result[i] = (out[i] * np.float32(input_size) - pad) / np.array([sw, sh], np.float32)
    return result


class FaceLandmark68Net(FaceProcessor):
    """68-point landmark regressor with 4 dense blocks of 4 separable convs (about 350 kB)."""

    name = "landmarks"
    instance_name = "face_landmark_68_net"
    model_name = "face_landmark_68_model"
    num_blocks = 4
    convs_per_block = 4
    num_outputs = 2 * NUM_POINTS

    def detect_landmarks(self, crops, bk: Backend | None = None) -> np.ndarray:
        """Landmarks of face crops, relative to each crop (N, 68, 2), one batch for all.

        Parameters
        ----------
        crops : sequence of arrays (H, W, 3)
            Each one face, e.g. from :func:`faceapi_np.extract.extract_face_tensors`.
        """
        bk = bk or get_backend()
        out = bk.to_numpy(self.forward_crops(crops, bk))
        return landmarks_from_output(out, [(c.shape[1], c.shape[0]) for c in crops])


class FaceLandmark68TinyNet(FaceLandmark68Net):
    """The tiny twin: 3 dense blocks of 3 separable convs (about 80 kB)."""

    name = "landmarks_tiny"
    instance_name = "face_landmark_68_tiny_net"
    model_name = "face_landmark_68_tiny_model"
    num_blocks = 3
    convs_per_block = 3
