#!/bin/bash
# One benchmark sitting, as on the page beside this folder: ours, the peers (with
# torch.compile), ours, the peers, ours, the peers, ours; then `bench --ops`, and the
# chain with the code before this page's changes (BEFORE: a checkout of it, with its own
# kernel cache) and this code alternating. Run from the repository root; PEER_PYTHON is
# a Python with torch, onnx, onnxruntime and openvino (see ../shared/anchors/time_torch.py).
# Writes its JSON into $1.
set -e
OUT=$(realpath -m "${1:?output folder}")
ROOT=$(pwd)
ANCHORS=$(realpath ../shared/anchors)
mkdir -p "$OUT"
NETS=ssd,tiny,landmarks,landmarks_tiny,recognition
PNETS=ssd_mobilenetv1,tiny_face_detector,face_landmark_68,face_landmark_68_tiny,face_recognition
ours() { faceapi-np bench --backends numba --batch 1,8 --repeat 30 --nets $NETS --no-chain --json "$OUT/ours$1.json" -q; }
peers() { (cd "$ANCHORS" && FACEAPI_WEIGHTS="$ROOT/weights" "$PEER_PYTHON" time_torch.py --nets $PNETS --batch 1,8 --variants "$2" --ort --openvino --json "$OUT/peers$1.json" > "$OUT/peers$1.txt" 2>&1); }
chain() { faceapi-np bench --backends numba --nets ssd --batch 1 --repeat 5 --json "$OUT/chain-$1.json" -q; }
ours 1; peers 1 eager_cl,compile; ours 2; peers 2 eager_cl; ours 3; peers 3 eager_cl; ours 4
faceapi-np bench --backends numba --batch 1,8 --repeat 20 --nets $NETS --ops --json "$OUT/ops.json" -q
if [ -n "$BEFORE" ]; then
  for i in 1 2 3; do
    (export PYTHONPATH="$BEFORE" FACEAPI_NP_WEIGHTS="$ROOT/weights" FACEAPI_NP_CACHE="$BEFORE_CACHE"; chain before$i)
    chain after$i
  done
fi
