"""Constants several nets share; each net's own live in its folder's ``const.py``."""

#: Mean RGB of the face crops face-api.js's face nets were trained on, subtracted before
#: scaling (``normalize(x, [122.782, 117.001, 104.298])`` in FaceFeatureExtractor,
#: FaceRecognitionNet and TinyXception).
FACE_MEAN_RGB = (122.782, 117.001, 104.298)
