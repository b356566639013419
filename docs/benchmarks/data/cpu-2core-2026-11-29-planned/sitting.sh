#!/bin/bash
# One benchmark sitting, as on the page beside this folder: the earlier page's sitting
# (ours, the peers with torch.compile, ours, the peers, ours, the peers, ours, then
# `bench --ops`), then the chain with the code before this page's changes and this code
# alternating: BEFORE a checkout of that code, BEFORE_CACHE its own kernel cache (the
# chain is skipped without them). Run from the repository root with PEER_PYTHON set as
# that script says. Writes its JSON into $1.
set -e
OUT=$(realpath -m "${1:?output folder}")
bash "$(dirname "$0")/../cpu-2core-2026-11-29-compiled-conv/sitting.sh" "$OUT"
chain() { faceapi-np bench --backends numba --nets ssd --batch 1 --repeat 5 --json "$OUT/chain-$1.json" -q; }
if [ -n "$BEFORE" ]; then
  for i in 1 2 3; do
    (export PYTHONPATH="$BEFORE" FACEAPI_NP_WEIGHTS="$(pwd)/weights" FACEAPI_NP_CACHE="$BEFORE_CACHE"; chain "before$i")
    chain "after$i"
  done
fi
