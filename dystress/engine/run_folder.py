"""The run folder: its layout, who may write it, what it records of its history, and when its result is true.

    config.json       the configuration the run trains; written when the folder is adopted, never rewritten
    metrics.csv       one row per epoch (epoch 0: the untrained encoder)
    checkpoint.pt     model, optimiser, loss state, RNG states and metrics after the last epoch (never published)
    manifest.json     provenance: one segment per training call that trained an epoch
    bundle.json/.npz  the evaluation of one checkpoint; bundle.json says which epoch and which checkpoint
    .lock             taken by the process that trains or evaluates the run; holds its pid

The rules that keep a folder truthful:

* adoption: a folder is taken for a run only when it is missing, empty, or holds this run's own config.json;
* one writer: training and evaluation hold the folder's lock; a second process gets ``RunFolderBusy`` naming
  the holder's pid;
* segments: each training call that trains appends a segment to the manifest (start, end, host, device,
  versions, execution options, the epochs it covered), brought up to date after every epoch, so a resumed run
  keeps the record of each part and a rerun of a finished run changes nothing;
* freshness: training an epoch deletes the bundle; a result counts only when the metrics reach the
  configured last epoch and the bundle evaluated that epoch of this configuration (and, where the
  checkpoint is present, that very checkpoint);
* integrity: publishing copies the result files, checks the copy against the source, and records the sha256
  of each in the published manifest (``published.sha256``); a published result whose files no longer match,
  or whose bundle and metrics disagree on the final kNN, is refused, naming the file.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import math
import os
import platform
import secrets
import shutil
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from dystress.atomic import LOCK, TEMPORARY_MARK, exclusive, remove_leftovers, replacing, write_text
from dystress.engine.config import TrainConfig, from_dict
from dystress.paths import REPO_ROOT

CONFIG = "config.json"
METRICS = "metrics.csv"
CHECKPOINT = "checkpoint.pt"
MANIFEST = "manifest.json"
BUNDLE_JSON = "bundle.json"
BUNDLE_NPZ = "bundle.npz"
BUNDLE_FILES = (BUNDLE_JSON, BUNDLE_NPZ)
RESULT_FILES = (CONFIG, METRICS, MANIFEST, BUNDLE_JSON, BUNDLE_NPZ)
COLUMNS = ("epoch", "loss", "lr", "temperature", "tau_pos_mean", "tau_pos_min", "tau_pos_max", "tau_neg_mean",
           "tau_neg_min", "tau_neg_max", "tau_pos_q10", "tau_pos_q50", "tau_pos_q90", "tau_neg_q10", "tau_neg_q50",
           "tau_neg_q90", "knn_top1", "knn_top5", "uniformity", "tolerance", "knn1_top1", "inter_class_uniformity",
           "train_seconds", "eval_seconds", "images_per_s", "sts_dev")  # earlier results lack later columns
TIMING_COLUMNS = ("train_seconds", "eval_seconds", "images_per_s")
# options that change how a run executes, not what it computes: each segment records the values it ran with
EXECUTION_FIELDS = ("device", "amp", "channels_last", "compile", "deterministic", "data_dir", "download")


class RunFolderError(ValueError):
    """A folder that cannot be used, or trusted, as the run folder asked for."""


class RunFolderBusy(RunFolderError):
    """Another process holds the run folder's lock."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_json(folder: Path, name: str) -> dict:
    """A JSON file of the folder as a dict; a clear error when it is missing or not JSON."""
    path = Path(folder) / name
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        raise RunFolderError(f"{folder} holds no {name}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RunFolderError(f"{path} is unreadable or not JSON ({error})") from error
    if not isinstance(value, dict):
        raise RunFolderError(f"{path} does not hold a JSON object")
    return value


def read_config(folder: str | Path):
    """The TrainConfig stored in a run folder's config.json."""
    folder = Path(folder)
    try:
        return from_dict(read_json(folder, CONFIG), strict=False)  # older files hold every loss's parameters, flat
    except RunFolderError:
        raise
    except (ValueError, TypeError) as error:
        raise RunFolderError(f"{folder / CONFIG} is not a dystress configuration ({error})") from error


def _contents(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != LOCK and TEMPORARY_MARK not in p.name)


def check_adoptable(folder: str | Path, config) -> None:
    """Raise unless ``folder`` may hold the run of ``config``: missing, empty, or this run's own folder."""
    folder = Path(folder)
    if not folder.exists():
        return
    if not folder.is_dir():
        raise RunFolderError(f"run folder {folder} exists and is not a folder")
    contents = _contents(folder)
    if not contents:
        return
    if CONFIG not in contents:
        shown = ", ".join(contents[:5]) + (", ..." if len(contents) > 5 else "")
        raise RunFolderError(f"run folder {folder} is not empty ({shown}) and holds no run: choose an empty or new "
                             f"folder")
    stored = read_config(folder)
    if stored.run_hash() != config.run_hash():
        raise RunFolderError(f"run folder {folder} holds another run ({stored.run_name()}), not "
                             f"{config.run_name()}: choose another folder")


def write_config(folder: Path, config) -> None:
    """config.json of a newly adopted folder; an existing one (this run's, by ``check_adoptable``) stays as it is."""
    if not (folder / CONFIG).exists():
        write_text(folder / CONFIG, json.dumps(config.to_dict(), indent=2))


_held: dict[Path, tuple[int, int]] = {}  # folder -> (file descriptor, depth) of the locks this process holds


@contextlib.contextmanager
def locked(folder: str | Path) -> Iterator[Path]:
    """Hold the run folder's lock (created with the folder); re-entrant within a process.

    A second process gets ``RunFolderBusy`` at once, naming the pid written in ``.lock``. The lock is the
    operating system's (``flock``): it ends with the process, so a killed run leaves no stale lock. While it is
    held, temporary files left by killed writers are removed; a folder it created that is still empty at the
    end is removed again.
    """

    folder = Path(folder).resolve()
    if folder in _held:
        fd, depth = _held[folder]
        _held[folder] = (fd, depth + 1)
        try:
            yield folder
        finally:
            fd, depth = _held[folder]
            _held[folder] = (fd, depth - 1)
        return
    created = not folder.exists()
    with exclusive(folder, "run folder", RunFolderBusy) as fd:
        try:
            remove_leftovers(folder)
            _held[folder] = (fd, 1)
            yield folder
        finally:
            _held.pop(folder, None)
            if created and not _contents(folder):  # nothing was written: leave no folder behind
                (folder / LOCK).unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    folder.rmdir()


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def device_description(device) -> str:
    """The device's name (a GPU's model, or the processor, cores and threads)."""
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    processor = platform.processor() or platform.machine()
    return f"cpu ({processor}, {os.cpu_count()} cores, {torch.get_num_threads()} threads)"


def versions() -> dict[str, str]:
    import numpy
    import sklearn
    import torch
    import torchvision

    from dystress.version import __version__

    return {"dystress": __version__, "python": platform.python_version(), "torch": torch.__version__,
            "torchvision": torchvision.__version__, "numpy": numpy.__version__, "scikit_learn": sklearn.__version__}


def _timestamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(seconds))


