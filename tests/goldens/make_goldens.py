"""Regenerate the golden files in tests/goldens/ with the face-api.js reference tool.

For every case below: build the input array (see inputs.py), save it as .npy, run

    node faceapi-ref.js --npy <input.npy> --task TASK [options] [--raw]

in the reference tool's folder, and write tests/goldens/<case>.json (schema in README.md).
Tasks: the detectors (ssd, tiny, mtcnn), the per-crop nets (landmarks68, landmarks68tiny,
descriptor, expression, agegender) and the whole chain (all-ssd, all-tiny).

Usage, from the repository root:

    python tests/goldens/make_goldens.py [--ref DIR] [--samples DIR] [--only CASE ...]
                                         [--jobs N] [--list]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from inputs import array_sha256, encode_array, make_input  # noqa: E402

DEFAULT_REF = Path("/work/shared/reference")

# Crops chosen so that they contain faces (see README.md).
TALL_CROP = [1010, 120, 1710, 1220]  # sample3, 700 x 1100: the two right-hand faces
WIDE_CROP = [0, 60, 1920, 510]  # sample2, 1920 x 450: all three faces

# Face crops for the per-crop nets, [left, top, right, bottom], taken from the SSD goldens'
# detections (ssd_sample<i>.json, detection k, box x, y, w, h):
#   "exact":  [floor(x), floor(y), floor(x) + floor(w), floor(y) + floor(h)], the region
#             face-api.js itself cuts out for that box (Box.clipAtImageBorders().floor());
#   "x1.2" / "x1.5": the box scaled about its centre, l = floor(cx - s*w/2),
#             t = floor(cy - s*h/2), r = l + round(s*w), b = t + round(s*h);
#   "wide":   centred on the box, 1.5 h wide and 1.15 h high.
FACE_CROPS = {
    "crop1": {
        "sample": "sample1.jpg",
        "crop": [414, 354, 591, 593],
    },  # det 0 exact, 177x239
    "crop2": {
        "sample": "sample2.jpg",
        "crop": [1447, 153, 1640, 395],
    },  # det 0 exact, 193x242
    "crop3": {
        "sample": "sample4.jpg",
        "crop": [241, 160, 435, 454],
    },  # det 1 x1.2, 194x294
    "crop4": {
        "sample": "sample5.jpg",
        "crop": [771, 87, 958, 341],
    },  # det 0 x1.2, 187x254
    "crop5": {
        "sample": "sample3.jpg",
        "crop": [481, 308, 888, 620],
    },  # det 0 wide, 407x312
    # det 3 exact (145x243), resized to 64x107: the photos have no face under 112 px
    "crop6": {
        "sample": "sample4.jpg",
        "crop": [1276, 143, 1421, 386],
        "resize": [64, 107],
    },
    "crop7": {
        "sample": "sample6.jpg",
        "crop": [196, 394, 511, 830],
    },  # det 3 x1.5, 315x436
    "crop8": {
        "sample": "sample5.jpg",
        "crop": [376, 859, 548, 1159],
    },  # det 4 exact, 172x300
}
CROP_TASKS = ("landmarks68", "landmarks68tiny", "descriptor", "expression", "agegender")

# MTCNN runs on the photos resized to 710 px wide (Pillow BILINEAR), height
# round(710 * h / 1920) of the 1920-px-wide photo: full-size photos with minFaceSize 20
# are slow in the tool.
MTCNN_710 = {f"sample{i}": [710, h] for i, h in zip(range(1, 7), (473, 506, 499, 535, 517, 568))}
# sample1 around SSD detection 0 (box 414, 355, 177, 240; centre 502.5, 475): a 300x360
# region, halved to 150x180, so the face is about 88x120 px.
MTCNN_SMALL_CROP = {
    "sample": "sample1.jpg",
    "crop": [352, 295, 652, 655],
    "resize": [150, 180],
}


def _case(name, task, spec, options=None, raw=False):
    return {
        "case": name,
        "task": task,
        "input_spec": spec,
        "cli": options or [],
        "raw": raw,
    }


def _cases() -> list[dict]:
    c = []
    for i in range(1, 7):
        c.append(_case(f"ssd_sample{i}", "ssd", {"sample": f"sample{i}.jpg"}, raw=i in (1, 4)))
    c.append(
        _case(
            "ssd_sample2_minconf03",
            "ssd",
            {"sample": "sample2.jpg"},
            ["--min-confidence", "0.3", "--max-results", "10"],
        )
    )
    for i in range(1, 7):
        c.append(_case(f"tiny_sample{i}", "tiny", {"sample": f"sample{i}.jpg"}, raw=True))
    c.append(
        _case(
            "tiny_sample3_320",
            "tiny",
            {"sample": "sample3.jpg"},
            ["--input-size", "320", "--score-threshold", "0.3"],
            raw=True,
        )
    )
    c.append(
        _case(
            "tiny_sample5_608",
            "tiny",
            {"sample": "sample5.jpg"},
            ["--input-size", "608"],
            raw=True,
        )
    )
    shapes = {
        "tall": {"sample": "sample3.jpg", "crop": TALL_CROP},
        "wide": {"sample": "sample2.jpg", "crop": WIDE_CROP},
        "small": {"sample": "sample2.jpg", "resize": [300, 214]},
        "large": {"sample": "sample6.jpg", "resize": [2400, 1921]},
        "odd": {"sample": "sample1.jpg", "resize": [333, 201]},
    }
    raw_shapes = {"ssd": {"small", "odd"}, "tiny": {"small", "tall", "odd"}}
    for task in ("ssd", "tiny"):
        for kind, spec in shapes.items():
            c.append(_case(f"{task}_{kind}", task, spec, raw=kind in raw_shapes[task]))

    def synth(seed, h, w, dtype="float32"):
        return {"synthetic": {"seed": seed, "height": h, "width": w, "dtype": dtype}}

    # Scores on noise are low (SSD < 0.06, tiny < 0.05), so the thresholds are set low
    # enough that each case keeps several candidates and exercises NMS.
    def ssd_low(x):
        return ["--min-confidence", x]

    def tiny_low(x):
        return ["--score-threshold", x]

    c.append(_case("ssd_synth_a", "ssd", synth(1, 97, 131), ssd_low("0.03"), raw=True))
    c.append(_case("ssd_synth_b", "ssd", synth(2, 200, 150), ssd_low("0.02"), raw=True))
    c.append(_case("tiny_synth_a", "tiny", synth(3, 64, 64), tiny_low("0.01"), raw=True))
    c.append(
        _case(
            "tiny_synth_b",
            "tiny",
            synth(4, 45, 77),
            ["--input-size", "128"] + tiny_low("0.002"),
            raw=True,
        )
    )
    c.append(
        _case(
            "tiny_synth_c",
            "tiny",
            synth(5, 300, 300, "uint8"),
            ["--input-size", "224"] + tiny_low("0.002"),
            raw=True,
        )
    )

    # Per-crop nets: face crops of the photos and noise tensors, all with raw outputs.
    crop_inputs = dict(FACE_CROPS)
    crop_inputs.update(
        {
            "synth_face_a": synth(11, 112, 112),
            "synth_face_b": synth(12, 150, 150),
            "synth_face_c": synth(13, 131, 97),  # 97 wide, 131 high
            "synth_face_d": synth(14, 160, 200, "uint8"),  # 200 wide, 160 high
        }
    )
    for name, spec in crop_inputs.items():
        for task in CROP_TASKS:
            c.append(_case(f"{task}_{name}", task, spec, raw=True))

    # The whole chain on the photos (default options, no raw outputs).
    for i in range(1, 7):
        c.append(_case(f"all_ssd_sample{i}", "all-ssd", {"sample": f"sample{i}.jpg"}))
    for i in (1, 4):
        c.append(
            _case(
                f"all_tiny_tinylm_sample{i}",
                "all-tiny",
                {"sample": f"sample{i}.jpg"},
                ["--tiny-landmarks"],
            )
        )
    c.append(_case("all_tiny_sample2", "all-tiny", {"sample": "sample2.jpg"}))

    # MTCNN (detections + 5 points), all with the per-stage statistics.
    def s710(name):
        return {"sample": f"{name}.jpg", "resize": MTCNN_710[name]}

    for i in range(1, 7):
        c.append(_case(f"mtcnn_sample{i}", "mtcnn", s710(f"sample{i}"), raw=True))
    c.append(
        _case(
            "mtcnn_sample2_minface40",
            "mtcnn",
            s710("sample2"),
            ["--min-face-size", "40"],
            raw=True,
        )
    )
    c.append(
        _case(
            "mtcnn_sample4_thresholds",
            "mtcnn",
            s710("sample4"),
            ["--score-thresholds", "0.5,0.6,0.6"],
            raw=True,
        )
    )
    c.append(
        _case(
            "mtcnn_sample5_scales",
            "mtcnn",
            s710("sample5"),
            ["--scale-factor", "0.8", "--max-num-scales", "4"],
            raw=True,
        )
    )
    c.append(
        _case(
            "mtcnn_sample3_full",
            "mtcnn",
            {"sample": "sample3.jpg"},
            ["--min-face-size", "80"],
            raw=True,
        )
    )
    c.append(_case("mtcnn_crop_small", "mtcnn", MTCNN_SMALL_CROP, raw=True))
    return c


CASES = _cases()

# Raw arrays to store compactly, per raw key of the tool's output.
RAW_ARRAYS = {
    "ssd_forward": ("boxes", "scores"),
    "tiny_forward": ("output",),
    "landmarks68_runNet": ("output",),
    "landmarks68_forward": ("output",),
    "landmarks68tiny_runNet": ("output",),
    "landmarks68tiny_forward": ("output",),
    "descriptor_forward": ("output",),
    "expression_runNet": ("output",),
    "expression_forward": ("output",),
    "agegender_runNet": ("age", "gender_logits"),
    "agegender_forward": ("age", "gender"),
}

# Task results copied from the tool's output as printed (besides "detections").
RESULT_KEYS = {
    "landmarks68": ("landmarks",),
    "landmarks68tiny": ("landmarks",),
    "descriptor": ("descriptor",),
    "expression": ("expressions",),
    "agegender": ("age", "gender", "genderProbability"),
    "all-ssd": ("boxes", "scores", "faces"),
    "all-tiny": ("boxes", "scores", "faces"),
}


# face-api.js's MTCNN statistics (raw.mtcnn_stats): the keys kept in the goldens. The
# others are Date.now() differences in ms (MTCNN_STATS_TIMES), different on every run,
# and are dropped so that regenerating gives the same bytes.
MTCNN_STATS_KEEP = (
    "scales",
    "pyramid",
    "stage1",
    "stage2_numInputBoxes",
    "stage3_numInputBoxes",
)
MTCNN_STATS_TIMES = (
    "stage1_nms",
    "total_stage1",
    "stage2_extractImagePatches",
    "stage2_rnet",
    "stage2_nms",
    "total_stage2",
    "stage3_extractImagePatches",
    "stage3_onet",
    "stage3_nms",
    "total_stage3",
    "total",
)
MTCNN_STAGE1_KEEP = ("scale", "numBoxes")  # per scale; "pnet" and "nms" are times


def _mtcnn_stats(stats: dict) -> dict:
    """raw.mtcnn_stats without its timings, keys in the tool's order."""
    unknown = set(stats) - set(MTCNN_STATS_KEEP) - set(MTCNN_STATS_TIMES)
    if unknown:
        raise ValueError(f"raw mtcnn_stats: unexpected keys {sorted(unknown)}")
    out = {k: v for k, v in stats.items() if k in MTCNN_STATS_KEEP}
    if "stage1" in out:
        stage1 = []
        for s in out["stage1"]:
            unknown = set(s) - set(MTCNN_STAGE1_KEEP) - {"pnet", "nms"}
            if unknown:
                raise ValueError(f"raw mtcnn_stats.stage1: unexpected keys {sorted(unknown)}")
            stage1.append({k: v for k, v in s.items() if k in MTCNN_STAGE1_KEEP})
        out["stage1"] = stage1
    return out


