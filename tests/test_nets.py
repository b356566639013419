"""Net structure: parameter trees, summaries, activation capture, input checks."""

from __future__ import annotations

import numpy as np
import pytest

from faceapi_np import TinyFaceDetector
from faceapi_np.errors import InputError, WeightsError
from faceapi_np.image import to_batch


def test_ssd_param_tree_uses_faceapi_paths(ssd):
    paths = dict(ssd.iter_params())
    assert paths["mobilenetv1/conv_0/filters"].shape == (3, 3, 3, 32)
    assert paths["mobilenetv1/conv_pairs/12/pointwise_conv/filters"].shape == (
        1,
        1,
        1024,
        1024,
    )
    assert paths["prediction_layer/box_predictors/5/class_predictor/filters"].shape == (
        1,
        1,
        128,
        18,
    )
    assert paths["output_layer/extra_dim"].shape == (1, 5118, 4)
    assert all(a.dtype == np.float32 for a in paths.values())
    # face-api.js ignores SSD's int32 graph constants and the preprocessor scalars
    assert "Postprocessor/Slice/begin" in ssd.unused_weights
    assert not any("MobilenetV1/" in n for n in ssd.unused_weights)


def test_tiny_uses_every_weight(tiny):
    assert tiny.unused_weights == []
    assert sum(a.size for _, a in tiny.iter_params()) == 193_321


def test_ssd_summary_totals(ssd):
    s = ssd.summary()
    assert s.total_params == 5_535_047  # every tensor but the anchors and unused constants
    assert s.total_macs == 3_143_007_488  # 6.29 GFLOP at 512x512
    first, last = s.rows[0], s.rows[-1]
    assert (first.name, first.shape) == ("mobilenetv1/conv_0", (1, 256, 256, 32))
    assert last.shape == (1, 5118)
    text = str(s)
    assert "mobilenetv1/conv_13/pointwise_conv" in text and "3,143,007,488" in text


def test_tiny_summary_scales_with_input_size(tiny):
    s416, s224 = tiny.summary(416), tiny.summary(224)
    assert s416.rows[-1].shape == (1, 13, 13, 25)
    assert s224.rows[-1].shape == (1, 7, 7, 25)
    assert s416.total_macs == 198_760_528
    assert s224.total_macs < s416.total_macs
    assert s416.as_dict()["layers"][0]["shape"] == [1, 414, 414, 16]


def test_activations_are_the_forward_pass(ssd, bk):
    rng = np.random.default_rng(0)
    batch = to_batch([rng.uniform(0, 255, (40, 60, 3)).astype(np.float32)], 512)
    acts = ssd.activations(batch, bk)
    boxes, scores = ssd.forward(batch, bk)
    assert list(acts)[0] == "mobilenetv1/conv_0"
    assert acts["mobilenetv1/conv_11/pointwise_conv"].shape == (1, 32, 32, 512)
    np.testing.assert_array_equal(acts["output_layer/scores"], bk.to_numpy(scores))
    assert (
        0
        <= acts["mobilenetv1/conv_5/depthwise_conv"].min()
        <= acts["mobilenetv1/conv_5/depthwise_conv"].max()
        <= 6
    )


def test_batch_of_two_equals_two_batches_of_one(tiny, bk):
    rng = np.random.default_rng(1)
    imgs = [rng.uniform(0, 255, (50, 70, 3)).astype(np.float32) for _ in range(2)]
    both = bk.to_numpy(tiny.forward(to_batch(imgs, 128), bk))
    for i, img in enumerate(imgs):
        one = bk.to_numpy(tiny.forward(to_batch([img], 128), bk))
        np.testing.assert_allclose(both[i : i + 1], one, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "batch, match",
    [
        (np.zeros((512, 512, 3), np.float32), r"shape \(N, H, W, 3\)"),
        (np.zeros((1, 512, 512, 4), np.float32), r"shape \(N, H, W, 3\)"),
        (np.zeros((0, 512, 512, 3), np.float32), r"shape \(N, H, W, 3\)"),
        ([[1, 2, 3]], r"shape \(N, H, W, 3\)"),
        (np.zeros((1, 64, 64, 3), dtype=bool), "not numeric"),
    ],
)
def test_forward_rejects_bad_batches(tiny, batch, match):
    with pytest.raises(InputError, match=match):
        tiny.forward(batch)


def test_unloaded_net_says_so():
    with pytest.raises(WeightsError, match="load the weights"):
        TinyFaceDetector().forward(np.zeros((1, 64, 64, 3), np.float32))


@pytest.mark.parametrize(
    "cls, params, macs, out",
    [
        ("FaceLandmark68Net", 356_840, 51_571_840, (1, 136)),
        ("FaceLandmark68TinyNet", 77_224, 28_705_536, (1, 136)),
        ("FaceRecognitionNet", 5_614_592, 270_854_144, (1, 128)),  # 0.54 GFLOP a face
    ],
)
def test_face_net_summaries(cls, params, macs, out, weights_dir):
    import faceapi_np

    net = getattr(faceapi_np, cls)().load(weights_dir)
    assert net.unused_weights == []
    s = net.summary()
    assert (s.total_params, s.total_macs, s.rows[-1].shape) == (params, macs, out)
    assert net.summary(batch_size=8).total_macs == 8 * macs


def test_face_nets_batch_equals_one_by_one(weights_dir, bk):
    import faceapi_np

    rng = np.random.default_rng(3)
    crops = [
        rng.uniform(0, 255, (h, w, 3)).astype(np.float32) for h, w in ((60, 45), (90, 90), (33, 70))
    ]
    lm = faceapi_np.FaceLandmark68Net().load(weights_dir)
    rec = faceapi_np.FaceRecognitionNet().load(weights_dir)
    together = lm.detect_landmarks(crops, bk), rec.compute_face_descriptors(crops, bk)
    for i, c in enumerate(crops):
        np.testing.assert_allclose(lm.detect_landmarks([c], bk)[0], together[0][i], atol=1e-5)
        np.testing.assert_allclose(
            rec.compute_face_descriptors([c], bk)[0], together[1][i], atol=1e-5
        )
