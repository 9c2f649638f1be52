"""DySTreSS loss against NT-Xent: forward + backward time per call, batch 128 to 1024, in one run.

    python benchmarks/loss_bench.py                 # CPU, and CUDA when available
    python benchmarks/loss_bench.py --devices cpu --repeats 50

Embeddings are (N, 128) fp32, as after the projection head; the DySTreSS loss adds the per-pair
temperature tau(s) to the same InfoNCE core. Printed: median milliseconds per forward+backward and the
ratio DySTreSS / NT-Xent, plus the reference loss of ``reference_loop.py`` (boolean-mask gathering).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_loop  # noqa: E402

from dystress.mathematics.losses import DySTreSSLoss, NTXentLoss  # noqa: E402


def time_loss(fn, n: int, device: torch.device, repeats: int) -> float:
    g = torch.Generator(device=device).manual_seed(0)
    z0 = torch.randn(n, 128, device=device, generator=g, requires_grad=True)
    z1 = torch.randn(n, 128, device=device, generator=g, requires_grad=True)
    samples = []
    for k in range(repeats + 3):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn(z0, z1).backward()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if k >= 3:
            samples.append(1000 * (time.perf_counter() - t0))
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", default="cpu,cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batches", default="128,256,512,1024")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    losses = {"NT-Xent": NTXentLoss(0.2, check_inputs=False), "DySTreSS": DySTreSSLoss(0.07, 0.2, check_inputs=False),
              "reference DySTreSS": lambda a, b: reference_loop.dystress_loss(
                  torch.nn.functional.normalize(a, dim=1), torch.nn.functional.normalize(b, dim=1))}
    print(f"torch {torch.__version__}; median ms per forward + backward, embeddings (N, 128) fp32")
    for device_name in args.devices.split(","):
        device = torch.device(device_name)
        print(f"\n{device_name:<6}{'N':>6}" + "".join(f"{name:>20}" for name in losses) + f"{'DySTreSS/NT-Xent':>18}")
        for n in (int(b) for b in args.batches.split(",")):
            ms = {name: time_loss(fn, n, device, args.repeats) for name, fn in losses.items()}
            print(f"{'':<6}{n:>6}" + "".join(f"{ms[name]:>20.3f}" for name in losses) +
                  f"{ms['DySTreSS'] / ms['NT-Xent']:>18.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