def _as_float32(values, key: str) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    f = a.astype(np.float32)
    if not np.array_equal(f.astype(np.float64), a):
        raise ValueError(f"raw {key}: values are not exact float32 numbers")
    return f


def _convert_raw(raw: dict) -> dict:
    out = {}
    for key, sub in raw.items():
        if key == "mtcnn_stats":
            out[key] = _mtcnn_stats(sub)
            continue
        arrays = RAW_ARRAYS.get(key)
        if arrays is None:
            raise ValueError(f"unexpected raw output {key!r}")
        conv = {}
        for k, v in sub.items():
            if k in arrays:
                conv[k] = encode_array(_as_float32(v, f"{key}.{k}"))
            elif k == "shape":
                continue  # carried by the encoded array
            else:
                conv[k] = v
        missing = [k for k in arrays if k not in conv]
        if missing:
            raise ValueError(f"raw {key}: missing {missing}")
        if "shape" in sub and list(sub["shape"]) != conv[arrays[0]]["shape"]:
            raise ValueError(f"raw {key}: shape {sub['shape']} != {conv[arrays[0]]['shape']}")
        out[key] = conv
    return out


def command_for(case: dict, npy: str = "<input.npy>") -> list[str]:
    cmd = ["node", "faceapi-ref.js", "--npy", npy, "--task", case["task"], *case["cli"]]
    if case["raw"]:
        cmd.append("--raw")
    return cmd


