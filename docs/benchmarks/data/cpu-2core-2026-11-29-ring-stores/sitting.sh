#!/bin/bash
# The first sitting on the page beside this folder: the planned-execution page's sitting
# (ours, the peers with torch.compile, ours, the peers, ours, the peers, ours, `bench
# --ops`, then the chain with the code before this page's changes and this code
# alternating). Run from the repository root with PEER_PYTHON, BEFORE and BEFORE_CACHE
# set as that script says. Writes its JSON into $1. The second sitting is the
# compiled-conv page's sitting.sh alone.
set -e
bash "$(dirname "$0")/../cpu-2core-2026-11-29-planned/sitting.sh" "${1:?output folder}"
