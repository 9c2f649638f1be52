"""How much a CPU recipe learns per second of training: the measurement that chose the `small` profile.

    python benchmarks/small_recipe.py --data-dir data/cifar10 current wide --threads 1 --out recipes.jsonl
    python benchmarks/small_recipe.py --data-dir data/cifar10 --set subset_per_class=1000 --set lr=0.3 --name mine
    python benchmarks/small_recipe.py --plot benchmarks/results/small_recipe.jsonl --figure benchmarks/small_recipe.png

Each candidate is a set of overrides on the `small` profile, trained with SimCLR (NT-Xent, tau 0.2) from
scratch in a temporary folder, with the kNN monitor (k=200, t=0.1, the full test set against the
training images) every ``eval_every`` epochs. Printed per candidate: the untrained encoder's kNN top-1,
kNN against cumulative training seconds (evaluation excluded), the learning signal (trained minus
untrained, in points), -uniformity and tolerance of the test projections at the end. One JSON line per
candidate goes to ``--out``; ``--plot`` draws the learning signal against training seconds of every
candidate in such a file.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dystress.engine.config import resolve  # noqa: E402
from dystress.engine.train import train  # noqa: E402

CANDIDATES = {  # name -> overrides on the small profile; what was tried is written down in RESULTS.md
    "current": {},
    "current-2000": {"subset_per_class": 2000, "batch_size": 256, "lr": 0.3, "epochs": 6, "eval_every": 1},
    "medium-full": {"subset_per_class": 0, "epochs": 14, "eval_every": 2},  # all 50,000 CIFAR-10 images
    "medium-full-20": {"subset_per_class": 0, "epochs": 20, "eval_every": 2},  # the same, 20 epochs
}


def measure(name: str, overrides: dict, data_dir: str, threads: int) -> dict:
    torch.set_num_threads(threads)
    settings = {"loss": "ntxent", "temperature": 0.2, "eval_every": 2} | overrides
    if data_dir:
        settings["data_dir"] = data_dir
    config = resolve("small", **settings)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"recipe-{name}-") as folder:
        history = train(config, folder, progress=False)
    wall = time.perf_counter() - start
    elapsed, curve = 0.0, []
    for row in history:
        elapsed += row["train_seconds"] or 0.0
        if row["knn_top1"] is not None:
            curve.append({"epoch": row["epoch"], "train_seconds": round(elapsed, 1),
                          "knn_top1": round(row["knn_top1"], 2)})
    final = history[-1]
    return {"name": name, "overrides": overrides, "threads": threads, "untrained": curve[0]["knn_top1"],
            "final": curve[-1]["knn_top1"], "signal": round(curve[-1]["knn_top1"] - curve[0]["knn_top1"], 2),
            "train_seconds": round(elapsed, 1), "wall_seconds": round(wall, 1),
            "neg_uniformity": round(-final["uniformity"], 3), "tolerance": round(final["tolerance"], 3),
            "images_per_s": round(final["images_per_s"], 1), "curve": curve}


def plot(records: Path, figure: Path) -> None:
    """Learning signal (kNN top-1 minus the untrained encoder's) against cumulative training seconds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = [json.loads(line) for line in records.read_text().splitlines() if line.strip()]
    fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    for record in lines:
        curve = record["curve"]
        ax.plot([p["train_seconds"] for p in curve], [p["knn_top1"] - record["untrained"] for p in curve], "o-",
                markersize=3, label=f"{record['name']} ({record['images_per_s']:.0f} img/s, {record['threads']} thr)")
    ax.axhline(15, color="k", linestyle=":", linewidth=1, label="15 points")
    ax.set_ylim(bottom=0, top=max(17.0, ax.get_ylim()[1]))
    ax.set(xlabel="training seconds (1 thread per run, two runs at once)", ylabel="kNN top-1 gain (points)",
           title="Learning signal of candidate small recipes, CIFAR-10 (full test set)")
    ax.legend(fontsize=7, loc="lower right")
    fig.savefig(figure, dpi=110)
    print(f"figure: {figure}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("candidates", nargs="*", help=f"named candidates: {', '.join(CANDIDATES)}")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="an ad-hoc candidate's override (YAML value); repeat for several")
    parser.add_argument("--name", default="custom", help="name of the ad-hoc candidate")
    parser.add_argument("--data-dir", default="", help="CIFAR-10 as an image folder or torchvision's files")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch threads per run")
    parser.add_argument("--out", type=Path, help="append one JSON line per candidate here")
    parser.add_argument("--plot", type=Path, help="draw the curves of this JSON-lines file instead of training")
    parser.add_argument("--figure", type=Path, default=Path("small_recipe.png"), help="where --plot draws")
    args = parser.parse_args(argv)
    if args.plot:
        plot(args.plot, args.figure)
        return
    unknown = [c for c in args.candidates if c not in CANDIDATES]
    if unknown:
        parser.error(f"unknown candidate {', '.join(unknown)}; known: {', '.join(CANDIDATES)}")
    chosen = {name: CANDIDATES[name] for name in args.candidates}
    if args.set:
        pairs = [item.partition("=") for item in args.set]
        bad = [key for key, sep, _ in pairs if not sep]
        if bad:
            parser.error(f"--set takes KEY=VALUE, got {', '.join(bad)}")
        chosen[args.name] = {key: yaml.safe_load(value) for key, _, value in pairs}
    if not chosen:
        parser.error("name a candidate or give --set")
    for name, overrides in chosen.items():
        record = measure(name, overrides, args.data_dir, args.threads)
        points = "  ".join(f"{p['train_seconds']:.0f}s:{p['knn_top1']:.1f}" for p in record["curve"])
        print(f"{name}: untrained {record['untrained']:.2f} -> {record['final']:.2f} (+{record['signal']:.2f} points) "
              f"in {record['train_seconds']:.0f} s of training ({record['images_per_s']:.0f} images/s, "
              f"{args.threads} threads); -uniformity {record['neg_uniformity']:.3f}, tolerance "
              f"{record['tolerance']:.3f}\n  {points}", flush=True)
        if args.out:
            with args.out.open("a") as handle:
                handle.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