def run_case(case: dict, ref: Path, samples_dir: Path, tmp: Path) -> dict:
    a = make_input(case["input_spec"], samples_dir)
    npy = tmp / f"{case['case']}.npy"
    np.save(npy, a)
    proc = subprocess.run(command_for(case, str(npy)), cwd=ref, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{case['case']}: tool exited {proc.returncode}:\n{proc.stderr}")
    res = json.loads(proc.stdout)
    npy.unlink()

    inp = res["input"]
    if [inp["height"], inp["width"]] != list(a.shape[:2]) or inp["dtype"] != a.dtype.name:
        raise RuntimeError(f"{case['case']}: tool saw {inp}, expected {a.shape} {a.dtype}")
    if res["task"] != case["task"]:
        raise RuntimeError(f"{case['case']}: tool ran task {res['task']!r}")

    golden = {
        "case": case["case"],
        "command": " ".join(command_for(case)),
        "input_spec": case["input_spec"],
        "input_sha256": array_sha256(a),
        "input_shape": list(a.shape),
        "input_dtype": a.dtype.name,
        "task": case["task"],
        "options": res["options"],
        "versions": {
            k: res[k] for k in ("faceapi_version", "tfjs_core_version", "backend", "node_version")
        },
    }
    if case["task"] in ("ssd", "tiny"):
        detections = [
            {
                "box": {k: d["box"][k] for k in ("x", "y", "width", "height")},
                "score": d["score"],
            }
            for d in res["detections"]
        ]
        for d, b, s in zip(detections, res["boxes"], res["scores"]):
            assert [d["box"][k] for k in ("x", "y", "width", "height")] == b and d["score"] == s
        golden["detections"] = detections
    elif case["task"] == "mtcnn":
        # As printed; "faces" (detection + 5-point landmarks, unshifted landmarks,
        # alignedRect) is not stored: its detection and landmark positions are checked
        # to equal "detections" and "points5".
        for key in ("boxes", "scores", "detections", "points5"):
            golden[key] = res[key]
        n = len(res["detections"])
        assert len(res["boxes"]) == len(res["scores"]) == len(res["points5"]) == n
        assert len(res["faces"]) == n
        for d, b, s, p, f in zip(
            res["detections"], res["boxes"], res["scores"], res["points5"], res["faces"]
        ):
            assert [d["box"][k] for k in ("x", "y", "width", "height")] == b
            assert d["score"] == s
            assert len(p) == 5 and all(len(xy) == 2 for xy in p)
            assert f["detection"] == d and f["landmarks"]["positions"] == p
    else:
        for key in RESULT_KEYS[case["task"]]:
            golden[key] = res[key]
        if "faces" in golden:
            for f, b, s in zip(golden["faces"], res["boxes"], res["scores"]):
                box = f["detection"]["box"]
                assert [box[k] for k in ("x", "y", "width", "height")] == b
                assert f["detection"]["score"] == s
    if case["raw"]:
        golden["raw"] = _convert_raw(res["raw"])
    return golden


def summary(golden: dict) -> str:
    """One short line about a golden's result, for the progress log."""
    if "detections" in golden:
        return f"{len(golden['detections']):3d} detections"
    if "faces" in golden:
        return f"{len(golden['faces']):3d} faces"
    if "landmarks" in golden:
        return "68 landmarks"
    if "descriptor" in golden:
        return f"descriptor |d| {np.linalg.norm(golden['descriptor']):.3f}"
    if "expressions" in golden:
        return "expression " + max(golden["expressions"], key=golden["expressions"].get)
    return f"age {golden['age']:.1f} {golden['gender']}"


def write_golden(golden: dict, out_dir: Path) -> Path:
    path = out_dir / f"{golden['case']}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(golden, indent=1) + "\n")
    os.replace(tmp, path)
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--ref",
        type=Path,
        default=DEFAULT_REF,
        help=f"reference tool folder (default {DEFAULT_REF})",
    )
    ap.add_argument(
        "--samples",
        type=Path,
        default=None,
        help="sample photos folder (default: faceapi_np.samples' own, fetched if missing)",
    )
    ap.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="CASE",
        help="regenerate only this case (repeatable, or comma-separated)",
    )
    ap.add_argument("--jobs", type=int, default=2, help="tool processes at once (default 2)")
    ap.add_argument("--out", type=Path, default=HERE, help="output folder (default: here)")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    args = ap.parse_args(argv)

    if args.list:
        for c in CASES:
            print(f"{c['case']:28s} {' '.join(command_for(c)[2:])}   {c['input_spec']}")
        return 0

    names = {n for o in args.only for n in o.split(",") if n}
    unknown = names - {c["case"] for c in CASES}
    if unknown:
        ap.error(f"unknown case(s): {', '.join(sorted(unknown))}")
    todo = [c for c in CASES if not names or c["case"] in names]

    ref = args.ref.resolve()
    if not (ref / "faceapi-ref.js").is_file():
        ap.error(f"no faceapi-ref.js in {ref} (pass --ref DIR)")
    from faceapi_np import samples

    samples_dir = samples.fetch(args.samples)
    args.out.mkdir(parents=True, exist_ok=True)

    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="faceapi-goldens-") as tmpdir:

        def one(case):
            t = time.monotonic()
            golden = run_case(case, ref, samples_dir, Path(tmpdir))
            path = write_golden(golden, args.out)
            print(
                f"{case['case']:28s} {summary(golden):24s} "
                f"{time.monotonic() - t:6.1f} s  -> {path.name}",
                flush=True,
            )

        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for f in [pool.submit(one, c) for c in todo]:
                f.result()
    print(f"{len(todo)} case(s) in {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
