#!/usr/bin/env bash
# The GPU check: one prepared command for a lent GPU machine (H100/H200 image with CuPy
# and PyTorch, no network). Run from the repository root with these carried along:
#   weights/                 the face-api.js weights (faceapi-np weights fetch, here)
#   tests/data/samples/      the sample photos
#   .gpu/torch_nets.py       a copy of ../shared/anchors/torch_nets.py (PyTorch builds of the nets)
# It (1) runs the parity tests on the cupy backend, (2) checks every net's raw outputs
# against the NumPy backend, (3) times every net at batch 1/8/64 on cupy beside
# PyTorch-CUDA eager fp32 (recognition also at 256), and writes the table to
# docs/benchmarks/gpu-<card>-<date>.md. Sized to finish in under 5 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
$PY -m pip install -q --no-deps --no-build-isolation -e . >/dev/null 2>&1 || export PYTHONPATH=$PWD
out_dir=${OUT:-docs/benchmarks}
mkdir -p "$out_dir"

echo "== parity tests on the cupy backend"
set +e
timeout 150 $PY -m pytest -q -x -k cupy -p no:cacheprovider \
    tests/test_layers.py tests/test_detector_goldens.py tests/test_face_goldens.py tests/test_mtcnn.py \
    2>&1 | tail -5 | tee "$out_dir/gpu_parity.txt"
set -e

echo "== timing"
$PY scripts/gpu_bench.py --torch-nets .gpu/torch_nets.py --parity "$out_dir/gpu_parity.txt" --out-dir "$out_dir"