def new_segment(config, device, first_epoch: int, processes: int = 1) -> dict:
    """The record of one training call, before its first epoch."""
    now = time.time()
    return {"id": secrets.token_hex(4), "started": _timestamp(now), "finished": _timestamp(now),
            "wall_seconds": 0.0, "train_seconds": 0.0,
            "epochs": [first_epoch, first_epoch], "host": platform.node(), "pid": os.getpid(),
            "device": device_description(device), "processes": processes, "threads": torch.get_num_threads(),
            "git_commit": _git_commit(),
            "versions": versions(), "execution": {k: getattr(config, k) for k in EXECUTION_FIELDS},
            "_start": now}


def record_segment(folder: Path, config, segment: dict, last_epoch: int, train_seconds: float) -> None:
    """Bring ``segment`` up to ``last_epoch`` and write the manifest with it (appended the first time)."""
    now = time.time()
    segment.update(finished=_timestamp(now), wall_seconds=round(now - segment["_start"], 1),
                   train_seconds=round(segment["train_seconds"] + train_seconds, 1))
    segment["epochs"][1] = last_epoch
    manifest = read_json(folder, MANIFEST) if (folder / MANIFEST).exists() else {}
    segments = [s for s in manifest.get("segments", []) if s.get("id") != segment["id"]]
    segments.append({k: v for k, v in segment.items() if not k.startswith("_")})
    devices = list(dict.fromkeys(s["device"] for s in segments))
    write_text(folder / MANIFEST, json.dumps({
        "run": config.run_name(), "config_hash": config.run_hash(),
        "epochs_trained": max(s["epochs"][1] for s in segments), "device": "; ".join(devices),
        "train_seconds": round(sum(s["train_seconds"] for s in segments), 1),
        "wall_seconds": round(sum(s["wall_seconds"] for s in segments), 1), "segments": segments,
    }, indent=2, sort_keys=True))


