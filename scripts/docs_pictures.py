"""Make the pictures of docs/img/ from ``faceapi_np.explain`` reports on a sample photo.

Runs one report per net into a temporary folder, then copies the pictures the docs
show into ``docs/img/<net>-<picture>.png``, narrowed to at most 720 px and reduced to a
256-colour palette so that all of them together stay small (about 2 MB)::

    python scripts/docs_pictures.py [--sample sample1.jpg] [--out docs/img]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from PIL import Image

import faceapi_np as fa
from faceapi_np import samples
from faceapi_np.fileio import save_image

#: net -> pictures of its report shown in the docs
PICTURES = {
    "ssd": (
        "input-normalised",
        "layers-001-mobilenetv1-conv-0",
        "layers-027-mobilenetv1-conv-13-pointwise-conv",
        "anchors",
        "heatmaps",
        "before-nms",
        "after-nms",
    ),
    "tiny": ("objectness", "before-nms", "after-nms"),
    "mtcnn": ("pyramid", "pnet-probability", "stage1", "stage2", "stage3"),
    "landmarks": ("points", "alignment", "aligned-crops"),
    "recognition": ("descriptors", "distances"),
    "expression": ("probabilities",),
    "age_gender": ("probabilities",),
}
MAX_WIDTH = 720


def main(argv=None) -> None:
    """Make the reports and copy their pictures into the docs."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", default="sample1.jpg", help="sample photo (default: sample1.jpg)")
    ap.add_argument("--out", default="docs/img", help="folder of the pictures (default: docs/img)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    image = samples.sample_path(args.sample)
    with tempfile.TemporaryDirectory() as tmp:
        for net, names in PICTURES.items():
            folder = Path(tmp) / net
            fa.explain(image, net=net, out=folder)
            for name in names:
                with Image.open(folder / f"{name}.png") as img:
                    img = img.convert("RGB")
                if img.width > MAX_WIDTH:
                    h = round(img.height * MAX_WIDTH / img.width)
                    img = img.resize((MAX_WIDTH, h), Image.LANCZOS)
                small = img.quantize(256, method=Image.Quantize.MEDIANCUT)
                save_image(small, out / f"{net}-{name}.png")
                print(out / f"{net}-{name}.png")


if __name__ == "__main__":
    main()
