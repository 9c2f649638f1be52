"""Speed of ``dystress.engine.train`` against the plain reference loop, on the same device and data, in one run.

    python benchmarks/bench.py --device cpu --epochs 2             # digits (or CIFAR-10 with --data cifar10)
    python benchmarks/bench.py --device cuda --data cifar10 --data-dir data --epochs 3 --fast

Correctness gates run first (loss, architecture, augmentation statistics); then the reference and the
trainer each train ``--warmup`` + ``--epochs`` epochs with the paper's recipe (ResNet-18 CIFAR stem, batch
128, SGD lr 0.2, momentum 0, wd 5e-4, DySTreSS tau in [0.07, 0.2], kNN k=200 every epoch). Reported:
median training seconds per timed epoch, views per second, evaluation seconds, the first epoch apart
(it includes compilation and warm-up), peak memory, achieved TFLOP/s (3.33 GFLOP per view for forward
and backward of ResNet-18 at 32x32) and, on a GPU, the fraction of the measured bf16 matmul peak; then
``speedup X`` = reference seconds per epoch / trainer seconds per epoch. ``--fast`` adds the labelled
fast mode (batch 512, LARS: a different algorithm). A JSON record goes to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.stats
import torch
from torchvision import transforms

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_loop  # noqa: E402

from dystress.engine.augment import SimCLRAugment  # noqa: E402
from dystress.engine.config import resolve  # noqa: E402
from dystress.engine.data import load_dataset  # noqa: E402
from dystress.engine.devices import select_device  # noqa: E402
from dystress.engine.models import build_model  # noqa: E402
from dystress.engine.train import train  # noqa: E402
from dystress.mathematics import metrics  # noqa: E402
from dystress.mathematics.losses import DySTreSSLoss  # noqa: E402

GFLOP_PER_VIEW = 3.33


def gate_loss() -> float:
    """Largest difference between the reference loss and DySTreSSLoss (values and gradients, float64)."""
    worst = 0.0
    for n, d, seed in ((4, 8, 0), (16, 32, 1), (64, 128, 2)):
        g = torch.Generator().manual_seed(seed)
        z0, z1 = (torch.randn(n, d, generator=g, dtype=torch.float64).requires_grad_() for _ in range(2))
        ours = DySTreSSLoss(0.07, 0.2)(z0, z1)
        ga = torch.autograd.grad(ours, (z0, z1))
        normalize = torch.nn.functional.normalize  # the reference model normalises its projections
        theirs = reference_loop.dystress_loss(normalize(z0, dim=1), normalize(z1, dim=1), 0.07, 0.2)
        gb = torch.autograd.grad(theirs, (z0, z1))
        worst = max(worst, abs(ours.item() - theirs.item()), *((a - b).abs().max().item() for a, b in zip(ga, gb)))
    return worst


def gate_architecture() -> tuple[bool, int]:
    ours = [tuple(p.shape) for p in build_model("resnet18").parameters()]
    theirs = [tuple(p.shape) for p in reference_loop.Model().parameters()]
    return ours == theirs, sum(p.numel() for p in build_model("resnet18").parameters())


def gate_augmentation(n: int = 20000) -> dict:
    """KS p-values of crop area / aspect ratio against torchvision, and the Bernoulli rates."""
    p = SimCLRAugment().sample(n, 32, 32, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    boxes = np.array([transforms.RandomResizedCrop.get_params(torch.zeros(3, 32, 32), (0.08, 1.0), (3 / 4, 4 / 3))
                      for _ in range(n)], dtype=np.float64)
    h, w = p.height.double().numpy(), p.width.double().numpy()
    return {"area_ks_p": scipy.stats.ks_2samp(h * w, boxes[:, 2] * boxes[:, 3]).pvalue,
            "aspect_ks_p": scipy.stats.ks_2samp(np.log(w / h), np.log(boxes[:, 3] / boxes[:, 2])).pvalue,
            "flip_rate": p.flip.float().mean().item(), "jitter_rate": p.jitter.float().mean().item(),
            "gray_rate": p.gray.float().mean().item()}


def bf16_peak_tflops(device: torch.device) -> float | None:
    """Measured dense bf16 matmul throughput (8192^3), the denominator of the MFU."""
    if device.type != "cuda":
        return None
    a = torch.randn(8192, 8192, device=device, dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(20):
        a @ b
    torch.cuda.synchronize()
    return 20 * 2 * 8192**3 / (time.perf_counter() - t0) / 1e12


def knn_seconds(device: torch.device, n_train: int = 50_000, n_test: int = 10_000, dim: int = 512) -> float:
    g = torch.Generator(device=device).manual_seed(0)
    bank = torch.randn(n_train, dim, device=device, generator=g)
    queries = torch.randn(n_test, dim, device=device, generator=g)
    labels = torch.randint(0, 10, (n_train,), device=device, generator=g)
    test_labels = torch.randint(0, 10, (n_test,), device=device, generator=g)
    metrics.knn_accuracy(bank[:1000], labels[:1000], queries[:100], test_labels[:100], k=200)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    metrics.knn_accuracy(bank, labels, queries, test_labels, k=200, chunk_size=2500)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def summarise(name: str, history: list[dict], warmup: int, batch_size: int, n_train: int, peak: float | None,
              device: torch.device) -> dict:
    timed = [r for r in history if r["epoch"] > warmup and r.get("train_seconds")]
    seconds = statistics.median(r["train_seconds"] for r in timed)
    views = 2 * batch_size * (n_train // batch_size) / seconds
    tflops = views * GFLOP_PER_VIEW / 1000
    out = {"name": name, "seconds_per_epoch": seconds, "views_per_second": views, "tflops": tflops,
           "first_epoch_seconds": next(r["train_seconds"] for r in history if r["epoch"] == 1),
           "eval_seconds": statistics.median(r["eval_seconds"] for r in timed), "timed_epochs": len(timed),
           "final_knn_top1": history[-1]["knn_top1"]}
    if peak:
        out["mfu"] = tflops / peak
    if device.type == "cuda":
        out["peak_memory_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
        torch.cuda.reset_peak_memory_stats(device)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--data", default="digits", choices=("digits", "cifar10"))
    parser.add_argument("--data-dir", default="", help="CIFAR-10 location (image folder or torchvision files)")
    parser.add_argument("--subset", type=int, default=0, help="training images (0: 512 on a CPU, all on a GPU)")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs")
    parser.add_argument("--warmup", type=int, default=1, help="untimed epochs first (compilation, caches)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--workers", type=int, default=4, help="DataLoader workers of the reference")
    parser.add_argument("--compile", action="store_true", help="torch.compile the trainer's model")
    parser.add_argument("--fast", action="store_true", help="also time the fast mode: batch 512 with LARS")
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--out", default="", help="JSON record (default benchmarks/results/bench-<device>.json)")
    args = parser.parse_args(argv)

    device = select_device(args.device)
    subset = args.subset or (512 if device.type == "cpu" else 0)
    record = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else
              f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)",
              "torch": torch.__version__,
              "command": " ".join(["python", "benchmarks/bench.py", *(argv if argv is not None else sys.argv[1:])]),
              "data": args.data, "subset": subset, "batch_size": args.batch_size}
    print(f"device {record['device']}, torch {torch.__version__}")

    loss_gap = gate_loss()
    same_architecture, parameters = gate_architecture()
    augmentation = gate_augmentation()
    record["gates"] = {"loss_max_difference": loss_gap, "same_architecture": same_architecture,
                       "parameters": parameters, "augmentation": augmentation}
    print(f"gate: loss (values and gradients, float64) max difference {loss_gap:.1e} "
          f"{'PASS' if loss_gap < 1e-10 else 'FAIL'}")
    print(f"gate: architecture {'PASS' if same_architecture else 'FAIL'} ({parameters:,} parameters)")
    print("gate: augmentation crop area KS p {area_ks_p:.3f}, aspect KS p {aspect_ks_p:.3f}, flip {flip_rate:.3f}, "
          "jitter {jitter_rate:.3f}, grayscale {gray_rate:.3f}".format(**augmentation))
    if loss_gap >= 1e-10 or not same_architecture or min(augmentation["area_ks_p"], augmentation["aspect_ks_p"]) < 1e-3:
        print("a correctness gate failed: no timing")
        return 1

    data = load_dataset(args.data, args.data_dir, subset_total=subset)
    n_train = len(data.train)
    print(f"data: {data.describe()}")
    peak = bf16_peak_tflops(device)
    if peak:
        record["bf16_peak_tflops"] = peak
        print(f"measured bf16 matmul peak {peak:.0f} TFLOP/s")
    epochs = args.warmup + args.epochs
    results = []
    if not args.skip_reference:
        history = reference_loop.run(data.train.images, data.train.labels, data.test.images, data.test.labels,
                                     epochs, str(device), args.batch_size, args.workers)
        results.append(summarise("reference", history, args.warmup, args.batch_size, n_train, peak, device))
    modes = [("dystress (faithful)", dict(batch_size=args.batch_size))]
    if args.fast:
        modes.append(("dystress (fast: batch 512, LARS)",
                      dict(batch_size=512, optimizer="lars", lr=0.8, momentum=0.9)))
    for name, overrides in modes:
        config = resolve("paper", dataset=args.data, data_dir=args.data_dir, subset_total=subset, epochs=epochs,
                         eval_every=1, device=device.type, compile=args.compile, **overrides)
        with tempfile.TemporaryDirectory() as folder:
            history = train(config, folder, data=data, progress=False)
        for row in history[1:]:
            print(f"{name} epoch {row['epoch']}: loss {row['loss']:.4f}, kNN {row['knn_top1']:.2f}%, "
                  f"train {row['train_seconds']:.1f} s, eval {row['eval_seconds']:.1f} s")
        results.append(summarise(name, history[1:], args.warmup, overrides["batch_size"], n_train, peak, device))
    record["results"] = results
    record["knn_50000x10000_seconds"] = knn_seconds(device)
    record["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

    print(f"\n{'':<34}{'s/epoch':>9}{'views/s':>10}{'TFLOP/s':>9}{'eval s':>8}{'1st epoch s':>12}")
    for r in results:
        print(f"{r['name']:<34}{r['seconds_per_epoch']:>9.2f}{r['views_per_second']:>10.0f}{r['tflops']:>9.3f}"
              f"{r['eval_seconds']:>8.2f}{r['first_epoch_seconds']:>12.2f}" +
              (f"   MFU {r['mfu']:.1%}" if "mfu" in r else ""))
    print(f"kNN over 50,000 x 10,000 features (512-d, k=200): {record['knn_50000x10000_seconds']:.2f} s")
    if not args.skip_reference:
        record["speedup"] = results[0]["seconds_per_epoch"] / results[1]["seconds_per_epoch"]
        print(f"speedup {record['speedup']:.2f}")
    out = Path(args.out or Path(__file__).resolve().parent / "results" / f"bench-{device.type}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2))
    print(f"record: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