def history_csv(history: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in COLUMNS})
    return buffer.getvalue()


def read_history(run_dir: Path) -> list[dict]:
    """metrics.csv as a list of dicts of floats (None where a cell is empty)."""
    with open(Path(run_dir) / "metrics.csv", newline="") as f:
        return [{k: (float(v) if v != "" else None) for k, v in row.items()} for row in csv.DictReader(f)]


def write_bundle(folder: Path, summary: dict, arrays: dict[str, np.ndarray]) -> None:
    """bundle.json and bundle.npz in ``folder``, each written to a temporary file and renamed."""
    folder.mkdir(parents=True, exist_ok=True)
    with replacing(folder / BUNDLE_NPZ) as tmp:
        np.savez_compressed(tmp, **arrays)
    write_text(folder / BUNDLE_JSON, json.dumps(summary, indent=2, sort_keys=True))


def read_bundle(folder: Path) -> tuple[dict, dict[str, np.ndarray]]:
    summary = json.loads((folder / BUNDLE_JSON).read_text())
    with np.load(folder / BUNDLE_NPZ, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    return summary, arrays


def invalidate_bundle(folder: Path) -> None:
    """Delete the evaluation bundle: the checkpoint it evaluated is about to change."""
    for name in BUNDLE_FILES:
        (folder / name).unlink(missing_ok=True)


def last_epoch(folder: Path) -> int:
    """The last epoch in metrics.csv (0 when it holds none)."""
    history = read_history(folder)
    return int(history[-1]["epoch"]) if history else 0


def published_hashes(folder: Path) -> dict[str, str]:
    """{file: sha256} of the result files a published folder holds besides its manifest."""
    return {name: sha256_of(folder / name) for name in RESULT_FILES if name != MANIFEST}


def check_hashes(folder: Path, require: bool = False) -> None:
    """Refuse a published result whose files no longer match the sha256 its manifest recorded at publishing,
    naming the first such file; ``require``: refuse a folder that records none."""
    recorded = (read_json(folder, MANIFEST).get("published") or {}).get("sha256")
    if recorded is None:
        if require:
            raise RunFolderError(f"{folder} records no sha256 of its files: publish it again from its run folder")
        return
    for name in RESULT_FILES:
        if name == MANIFEST:
            continue
        if name not in recorded:
            raise RunFolderError(f"{folder / MANIFEST} records no sha256 of {name}: publish the run again")
        if sha256_of(folder / name) != recorded[name]:
            raise RunFolderError(f"{folder / name} no longer matches the sha256 recorded when it was published: "
                                 f"the result was changed or damaged; publish it again from its run folder")


def _read_result_files(folder: Path) -> tuple[list[dict], dict]:
    """metrics.csv and both bundle files read whole, or one line naming the file that cannot be read."""
    try:
        history = read_history(folder)
    except (OSError, ValueError, csv.Error, UnicodeDecodeError) as error:
        raise RunFolderError(f"{folder / METRICS} is unreadable ({error}): train the run again") from error
    summary = read_json(folder, BUNDLE_JSON)
    try:
        with np.load(folder / BUNDLE_NPZ, allow_pickle=False) as archive:
            for key in archive.files:
                archive[key]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise RunFolderError(f"{folder / BUNDLE_NPZ} is unreadable ({error}): evaluate the run again") from error
    return history, summary


def check_result(folder: str | Path, config=None, require_hashes: bool = False):
    """Raise ``RunFolderError`` saying why, unless ``folder`` holds a finished, evaluated run whose bundle
    belongs to its last epoch (of ``config`` when given); returns the run's configuration.

    Every result file is read whole; a published folder's files must match the sha256 of its manifest
    (``require_hashes``: and it must record them), and the bundle's kNN top-1 must equal the last metrics row's,
    which the same evaluation wrote."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RunFolderError(f"{folder} is not a folder")
    missing = [name for name in RESULT_FILES if not (folder / name).exists()]
    if CONFIG in missing:
        raise RunFolderError(f"{folder} is not a run folder: it holds no {CONFIG}")
    stored = read_config(folder)
    name = stored.run_name()
    if config is not None and stored.run_hash() != config.run_hash():
        raise RunFolderError(f"{folder} holds run {name}, not {config.run_name()}")
    if missing:
        raise RunFolderError(f"run {name} in {folder} lacks {', '.join(missing)}: train and evaluate it first")
    check_hashes(folder, require_hashes)
    history, summary = _read_result_files(folder)
    trained = int(history[-1]["epoch"]) if history else 0
    if trained != stored.epochs:
        raise RunFolderError(f"run {name} in {folder} is unfinished: {trained} of {stored.epochs} epochs")
    evaluated = summary.get("evaluated") or {}
    if evaluated.get("config_hash") != stored.run_hash() or evaluated.get("epoch") != stored.epochs:
        raise RunFolderError(f"the bundle in {folder} is stale: it evaluated epoch {evaluated.get('epoch')} of "
                             f"configuration {evaluated.get('config_hash')}, the run ends at epoch {stored.epochs} "
                             f"of {stored.run_hash()}; evaluate the run again")
    checkpoint = folder / CHECKPOINT
    if checkpoint.exists() and evaluated.get("checkpoint_sha256") != sha256_of(checkpoint):
        raise RunFolderError(f"the bundle in {folder} evaluated another checkpoint than {checkpoint}; evaluate the "
                             f"run again")
    manifest = read_json(folder, MANIFEST)
    if manifest.get("config_hash") != stored.run_hash() or manifest.get("epochs_trained") != stored.epochs:
        raise RunFolderError(f"the manifest in {folder} does not record this run's {stored.epochs} epochs")
    monitored, bundled = history[-1].get("knn_top1"), (summary.get("knn") or {}).get("top1")
    if monitored is not None and bundled is not None and not math.isclose(monitored, bundled, abs_tol=1e-6):
        raise RunFolderError(f"{folder / BUNDLE_JSON} gives kNN top-1 {bundled} but the last row of {METRICS} "
                             f"{monitored}: one of them was changed; evaluate the run again")
    return stored


def seal(folder: Path) -> None:
    """Record in a published folder's manifest the sha256 of its other result files (``check_hashes``)."""
    manifest = read_json(folder, MANIFEST)
    manifest["published"] = {"sha256": published_hashes(folder)}
    write_text(folder / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))


