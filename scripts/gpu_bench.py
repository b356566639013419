"""Time every net on the cupy backend beside PyTorch-CUDA (eager fp32) on the same card.

Run by ``scripts/gpu_check.sh``; writes ``gpu-<card>-<date>.md`` with, per net and batch,
the median ms of both, their ratio, faces (or images) per second, and the largest
relative difference of the cupy backend's raw outputs from the NumPy backend's.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import os
import statistics
import sys
import time

import numpy as np

import faceapi_np as fa
from faceapi_np import paths
from faceapi_np.backend import get_backend
from faceapi_np.registry import NET_CLASSES


def benched_nets(torch_nets) -> list:
    """(net class, torch_nets name, batches) for every single-pass net with a PyTorch anchor.

    The anchors are named after the manifests (``face_landmark_68_model`` ->
    ``face_landmark_68``); face nets also run at batch 256, as a gallery build would.
    """
    out = []
    for cls in NET_CLASSES:
        tname = cls.model_name.removesuffix("_model")
        if cls.single_pass and tname in torch_nets.NETS:
            out.append((cls, tname, (1, 8, 64, 256) if cls.role == "face" else (1, 8, 64)))
    return out


def median_ms(fn, sync, runs=20):
    fn()
    fn()
    sync()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def max_rel(a, b):
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    return max(float(np.abs(np.asarray(x) - y).max() / np.abs(y).max()) for x, y in zip(a, b))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--torch-nets", required=True)
    ap.add_argument("--parity", default=None)
    ap.add_argument("--out-dir", default="docs/benchmarks")
    args = ap.parse_args()
    import torch

    spec = importlib.util.spec_from_file_location("torch_nets", args.torch_nets)
    torch_nets = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(torch_nets)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False

    bk, ref = get_backend("cupy"), get_backend("numpy")
    card = torch.cuda.get_device_name(0)
    weights = str(paths.weights_dir())
    rows = []
    for cls, tname, batches in benched_nets(torch_nets):
        name, size = cls.name, cls.default_input_size
        net = fa.nets.get_net(name)
        tnet = (
            torch_nets.NETS[tname](weights, channels_last=True)
            .eval()
            .cuda()
            .to(memory_format=torch.channels_last)
        )
        rng = np.random.default_rng(0)
        x1 = rng.uniform(0, 255, (1, size, size, 3)).astype(np.float32)
        got, want = net.forward(x1, bk), net.forward(x1, ref)
        got = tuple(bk.to_numpy(g) for g in got) if isinstance(got, tuple) else bk.to_numpy(got)
        parity = max_rel(got, want)
        for batch in batches:
            x = rng.uniform(0, 255, (batch, size, size, 3)).astype(np.float32)
            xd = bk.asarray(x)
            ours = median_ms(lambda net=net, xd=xd: net.forward(xd, bk), bk.synchronize)
            xt = torch.from_numpy(x).cuda()
            with torch.inference_mode():
                theirs = median_ms(lambda tnet=tnet, xt=xt: tnet(xt), torch.cuda.synchronize)
            rows.append((name, batch, size, ours, theirs, parity))
            print(
                f"{name:<15} batch {batch:>3}: cupy {ours:8.2f} ms  torch {theirs:8.2f} ms  "
                f"ratio {ours / theirs:5.2f}  {batch / ours * 1e3:9.0f} /s  parity {parity:.1e}",
                flush=True,
            )

    date = datetime.date.today().isoformat()
    slug = card.replace(" ", "-").replace("/", "-")
    path = os.path.join(args.out_dir, f"gpu-{slug}-{date}.md")
    parity_text = (
        open(args.parity).read().strip()
        if args.parity and os.path.exists(args.parity)
        else "not run"
    )
    with open(path, "w") as f:
        f.write(f"# GPU benchmark, {card}, {date}\n\n")
        f.write(
            "`scripts/gpu_check.sh`: faceapi_np cupy backend (float32, TF32 off) beside PyTorch "
            f"{torch.__version__} CUDA eager fp32 channels_last (TF32 off), same weights; median of 20 "
            "runs after warm-up, synchronised.\n\n"
        )
        f.write(
            f"Parity tests on the cupy backend: `{parity_text.splitlines()[-1] if parity_text else ''}`\n\n"
        )
        f.write(
            "| net | batch | input | cupy ms | torch ms | cupy / torch | cupy per s | max rel diff vs NumPy |\n"
        )
        f.write("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
        for name, batch, size, ours, theirs, parity in rows:
            f.write(
                f"| {name} | {batch} | {size} | {ours:.2f} | {theirs:.2f} | {ours / theirs:.2f} | "
                f"{batch / ours * 1e3:.0f} | {parity:.1e} |\n"
            )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
