"""Markdown table from a sitting folder: our best median against the fastest float32 peer.

Usage: ``python table.py FOLDER`` (the folder ``sitting.sh`` wrote). Each side's cell is
its best median over the sitting's rounds; the ratio is against the fastest peer's.
"""

import glob
import json
import os
import sys

NAMES = {  # bench's net name: (time_torch.py's, the row's label)
    "ssd": ("ssd_mobilenetv1", "SSD MobileNetV1 512"),
    "tiny": ("tiny_face_detector", "Tiny Face Detector 416"),
    "landmarks": ("face_landmark_68", "FaceLandmark68Net 112"),
    "landmarks_tiny": ("face_landmark_68_tiny", "FaceLandmark68TinyNet 112"),
    "recognition": ("face_recognition", "FaceRecognitionNet 150"),
}


def main(folder: str) -> None:
    ours, peers = {}, {}
    for path in sorted(glob.glob(os.path.join(folder, "ours*.json"))):
        with open(path) as f:
            for r in json.load(f)["nets"]:
                ours.setdefault((r["net"], r["batch"]), []).append(r["median_ms"])
    for path in sorted(glob.glob(os.path.join(folder, "peers*.json"))):
        with open(path) as f:
            for r in json.load(f)["rows"]:
                for key, v in r.items():
                    if key not in ("net", "batch", "input"):
                        peers.setdefault((r["net"], r["batch"]), {}).setdefault(key, []).append(v)
    cols = sorted({c for v in peers.values() for c in v})
    print("| net | batch | numba (rounds) | " + " | ".join(cols) + " | numba / fastest |")
    print("| --- | ---: | ---: | " + " | ".join("---:" for _ in cols) + " | ---: |")
    for name, (peer_name, label) in NAMES.items():
        for b in (1, 8):
            if (name, b) not in ours or (peer_name, b) not in peers:
                continue
            mine = min(ours[(name, b)])
            best = {c: min(v) for c, v in peers[(peer_name, b)].items()}
            fastest = min(best, key=best.get)
            cells = [
                (f"**{best[c]:.3g}**" if c == fastest else f"{best[c]:.3g}") if c in best else ""
                for c in cols
            ]
            rounds = " / ".join(f"{v:.3g}" for v in ours[(name, b)])
            print(
                f"| {label} | {b} | {mine:.3g} ({rounds}) | "
                + " | ".join(cells)
                + f" | {mine / best[fastest]:.2f} |"
            )


if __name__ == "__main__":
    main(sys.argv[1])
