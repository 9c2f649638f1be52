import json

import pytest

from dystress.engine import run_folder
from dystress.engine.config import resolve
from dystress.pipeline import runs

pytestmark = pytest.mark.usefixtures("private_runs")


def tiny(**overrides):
    return resolve("smoke", **(dict(subset_total=192, epochs=2, eval_every=1, knn_k=10) | overrides))


def test_compute_then_load_without_retraining(tmp_path, monkeypatch):
    config = tiny()
    first = runs.compute_or_load(config, progress=False, max_points=100)
    assert first.source == "computed" and first.folder == tmp_path / "runs" / runs.run_name(config)
    assert [r["epoch"] for r in first.history] == [0, 1, 2]
    assert first.summary["knn"]["k"] == 10 and first.manifest["config_hash"] == config.run_hash()
    (segment,) = first.manifest["segments"]
    assert segment["versions"]["torch"] and segment["epochs"] == [0, 2] and first.manifest["wall_seconds"] > 0
    assert first.summary["evaluated"]["epoch"] == 2 and first.summary["evaluated"]["config_hash"] == config.run_hash()
    monkeypatch.setattr(runs, "train", lambda *a, **k: pytest.fail("must not retrain"))
    again = runs.compute_or_load(config, progress=False)
    assert again.source == "runs" and again.summary == first.summary
    assert again.history == first.history


def test_execution_settings_do_not_change_the_run(tmp_path, monkeypatch):
    assert tiny().run_hash() == tiny(device="cpu", compile=True, amp=False, data_dir="/elsewhere").run_hash()
    monkeypatch.setenv("DYSTRESS_DATA", str(tmp_path / "a"))
    inside = tiny(dataset="folder", data_dir=str(tmp_path / "a" / "pictures")).run_hash()
    monkeypatch.setenv("DYSTRESS_DATA", str(tmp_path / "b"))
    moved = tiny(dataset="folder", data_dir=str(tmp_path / "b" / "pictures"))
    assert moved.run_hash() == inside and moved.to_dict()["data_dir"] == "data:pictures"
    assert tiny(dataset="folder", data_dir="data:pictures").run_hash() == inside  # config.json's portable form
    assert tiny(dataset="folder", data_dir=str(tmp_path / "c")).run_hash() != inside
    assert tiny().run_hash() != tiny(tau_max=0.3).run_hash()
    assert runs.run_name(tiny()).startswith("dystress-")


def test_published_results_take_precedence_and_hold_no_weights(tmp_path, monkeypatch):
    config = tiny()
    computed = runs.compute_or_load(config, progress=False, max_points=100)
    target = runs.publish(computed.folder)
    assert sorted(p.name for p in target.iterdir()) == sorted(run_folder.RESULT_FILES)
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


def test_inactive_parameters_and_new_fields_rename_no_run(monkeypatch):
    import dataclasses

    from dystress.engine.config import TrainConfig, from_dict

    dystress = tiny()
    assert dystress.run_hash() == tiny(queue_size=7, moco_momentum=0.5, imbalance_ratio=0.5, device="cpu").run_hash()
    with pytest.raises(ValueError, match="isogclr_eta is not a parameter of loss 'dystress'; its parameters: tau_min"):
        tiny(isogclr_eta=0.5)
    # a config.json written before the options were nested holds every loss's parameters, flat
    flat = {k: v for k, v in dystress.to_dict().items() if k != "loss_options"} | dystress.to_dict()["loss_options"]
    flat |= {"isogclr_eta": 0.5, "macl_alpha": 0.1, "dcl_sigma": 0.9, "temperature": 0.7, "schedule_t_max": 3}
    assert from_dict(flat, strict=False).run_hash() == dystress.run_hash()  # older names too (RENAMED)
    ntxent = tiny(loss="ntxent")
    assert tiny(loss="ntxent", temperature=1).run_hash() == tiny(loss="ntxent", temperature=1.0).run_hash()
    assert dystress.replace(loss="ntxent").run_hash() == ntxent.run_hash()
    expected = dystress.run_hash()
    # a field added to the configuration appears in to_dict (and config.json), never in the run's identity
    monkeypatch.setattr(TrainConfig, "to_dict", lambda self: dataclasses.asdict(self) | {"a_new_option": 1})
    assert "a_new_option" in dystress.to_dict() and dystress.run_hash() == expected


@pytest.mark.parametrize("loss,active", [
    ("ntxent", dict(temperature=0.3)), ("ntxent", dict(tau_schedule="kukleva")), ("dystress", dict(tau_min=0.1)),
    ("dystress", dict(detach_tau=False)), ("dcl", dict(weighted=True)), ("dcl", dict(dynamic_tau=True)),
    ("hard", dict(quantile=0.5)), ("macl", dict(alpha=0.2)), ("isogclr", dict(isogclr_eta=0.1)),
    ("simple", dict(weight=0.5)), ("dystress", dict(tau_shape="linear")),
])
def test_every_active_parameter_renames_the_run(loss, active):
    assert tiny(loss=loss).run_hash() != tiny(loss=loss, **active).run_hash()
    assert tiny(loss=loss).run_hash() != tiny(loss=loss, seed=1).run_hash()


def test_data_normalisation_renames_the_run_and_cifar_keeps_every_stored_name():
    assert tiny().run_hash() == tiny(normalization="cifar").run_hash()
    assert tiny().run_hash() != tiny(normalization="data").run_hash()
    with pytest.raises(ValueError, match="normalization must be one of cifar, data"):
        tiny(normalization="imagenet")


def test_provenance_counts_where_each_result_came_from():
    from types import SimpleNamespace

    from dystress.pipeline.runs import provenance

    found = [SimpleNamespace(source=s) for s in ("results", "results", "computed")]
    assert provenance(found) == "3 runs: 2 from results/ (committed), 1 trained now"
    assert provenance([]) == "0 runs"


@pytest.mark.parametrize("old,new,value,stored", [
    ("dcl_weighted", "weighted", True, True), ("macl_alpha", "alpha", 0.2, 0.2),
    ("hard_quantile", "quantile", 0.5, 0.5),
    ("tau_profile", "tau_shape", "linear", "linear"), ("method", "negatives", "moco", "queue"),
])
def test_a_renamed_parameter_is_read_for_one_release_with_a_message_naming_the_new_one(old, new, value, stored):
    loss = {"dcl_weighted": "dcl", "macl_alpha": "macl", "hard_quantile": "hard"}.get(old, "dystress")
    with pytest.warns(FutureWarning, match=f"{old} is now {new}; the old name is read for one more release"):
        config = tiny(loss=loss, **{old: value})
    assert config == tiny(loss=loss, **{new: stored})

