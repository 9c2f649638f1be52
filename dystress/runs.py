"""Run folders keyed by the configuration's hash, compute-or-load, and result bundles.

A run lives in ``<runs root>/<loss>-<hash>/`` (``$DYSTRESS_RUNS``, default ``runs/``, git-ignored):
config.json, metrics.csv, checkpoint.pt, manifest.json and, once evaluated, bundle.{json,npz}.
A *result* is the small part of a run that notebooks need, without weights: config.json, metrics.csv,
manifest.json and the evaluation bundle. ``compute_or_load`` looks for a result first in the
repository's ``results/`` (committed reference runs), then in the runs root, and only trains and
evaluates when neither holds one.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import write_text
from .config import TrainConfig, from_dict
from .data import DataSplits
from .evaluate import evaluation_bundle, read_bundle, write_bundle
from .train import load_data, load_model, read_history, select_device, train

RESULT_FILES = ("config.json", "metrics.csv", "manifest.json", "bundle.json", "bundle.npz")


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def runs_root() -> Path:
    return Path(os.environ.get("DYSTRESS_RUNS") or repo_root() / "runs")


def results_root() -> Path:
    return Path(os.environ.get("DYSTRESS_RESULTS") or repo_root() / "results")


def run_name(config: TrainConfig) -> str:
    return f"{config.loss}-{config.run_hash()}"


@dataclass
class RunResult:
    """What a notebook renders: the config, per-epoch metrics, the evaluation summary and arrays."""

    config: TrainConfig
    history: list[dict]
    summary: dict
    arrays: dict[str, np.ndarray]
    manifest: dict
    source: str  # "results", "runs" or "computed"
    folder: Path


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo_root(), capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def device_description(device: str) -> str:
    import torch

    dev = select_device(device)
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    processor = platform.processor() or platform.machine()
    return f"cpu ({processor}, {os.cpu_count()} cores, {torch.get_num_threads()} threads)"


def manifest(config: TrainConfig, started: float, finished: float, history: list[dict]) -> dict:
    import sklearn
    import torch
    import torchvision

    from . import __version__

    return {
        "run": run_name(config), "config_hash": config.run_hash(), "dystress": __version__, "git_commit": _git_commit(),
        "python": platform.python_version(), "torch": torch.__version__, "torchvision": torchvision.__version__,
        "numpy": np.__version__, "scikit_learn": sklearn.__version__, "device": device_description(config.device),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(finished)),
        "wall_seconds": round(finished - started, 1),
        "train_seconds": round(sum(r.get("train_seconds") or 0 for r in history), 1),
    }


def write_manifest(folder: Path, config: TrainConfig, started: float, finished: float, history: list[dict]) -> None:
    """manifest.json of a run: versions, git commit, device, start and end times, training seconds."""
    content = manifest(config, started, finished, history)
    write_text(Path(folder) / "manifest.json", json.dumps(content, indent=2, sort_keys=True))


def _result_folder_matches(folder: Path, config: TrainConfig) -> bool:
    if not all((folder / name).exists() for name in RESULT_FILES):
        return False
    stored = json.loads((folder / "config.json").read_text())
    return from_dict(stored).run_hash() == config.run_hash()


def _load_result(folder: Path, config: TrainConfig, source: str) -> RunResult:
    summary, arrays = read_bundle(folder)
    return RunResult(config, read_history(folder), summary, arrays,
                     json.loads((folder / "manifest.json").read_text()), source, folder)


def find_result(config: TrainConfig) -> RunResult | None:
    """A stored result of ``config``: results/ first (committed), then a finished run in the runs root."""
    name = run_name(config)
    if _result_folder_matches(results_root() / name, config):
        return _load_result(results_root() / name, config, "results")
    run = runs_root() / name
    if _result_folder_matches(run, config):
        return _load_result(run, config, "runs")
    return None


def compute_or_load(config: TrainConfig, data: DataSplits | None = None, force: bool = False, progress: bool = True,
                    max_points: int = 2000) -> RunResult:
    """Load the stored result of ``config`` or train, evaluate and store it (``force`` retrains from scratch)."""
    if not force:
        found = find_result(config)
        if found is not None:
            return found
    folder = runs_root() / run_name(config)
    if force and folder.exists():
        shutil.rmtree(folder)
    started = time.time()
    history = train(config, folder, data=data, progress=progress)
    write_manifest(folder, config, started, time.time(), history)
    evaluate_run(folder, data=data, max_points=max_points)
    return _load_result(folder, config, "computed")


def evaluate_run(folder: str | Path, data: DataSplits | None = None, max_points: int = 2000) -> tuple[dict, dict]:
    """Evaluate the trained model of a run folder and store bundle.json / bundle.npz beside it."""
    folder = Path(folder)
    if not (folder / "checkpoint.pt").exists():
        raise FileNotFoundError(f"{folder} holds no checkpoint.pt: train the run first")
    model, config = load_model(folder, device=None)
    if data is None:
        data = load_data(config)
    autocast = next(model.parameters()).is_cuda and config.amp
    summary, arrays = evaluation_bundle(model, data, config.knn_k, config.knn_t, max_points=max_points,
                                        seed=config.seed, autocast=autocast)
    summary["run"] = run_name(config)
    write_bundle(folder, summary, arrays)
    return summary, arrays


def publish(folder: str | Path, destination: Path | None = None) -> Path:
    """Copy a finished, evaluated run's result files (no weights) into results/<run name>/ for committing."""
    folder = Path(folder)
    missing = [name for name in RESULT_FILES if not (folder / name).exists()]
    if missing:
        raise FileNotFoundError(f"{folder} lacks {', '.join(missing)}: train and evaluate the run first")
    target = (destination or results_root()) / folder.name
    target.mkdir(parents=True, exist_ok=True)
    for name in RESULT_FILES:
        shutil.copy2(folder / name, target / name)
    return target
