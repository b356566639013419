"""Dense-block face feature extractors shared by the landmark and expression nets
(face-api.js ``src/faceFeatureExtractor/``)."""
