"""Constants of face-api.js's SSD MobileNetV1, with where each comes from."""

#: Side of the square net input (``SsdMobilenetv1.forwardInput``: ``toBatchTensor(512)``).
INPUT_SIZE = 512
#: Pixel scale: face-api.js writes 0.007843137718737125, which is float32(2 / 255);
#: inputs map to ``x * INPUT_SCALE - 1`` in [-1, 1].
INPUT_SCALE = 0.007843137718737125
#: Batch-norm epsilon in ``mobileNetV1.ts``: float32(1e-3) written out.
BN_EPS = 0.0010000000474974513
#: MobileNetV1 pairs whose depthwise conv has stride 2 (``getStridesForLayerIdx``).
STRIDE_2_PAIRS = (2, 4, 6, 12)
#: The backbone pair whose output feeds box predictor 0 (``conv11`` in face-api.js).
CONV11_PAIR = 11
#: Number of anchor boxes (``Output/extra_dim`` is (1, 5118, 4)).
NUM_ANCHORS = 5118
#: IoU above which NMS suppresses a box (``locateFaces``: ``iouThreshold = 0.5``).
IOU_THRESHOLD = 0.5
#: Box-coder scales of the TF object detection API: centres / 10, sizes / 5.
CENTER_SCALE = 10.0
SIZE_SCALE = 5.0
