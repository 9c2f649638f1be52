import json

import pytest

from dystress import runs
from dystress.config import resolve


@pytest.fixture(autouse=True)
def private_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("DYSTRESS_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("DYSTRESS_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("DYSTRESS_CACHE", str(tmp_path / "cache"))


def tiny(**overrides):
    return resolve("smoke", **(dict(subset_total=192, epochs=2, eval_every=1, knn_k=10) | overrides))


def test_compute_then_load_without_retraining(tmp_path, monkeypatch):
    config = tiny()
    first = runs.compute_or_load(config, progress=False, max_points=100)
    assert first.source == "computed" and first.folder == tmp_path / "runs" / runs.run_name(config)
    assert [r["epoch"] for r in first.history] == [0, 1, 2]
    assert first.summary["knn"]["k"] == 10 and first.manifest["config_hash"] == config.run_hash()
    assert first.manifest["torch"] and first.manifest["wall_seconds"] > 0
    monkeypatch.setattr(runs, "train", lambda *a, **k: pytest.fail("must not retrain"))
    again = runs.compute_or_load(config, progress=False)
    assert again.source == "runs" and again.summary == first.summary
    assert again.history == first.history


def test_execution_settings_do_not_change_the_run(tmp_path, monkeypatch):
    assert tiny().run_hash() == tiny(device="cpu", compile=True, amp=False, data_dir="/elsewhere").run_hash()
    monkeypatch.setenv("DYSTRESS_DATA", str(tmp_path / "a"))
    inside = tiny(dataset="folder", data_dir=str(tmp_path / "a" / "pictures")).run_hash()
    monkeypatch.setenv("DYSTRESS_DATA", str(tmp_path / "b"))
    assert tiny(dataset="folder", data_dir=str(tmp_path / "b" / "pictures")).run_hash() == inside
    assert tiny(dataset="folder", data_dir=str(tmp_path / "c")).run_hash() != inside
    assert tiny().run_hash() != tiny(tau_max=0.3).run_hash()
    assert runs.run_name(tiny()).startswith("dystress-")


def test_published_results_take_precedence_and_hold_no_weights(tmp_path, monkeypatch):
    config = tiny()
    computed = runs.compute_or_load(config, progress=False, max_points=100)
    target = runs.publish(computed.folder)
    assert sorted(p.name for p in target.iterdir()) == sorted(runs.RESULT_FILES)
    assert not list(target.glob("*.pt"))
    monkeypatch.setattr(runs, "train", lambda *a, **k: pytest.fail("must not retrain"))
    loaded = runs.compute_or_load(config)
    assert loaded.source == "results" and loaded.folder == target


def test_a_result_of_another_config_is_not_used(tmp_path):
    config = tiny()
    computed = runs.compute_or_load(config, progress=False, max_points=100)
    target = runs.publish(computed.folder)
    stored = json.loads((target / "config.json").read_text())
    (target / "config.json").write_text(json.dumps(stored | {"tau_max": 0.3}))
    assert runs.find_result(config).source == "runs"


def test_force_recomputes(tmp_path, monkeypatch):
    config = tiny(epochs=1)
    runs.compute_or_load(config, progress=False, max_points=100)
    calls = []
    original = runs.train
    monkeypatch.setattr(runs, "train", lambda *a, **k: calls.append(1) or original(*a, **k))
    result = runs.compute_or_load(config, force=True, progress=False, max_points=100)
    assert calls == [1] and result.source == "computed"


def test_evaluating_an_untrained_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="holds no checkpoint.pt"):
        runs.evaluate_run(tmp_path)
