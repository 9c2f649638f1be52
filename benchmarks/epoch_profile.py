"""Where one epoch of a profile's recipe goes: seconds per phase, and the FLOP/s of a step against a matmul
peak measured in the same run on the same threads.

    python benchmarks/epoch_profile.py --profile small --threads 2 --steps 30

The run is built as the trainer builds it (``dystress.engine.train.build``: model, loss, optimiser, the
augmentation on the device, the training images as one uint8 tensor). ``--warmup`` steps are run untimed, then
``--steps`` steps are timed phase by phase, each phase ended by a device synchronisation:

    augment    both views of the batch (``SimCLRAugment``)
    forward    both views through the encoder and projection head (``TwoViews``)
    loss       the contrastive loss on the two projections
    backward   ``loss.backward()``
    optimiser  ``zero_grad`` and ``step``

The per-epoch kNN monitor (``Monitor``: encode the training and test images, kNN, uniformity) is timed once
and charged to an epoch as 1 / ``eval_every`` of its time. The FLOPs of a step (forward, loss and backward)
are counted by ``torch.utils.flop_counter.FlopCounterMode``; the peak is the best of ``--peak-repeats`` fp32
(bf16 on CUDA) matmuls of size ``--peak-size``. A JSON record goes to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from dystress.engine.config import PROFILES, load_data, resolve
from dystress.engine.devices import select_device
from dystress.engine.train import build, prepare_step_model

PHASES = ("augment", "forward", "loss", "backward", "optimiser")


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(device: torch.device, size: int, repeats: int) -> float:
    """The best FLOP/s of a (size x size) @ (size x size) matmul: fp32 on a CPU, bf16 on CUDA."""
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        synchronise(device)
        t0 = time.perf_counter()
        a @ b
        synchronise(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * size**3 / best


def step_flops(training) -> int:
    """FLOPs of one step's forward, loss and backward on a fresh batch (no optimiser step)."""
    batch = training.images[: training.config.batch_size]
    v0, v1 = training.augment(batch), training.augment(batch)
    with FlopCounterMode(display=False) as counter:
        z0, z1 = training.step_model(v0, v1)
        training.loss_fn(z0, z1).backward()
    training.optimizer.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def timed_steps(training, steps: int, warmup: int) -> dict[str, list[float]]:
    """Seconds of each phase for ``steps`` steps after ``warmup`` untimed ones."""
    config, device = training.config, training.device
    n = training.images.shape[0]
    generator = torch.Generator().manual_seed(config.seed)
    times = {phase: [] for phase in PHASES}
    training.model.train()
    for step in range(warmup + steps):
        index = torch.randint(0, n, (config.batch_size,), generator=generator).to(device)
        marks = [time.perf_counter()]
        batch = training.images[index]
        v0, v1 = training.augment(batch), training.augment(batch)
        synchronise(device)
        marks.append(time.perf_counter())
        z0, z1 = training.step_model(v0, v1)
        synchronise(device)
        marks.append(time.perf_counter())
        loss = training.loss_fn(z0, z1)
        synchronise(device)
        marks.append(time.perf_counter())
        loss.backward()
        synchronise(device)
        marks.append(time.perf_counter())
        training.optimizer.zero_grad(set_to_none=False)
        training.optimizer.step()
        synchronise(device)
        marks.append(time.perf_counter())
        if step >= warmup:
            for phase, start, end in zip(PHASES, marks, marks[1:]):
                times[phase].append(end - start)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="small", choices=tuple(PROFILES))
    parser.add_argument("--dataset", default="", help="the profile's dataset when empty")
    parser.add_argument("--data-dir", default="")
    parser.add_argument("--model", default="", help="the profile's model when empty")
    parser.add_argument("--batch-size", type=int, default=0, help="the profile's when 0")
    parser.add_argument("--subset-per-class", type=int, default=-1, help="the profile's when negative")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--peak-size", type=int, default=1024)
    parser.add_argument("--peak-repeats", type=int, default=20)
    parser.add_argument("--out", default="")
    args = parser.parse_args(argv)
    for name in ("steps", "peak_size", "peak_repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.warmup < 0 or args.threads < 0:
        parser.error("--warmup and --threads must be at least 0")
    if args.threads:
        torch.set_num_threads(args.threads)
    overrides = {k: v for k, v in (("dataset", args.dataset), ("data_dir", args.data_dir), ("model", args.model),
                                   ("batch_size", args.batch_size)) if v}
    if args.subset_per_class >= 0:
        overrides["subset_per_class"] = args.subset_per_class
    config = resolve(args.profile, **overrides, device=args.device)
    device = select_device(config.device)
    data = load_data(config)
    training = build(config, data, device)
    prepare_step_model(training)

    peak = matmul_peak(device, args.peak_size, args.peak_repeats)
    flops = step_flops(training)
    times = timed_steps(training, args.steps, args.warmup)
    medians = {phase: statistics.median(values) for phase, values in times.items()}
    step = sum(medians.values())
    arithmetic = medians["forward"] + medians["loss"] + medians["backward"]
    steps_per_epoch = len(training.images) // config.batch_size
    t0 = time.perf_counter()
    if training.monitor is not None:
        training.evaluate()
    monitor_seconds = time.perf_counter() - t0 if training.monitor is not None else 0.0
    epoch = {phase: medians[phase] * steps_per_epoch for phase in PHASES}
    epoch["knn monitor (per epoch)"] = monitor_seconds / config.eval_every
    total = sum(epoch.values())

    print(f"{config.dataset}, {len(training.images)} training images, {config.model}, batch {config.batch_size}, "
          f"{steps_per_epoch} steps an epoch, {torch.get_num_threads()} threads, {device}")
    print(f"{'phase':<26}{'ms / step':>10}{'s / epoch':>11}{'share':>8}")
    for phase, seconds in epoch.items():
        per_step = f"{1000 * medians[phase]:.1f}" if phase in medians else "-"
        print(f"{phase:<26}{per_step:>10}{seconds:>11.2f}{seconds / total:>8.1%}")
    print(f"{'epoch':<26}{1000 * step:>10.1f}{total:>11.2f}{1:>8.0%}")
    achieved = flops / arithmetic
    print(f"step FLOPs (forward + loss + backward): {flops / 1e9:.3f} GFLOP; over its {1000 * arithmetic:.1f} ms: "
          f"{achieved / 1e9:.2f} GFLOP/s; over the whole step: {flops / step / 1e9:.2f} GFLOP/s")
    print(f"matmul peak ({args.peak_size}^2, {'bf16' if device.type == 'cuda' else 'fp32'}): {peak / 1e9:.2f} GFLOP/s; "
          f"ratio {achieved / peak:.3f} (arithmetic phases), {flops / step / peak:.3f} (whole step)")
    record = {"profile": args.profile, "config": config.to_dict(), "device": str(device),
              "threads": torch.get_num_threads(), "platform": platform.platform(), "torch": torch.__version__,
              "steps_timed": args.steps, "steps_per_epoch": steps_per_epoch, "ms_per_step": {
                  p: 1000 * m for p, m in medians.items()}, "seconds_per_epoch": epoch,
              "monitor_seconds": monitor_seconds, "eval_every": config.eval_every, "step_flops": flops,
              "step_gflops_per_s": achieved / 1e9, "matmul_peak_gflops_per_s": peak / 1e9,
              "ratio_to_peak": achieved / peak}
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(record, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
