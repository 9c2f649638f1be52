"""Compute-or-load: results keyed by the configuration, found in results/ or the runs root, or computed.

A run lives in ``<runs root>/<loss>-<hash>/`` (``$DYSTRESS_RUNS``, default ``runs/``, git-ignored); its
layout and rules are ``dystress.engine.run_folder``'s. A *result* is the small part of a run that notebooks need,
without weights: config.json, metrics.csv, manifest.json and the evaluation bundle. ``compute_or_load``
looks for a result first in the repository's ``results/`` (committed reference runs), then in the runs
root, and only trains and evaluates when neither holds a finished, evaluated one (``run_folder.check_result``).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dystress import checks
from dystress.engine import run_folder, sentences
from dystress.engine.config import SENTENCE_DATASETS, TrainConfig, load_data, normalization_statistics
from dystress.engine.data import DataSplits
from dystress.engine.evaluate import evaluation_bundle, load_model
from dystress.engine.run_folder import RunFolderError, read_bundle, read_history, read_json, write_bundle
from dystress.engine.train import train
from dystress.paths import REPO_ROOT


def runs_root() -> Path:
    return Path(os.environ.get("DYSTRESS_RUNS") or REPO_ROOT / "runs")


def results_root() -> Path:
    return Path(os.environ.get("DYSTRESS_RESULTS") or REPO_ROOT / "results")


def run_name(config: TrainConfig) -> str:
    return config.run_name()


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


SOURCE_WORDS = {"results": "from results/ (committed)", "runs": "from the runs folder", "computed": "trained now"}


def provenance(results) -> str:
    """One line saying where each of ``results`` (RunResult) came from, e.g. "27 runs: 27 from results/
    (committed)"; the folders themselves are in each result's ``folder`` and in ``dystress run``'s summary."""
    found = list(results)
    counts = {source: sum(r.source == source for r in found) for source in SOURCE_WORDS}
    parts = ", ".join(f"{n} {SOURCE_WORDS[s]}" for s, n in counts.items() if n)
    return f"{len(found)} runs" + (f": {parts}" if parts else "")


def _load_result(folder: Path, config: TrainConfig, source: str) -> RunResult:
    summary, arrays = read_bundle(folder)
    return RunResult(config, read_history(folder), summary, arrays, read_json(folder, run_folder.MANIFEST), source,
                     folder)


def find_result(config: TrainConfig, committed_only: bool = False) -> RunResult | None:
    """A stored result of ``config``: results/ first (committed), then (unless ``committed_only``) a finished,
    evaluated run in the runs root; a folder whose result is unfinished or stale (``run_folder.check_result``)
    does not count."""
    roots = ((results_root(), "results"),) + (() if committed_only else ((runs_root(), "runs"),))
    for root, source in roots:
        folder = root / run_name(config)
        try:
            run_folder.check_result(folder, config, require_hashes=source == "results")
        except RunFolderError:
            continue
        return _load_result(folder, config, source)
    return None


def compute_or_load(config: TrainConfig, data: DataSplits | None = None, force: bool = False, progress: bool = True,
                    max_points: int = 2000) -> RunResult:
    """Load the stored result of ``config`` or train, evaluate and store it (``force`` retrains from scratch)."""
    checks.integer("max_points", max_points, minimum=1)
    if not force:
        found = find_result(config)
        if found is not None:
            return found
        published = results_root() / run_name(config)
        if published.exists():  # a damaged or edited result is said so, never silently trained over
            try:
                run_folder.check_result(published, config, require_hashes=True)
            except RunFolderError as error:
                raise RunFolderError(f"{error} (or remove {published} to train the run again)") from None
    folder = runs_root() / run_name(config)
    run_folder.check_adoptable(folder, config)
    with run_folder.locked(folder):
        if force:
            for path in folder.iterdir():
                if path.name != run_folder.LOCK:
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
        if config.dataset in SENTENCE_DATASETS:
            sentences.train(config, folder, data=data, progress=progress)
        else:
            train(config, folder, data=data, progress=progress)
        evaluate_run(folder, data=data, max_points=max_points)
    return _load_result(folder, config, "computed")


def evaluate_run(folder: str | Path, data: DataSplits | None = None, max_points: int = 2000) -> tuple[dict, dict]:
    """Evaluate the checkpoint of a run folder into bundle.json / bundle.npz beside it; bundle.json records the
    epoch, the configuration's hash and the checkpoint's sha256 it evaluated (``summary["evaluated"]``)."""
    folder = Path(folder)
    checks.integer("max_points", max_points, minimum=1)
    if not (folder / run_folder.CHECKPOINT).exists():
        raise FileNotFoundError(f"{folder} holds no {run_folder.CHECKPOINT}: train the run first")
    if run_folder.read_config(folder).dataset in SENTENCE_DATASETS:
        return sentences.evaluate(folder, data=data)
    with run_folder.locked(folder):
        model, config, epoch = load_model(folder, device=None)
        evaluated = {"epoch": epoch, "config_hash": config.run_hash(),
                     "checkpoint_sha256": run_folder.sha256_of(folder / run_folder.CHECKPOINT)}
        if data is None:
            data = load_data(config)
        autocast = next(model.parameters()).is_cuda and config.amp
        stats = normalization_statistics(config, data)
        summary, arrays = evaluation_bundle(model, data, config.knn_k, config.knn_t, max_points=max_points,
                                            seed=config.seed, autocast=autocast, stats=stats)
        summary["run"] = run_name(config)
        summary["evaluated"] = evaluated
        summary["normalization"] = {"statistics": config.normalization, "mean": list(stats[0]), "std": list(stats[1])}
        write_bundle(folder, summary, arrays)
    return summary, arrays


def publish(folder: str | Path, destination: Path | None = None, replace: bool = False) -> Path:
    """Copy a finished, evaluated run's result files (no weights) into results/<loss>-<hash>/, the name its own
    configuration gives (``run_folder.publish``)."""
    return run_folder.publish(folder, destination or results_root(), replace=replace)