def publish(folder: str | Path, results: Path, replace: bool = False) -> Path:
    """Copy a finished, evaluated run's result files (no weights) to ``results/<loss>-<hash>``, the name its
    own configuration gives; refuses anything else, and a different result already there unless ``replace``."""
    folder = Path(folder)
    config = check_result(folder)
    target = Path(results) / config.run_name()
    if target.resolve() == folder.resolve():
        raise RunFolderError(f"{folder} is already the published result {target}")
    if target.exists():
        if (target / CONFIG).exists() and read_config(target).run_hash() != config.run_hash():
            raise RunFolderError(f"{target} holds another configuration; remove it by hand if it is wrong")
        same = all((target / n).exists() and sha256_of(target / n) == sha256_of(folder / n)
                   for n in RESULT_FILES if n != MANIFEST)
        if same:
            check_result(target, config, require_hashes=True)
            return target
        if not replace:
            raise RunFolderError(f"{target} already holds a different result of this configuration (finished "
                                 f"{read_json(target, MANIFEST).get('segments', [{}])[-1].get('finished')}); "
                                 f"pass --replace to overwrite it")
    staging = target.with_name(f".{target.name}{TEMPORARY_MARK}{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        for name in RESULT_FILES:
            shutil.copy2(folder / name, staging / name)
        if published_hashes(staging) != published_hashes(folder):
            raise RunFolderError(f"the copy of {folder} in {staging} differs from it: check the disk and publish again")
        seal(staging)
        check_result(staging, config, require_hashes=True)
        if target.exists():
            old = target.with_name(f".{target.name}.old{TEMPORARY_MARK}{os.getpid()}")
            os.replace(target, old)
            os.replace(staging, target)
            shutil.rmtree(old)
        else:
            os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def load_checkpoint(path: Path, config: TrainConfig) -> dict:
    """Read a checkpoint (weights only) and check that it belongs to ``config``."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(f"checkpoint {path} is corrupt or unreadable ({type(error).__name__}: {error}); "
                         f"delete it to start the run over") from error
    if not isinstance(state, dict) or "config_hash" not in state:
        raise ValueError(f"checkpoint {path} is not a dystress checkpoint; delete it to start the run over")
    if state["config_hash"] != config.run_hash():
        raise ValueError(f"checkpoint {path} belongs to another configuration ({state['config_hash']} != "
                         f"{config.run_hash()}); use another run folder")
    return state
