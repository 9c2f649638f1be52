import csv
import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from dystress.engine import config as config_module
from dystress.engine import evaluate as evaluate_module
from dystress.engine import train as train_module
from dystress.engine.augment import normalize
from dystress.engine.config import resolve
from dystress.engine.data import load_dataset
from dystress.engine.evaluate import load_model
from dystress.engine.run_folder import TIMING_COLUMNS, read_history
from dystress.engine.train import LARS, TrainingDiverged, learning_rate, train
from dystress.mathematics.metrics import knn_accuracy


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DYSTRESS_CACHE", str(tmp_path / "cache"))


def tiny(**overrides):
    settings = dict(subset_total=256, epochs=3, eval_every=1, knn_k=10)
    return resolve("smoke", **(settings | overrides))


def deterministic_part(history):
    return [{k: v for k, v in row.items() if k not in TIMING_COLUMNS} for row in history]


def test_training_writes_metrics_checkpoint_and_config(tmp_path):
    config = tiny()
    history = train(config, tmp_path / "run", progress=False)
    assert [row["epoch"] for row in history] == [0, 1, 2, 3]
    assert history[0]["loss"] is None and history[0]["knn_top1"] is not None  # the untrained baseline
    for row in history[1:]:
        assert math.isfinite(row["loss"]) and row["knn_top1"] is not None
        assert 0.07 - 1e-6 <= row["tau_neg_min"] <= row["tau_neg_mean"] <= row["tau_neg_max"] <= 0.2 + 1e-6
        assert 0.07 - 1e-6 <= row["tau_pos_min"] <= row["tau_pos_max"] <= 0.2 + 1e-6
        for kind in ("pos", "neg"):  # the last batch's quantiles lie inside the epoch's range, in order
            q10, q50, q90 = (row[f"tau_{kind}_q{q}"] for q in (10, 50, 90))
            assert row[f"tau_{kind}_min"] - 1e-6 <= q10 <= q50 <= q90 <= row[f"tau_{kind}_max"] + 1e-6
        assert row["lr"] == pytest.approx(learning_rate(config, row["epoch"] - 1))
    for row in history:
        assert 0 <= row["knn1_top1"] <= 100 and row["inter_class_uniformity"] <= 0
    assert read_history(tmp_path / "run")[1]["loss"] == pytest.approx(history[1]["loss"])
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert state["config_hash"] == config.run_hash() and len(state["history"]) == 4
    model, loaded, epoch = load_model(tmp_path / "run")
    assert loaded == config and epoch == 3 and not model.training


def test_temperature_quantiles_are_those_of_the_batch():
    from dystress.mathematics.losses import DySTreSSLoss

    torch.manual_seed(0)
    z0, z1 = torch.nn.functional.normalize(torch.randn(2, 16, 8), dim=-1)
    out = DySTreSSLoss(0.07, 0.5)(z0, z1, return_details=True)
    row = train_module.temperature_quantiles(out)
    t = out.temperature.double()
    pos = t[torch.arange(t.shape[0]), out.positive_index].numpy()
    neg = t[out.negative_mask].numpy()
    import numpy as np

    for q in (10, 50, 90):
        assert row[f"tau_pos_q{q}"] == pytest.approx(np.quantile(pos, q / 100), abs=1e-6)
        assert row[f"tau_neg_q{q}"] == pytest.approx(np.quantile(neg, q / 100), abs=1e-6)
    assert neg.size == 32 * 30  # 2N anchors, 2N - 2 negatives each


def test_the_monitor_measures_local_and_global_structure():
    torch.manual_seed(0)
    data = load_dataset("digits", subset_total=200, seed=0)
    config = tiny()
    from dystress.engine.models import build_model
    from dystress.mathematics.metrics import inter_class_uniformity

    model = build_model("small_cnn").eval()
    images = data.train.images
    row = evaluate_module.knn_monitor(model, images, data.train.labels, data.test.images, data.test.labels, config,
                                   len(data.train.classes), autocast=False)
    bank, _ = evaluate_module.encode(model, images)
    queries, embeddings = evaluate_module.encode(model, data.test.images)
    nearest = (queries @ bank.T).argmax(dim=1)  # the class of the single most similar training feature
    expected = 100 * (data.train.labels[nearest] == data.test.labels).double().mean().item()
    assert row["knn1_top1"] == pytest.approx(expected, abs=1e-4)  # one test image is 0.28 points
    assert row["inter_class_uniformity"] == pytest.approx(inter_class_uniformity(embeddings, data.test.labels))


