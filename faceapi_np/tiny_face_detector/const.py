"""Constants of face-api.js's Tiny Face Detector (``src/tinyFaceDetector/const.ts``)."""

#: IoU above which NMS suppresses a box.
IOU_THRESHOLD = 0.4
#: Anchor (width, height) of the 5 boxes per cell, in grid cells.
BOX_ANCHORS = (
    (1.603231, 2.094468),
    (6.041143, 7.080126),
    (2.882459, 3.518061),
    (4.266906, 5.178857),
    (9.041765, 10.66308),
)
#: Mean RGB subtracted before dividing by 256 (``TinyYolov2Base.forwardInput``).
MEAN_RGB = (117.001, 114.697, 97.404)
INPUT_DIVISOR = 256.0
#: Numbers per anchor in the output grid: tx, ty, tw, th, objectness (one class: no scores).
BOX_ENCODING_SIZE = 5