def test_learning_rate_schedule():
    c = tiny(epochs=10, lr=0.2, warmup_epochs=2)
    assert [round(learning_rate(c, e), 6) for e in (0, 1, 2)] == [0.1, 0.2, 0.2]
    assert learning_rate(c, 6) == pytest.approx(0.1)
    plain = tiny(epochs=4, lr=0.2)
    assert [learning_rate(plain, e) for e in range(4)] == pytest.approx(
        [0.5 * 0.2 * (1 + math.cos(math.pi * e / 4)) for e in range(4)])


def test_stopping_and_resuming_gives_the_uninterrupted_run(tmp_path):
    config = tiny(epochs=4)
    full = train(config, tmp_path / "full", progress=False)
    train(config, tmp_path / "parts", progress=False, stop_after=1)
    train(config, tmp_path / "parts", progress=False, stop_after=2)
    resumed = train(config, tmp_path / "parts", progress=False)
    assert deterministic_part(resumed) == deterministic_part(full)
    segments = json.loads((tmp_path / "parts" / "manifest.json").read_text())["segments"]
    assert [s["epochs"] for s in segments] == [[0, 1], [1, 3], [3, 4]]
    a = torch.load(tmp_path / "full" / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "parts" / "checkpoint.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def _cli(run_dir, epochs):
    return [sys.executable, "-m", "dystress.cli", "train", "--profile", "smoke", "--subset_total", "256",
            "--eval_every", "1", "--knn_k", "10", "--epochs", str(epochs), "--run-dir", str(run_dir)]


def _rows(path):
    if not path.exists():
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def test_sigkill_then_the_same_command_resumes_to_the_same_result(tmp_path):
    env = os.environ | {"TQDM_DISABLE": "1", "OMP_NUM_THREADS": "2"}
    subprocess.run(_cli(tmp_path / "whole", 6), env=env, check=True, capture_output=True)
    process = subprocess.Popen(_cli(tmp_path / "killed", 6), env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(_rows(tmp_path / "killed" / "metrics.csv")) < 3 and time.time() < deadline:  # epochs 0..2 written
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    interrupted = _rows(tmp_path / "killed" / "metrics.csv")
    assert 3 <= len(interrupted) < 7, "the run must be killed part way"
    finished = subprocess.run(_cli(tmp_path / "killed", 6), env=env, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    whole, resumed = _rows(tmp_path / "whole" / "metrics.csv"), _rows(tmp_path / "killed" / "metrics.csv")
    assert [r["epoch"] for r in resumed] == [str(e) for e in range(7)]  # no missing or duplicated rows
    strip = lambda rows: [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows]  # noqa: E731
    assert strip(resumed) == strip(whole)
    assert not list((tmp_path / "killed").glob(".*.tmp*"))
    segments = json.loads((tmp_path / "killed" / "manifest.json").read_text())["segments"]
    assert len(segments) == 2 and segments[0]["epochs"][0] == 0 and segments[1]["epochs"][1] == 6
    assert segments[0]["epochs"][1] == segments[1]["epochs"][0] == len(interrupted) - 1


CONFIGS = {
    "ntxent": dict(loss="ntxent"),
    "dystress-shifted": dict(tau_shape="shifted_cosine", tau_shift=-0.4, tau_scale=0.7),
    "dystress-differentiated": dict(detach_tau=False),
    "dcl-weighted-dynamic": dict(loss="dcl", weighted=True, dynamic_tau=True),
    "hard": dict(loss="hard", quantile=0.25),
    "macl": dict(loss="macl"),
    "isogclr": dict(loss="isogclr"),
    "kukleva": dict(loss="ntxent", tau_schedule="kukleva", schedule_t_max=2),
    "moco-dystress": dict(negatives="queue", queue_size=128),
    "lars": dict(optimizer="lars", lr=0.5),
}


@pytest.mark.parametrize("name", CONFIGS)
def test_every_loss_method_and_optimiser_trains(name, tmp_path):
    config = tiny(epochs=2, **CONFIGS[name])
    history = train(config, tmp_path / name, progress=False)
    assert all(math.isfinite(r["loss"]) for r in history[1:])
    if name == "kukleva":
        assert history[1]["tau_pos_min"] < history[1]["tau_pos_max"]  # a new temperature within the epoch
    if name == "macl":
        assert history[1]["tau_pos_min"] != history[1]["tau_pos_max"]  # one tau per batch, changing with A
    if name == "isogclr":
        state = torch.load(tmp_path / name / "checkpoint.pt", weights_only=True)["loss"]
        assert state["tau"].min() >= 0.05 and state["tau"].max() <= 1.0 and state["seen"].any()
    if name == "moco-dystress":
        state = torch.load(tmp_path / name / "checkpoint.pt", weights_only=True)
        assert state["key_model"] is not None and state["loss"]["memory_bank.filled"].all()


def test_the_kukleva_schedule_takes_the_fractional_epoch_of_every_step(tmp_path):
    t_max = 0.75  # a half period shorter than an epoch: a per-epoch schedule could not follow it
    config = tiny(epochs=2, loss="ntxent", tau_schedule="kukleva", schedule_t_max=t_max)
    history = train(config, tmp_path / "run", progress=False)
    steps = 256 // config.batch_size
    assert steps >= 4
    for row in history[1:]:
        fractional = [row["epoch"] - 1 + k / steps for k in range(steps)]
        taus = [0.1 + 0.45 * (1 + math.cos(math.pi * e / t_max)) for e in fractional]  # the closed form
        assert row["temperature"] == pytest.approx(sum(taus) / steps)
        assert row["tau_pos_mean"] == pytest.approx(sum(taus) / steps, rel=1e-5)  # as many pairs every step
        assert (row["tau_pos_min"], row["tau_pos_max"]) == pytest.approx((min(taus), max(taus)), rel=1e-5)


@pytest.mark.parametrize("overrides,data_dir,message", [
    (dict(dataset="mnist"), None, "dataset must be one of"),
    (dict(loss="infonce"), None, "loss must be one of"),
    (dict(tau_min=0.3, tau_max=0.2), None, "tau_min must be <= tau_max"),
    (dict(temperature=0.0), None, "temperature"),
    (dict(batch_size=4096), None, "batch_size=4096 exceeds the 256 training images"),
    (dict(dataset="folder"), "missing", "does not exist"),
    (dict(dataset="folder"), "empty", "no images found"),
    (dict(dataset="folder"), "broken", "cannot read image"),
    (dict(tau_maxx=0.3), None, "unknown config key 'tau_maxx'"),
    (dict(epochs="3"), None, "config key 'epochs' must be of type int"),
    (dict(negatives="queue", loss="dcl"), None, "negatives 'queue' supports"),
])
def test_bad_input_stops_before_any_file_is_written(overrides, data_dir, message, tmp_path):
    if data_dir:
        (tmp_path / "empty").mkdir()
        (tmp_path / "broken").mkdir()
        (tmp_path / "broken" / "x.png").write_bytes(b"garbage")
        overrides = overrides | {"data_dir": str(tmp_path / data_dir), "subset_total": 0}
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        train(tiny(**overrides), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_corrupt_or_foreign_checkpoint_stops_before_training(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps(tiny().to_dict()))
    (run / "checkpoint.pt").write_bytes(b"\x00not a checkpoint")
    with pytest.raises(ValueError, match="checkpoint .* is corrupt or unreadable"):
        train(tiny(), run, progress=False)
    assert sorted(p.name for p in run.iterdir() if p.name != ".lock") == ["checkpoint.pt", "config.json"]
    train(tiny(epochs=1), tmp_path / "other", progress=False)
    (tmp_path / "other" / "config.json").write_text(json.dumps(tiny(epochs=2).to_dict()))
    with pytest.raises(ValueError, match="belongs to another configuration"):
        train(tiny(epochs=2), tmp_path / "other", progress=False)


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    original, calls = train_module.contrastive_loss, []

    def poisoned(*args, **kwargs):
        out = original(*args, **kwargs)
        calls.append(1)
        if len(calls) > 8:  # in epoch 3 (4 steps per epoch)
            out.loss = out.loss * float("nan")
        return out

    monkeypatch.setattr(train_module, "contrastive_loss", poisoned)
    with pytest.raises(TrainingDiverged, match=r"non-finite loss \(nan\) in epoch 3; the last good checkpoint "
                                               r"\(epoch 2\) is kept"):
        train(tiny(epochs=4), tmp_path / "run", progress=False)
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert state["history"][-1]["epoch"] == 2
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
    assert [r["epoch"] for r in read_history(tmp_path / "run")] == [0, 1, 2]


def test_compiled_model_trains_like_the_eager_one(tmp_path):
    config = tiny(epochs=1)
    eager = train(config, tmp_path / "eager", progress=False)
    compiled = train(config.replace(compile=True), tmp_path / "compiled", progress=False)
    assert compiled[-1]["loss"] == pytest.approx(eager[-1]["loss"], rel=1e-3)  # same data, augmentations, weights
    assert load_model(tmp_path / "compiled")[1] == config.replace(compile=True)  # the plain model was saved


def test_lars_applies_the_trust_ratio():
    w = torch.nn.Parameter(torch.tensor([3.0, 4.0]))
    b = torch.nn.Parameter(torch.tensor([1.0]))
    opt = LARS([{"params": [w]}, {"params": [b], "lars": False, "weight_decay": 0.0}], lr=0.1, momentum=0.0,
               weight_decay=0.5, eta=0.02)
    w.grad, b.grad = torch.tensor([1.0, 0.0]), torch.tensor([2.0])
    opt.step()
    d = torch.tensor([1.0, 0.0]) + 0.5 * torch.tensor([3.0, 4.0])
    expected = torch.tensor([3.0, 4.0]) - 0.1 * d * (0.02 * 5.0 / d.norm())
    assert torch.allclose(w.detach(), expected) and torch.allclose(b.detach(), torch.tensor([0.8]))


def test_small_cnn_on_real_cifar10_beats_raw_pixel_knn(cifar10_subset, tmp_path):
    config = resolve("small", data_dir=str(cifar10_subset), subset_per_class=0, epochs=12, eval_every=12,
                     knn_k=50, batch_size=128, lr=0.1)
    data = load_dataset("cifar10", cifar10_subset)
    history = train(config, tmp_path / "run", data=data, progress=False)
    raw = knn_accuracy(normalize(data.train.images).flatten(1), data.train.labels,
                       normalize(data.test.images).flatten(1), data.test.labels, k=50)["top1"]
    trained = history[-1]["knn_top1"]
    print(f"CIFAR-10 (5,000 train / 1,000 test images): raw-pixel kNN {raw:.1f}%, untrained "
          f"{history[0]['knn_top1']:.1f}%, small CNN after 12 epochs {trained:.1f}%")
    assert trained > raw + 3


def test_data_normalisation_trains_and_evaluates_with_the_training_images_statistics(tmp_path):
    from dystress.engine.augment import channel_statistics, normalize
    from dystress.pipeline.runs import evaluate_run

    config = tiny(normalization="data", epochs=1)
    data = config_module.load_data(config)
    training = train_module.build(config, data, torch.device("cpu"))
    mean, std = channel_statistics(data.train.images)
    assert (training.augment.mean, training.augment.std) == (mean, std)
    assert mean != pytest.approx((0.4914, 0.4822, 0.4465), abs=0.05)  # digits are not CIFAR
    train(config, tmp_path / "run", data=data, progress=False)
    summary, _ = evaluate_run(tmp_path / "run", data=data, max_points=50)
    assert summary["normalization"] == {"statistics": "data", "mean": list(mean), "std": list(std)}
    model, _, _ = load_model(tmp_path / "run")
    features, _ = evaluate_module.encode(model, data.test.images, stats=(mean, std))
    with torch.no_grad():
        expected = torch.nn.functional.normalize(model.backbone(normalize(data.test.images, mean, std)), dim=1)
    torch.testing.assert_close(features, expected, rtol=1e-5, atol=1e-5)
