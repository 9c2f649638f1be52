"""What a run folder records stays true: fresh bundles, derived publishing, kept provenance, one writer."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from dystress import cli
from dystress.engine import run_folder, sts
from dystress.engine.config import SENTENCE_DATASETS, resolve
from dystress.engine.train import train
from dystress.pipeline import runs

ROOT = Path(__file__).resolve().parent.parent


pytestmark = pytest.mark.usefixtures("private_runs")


def tiny(**overrides):
    return resolve("smoke", **(dict(subset_total=192, epochs=3, eval_every=1, knn_k=10) | overrides))


def train_args(run, *extra):
    return ["train", "--profile", "smoke", "--subset_total", "192", "--epochs", "3", "--eval_every", "1",
            "--knn_k", "10", "--run-dir", str(run), *extra]


def test_a_bundle_of_an_earlier_epoch_is_never_the_result(tmp_path, capsys):
    run = tmp_path / "run"
    assert cli.main(train_args(run, "--stop-after", "1")) == 0
    assert cli.main(["evaluate", str(run), "--max-points", "50"]) == 0
    early = json.loads((run / "bundle.json").read_text())
    assert early["evaluated"]["epoch"] == 1
    with pytest.raises(run_folder.RunFolderError, match="unfinished: 1 of 3 epochs"):
        run_folder.check_result(run)
    stale = tmp_path / "stale"
    shutil.copytree(run, stale, ignore=shutil.ignore_patterns(".lock"))
    assert cli.main(train_args(run)) == 0
    assert not (run / "bundle.json").exists(), "training further must invalidate the bundle"
    capsys.readouterr()
    assert cli.main(["publish", str(run)]) == 2
    assert "lacks bundle.json, bundle.npz" in capsys.readouterr().err
    for name in ("bundle.json", "bundle.npz"):  # the epoch-1 bundle put back beside the finished run
        shutil.copy2(stale / name, run / name)
    with pytest.raises(run_folder.RunFolderError, match="stale: it evaluated epoch 1"):
        run_folder.check_result(run)
    assert cli.main(["publish", str(run)]) == 2
    assert runs.find_result(tiny()) is None or runs.find_result(tiny()).summary["evaluated"]["epoch"] == 3
    assert cli.main(["evaluate", str(run), "--max-points", "50"]) == 0
    assert run_folder.check_result(run) == tiny()
    assert cli.main(["publish", str(run)]) == 0
    assert json.loads((tmp_path / "results" / tiny().run_name() / "bundle.json").read_text())["evaluated"]["epoch"] == 3


def test_a_bundle_of_another_checkpoint_is_stale(tmp_path):
    folder = runs.compute_or_load(tiny(epochs=1), progress=False, max_points=50).folder
    (folder / "checkpoint.pt").write_bytes((folder / "checkpoint.pt").read_bytes() + b"\0")
    with pytest.raises(run_folder.RunFolderError, match="evaluated another checkpoint"):
        run_folder.check_result(folder)
    assert runs.find_result(tiny(epochs=1)) is None


def test_publish_derives_the_destination_and_refuses_what_is_not_a_finished_run(tmp_path, monkeypatch, capsys):
    results = tmp_path / "results"
    monkeypatch.chdir(tmp_path)
    for target in (".", "..", "results"):
        assert cli.main(["publish", target]) == 2
        assert "is not a run folder" in capsys.readouterr().err or not Path(target).exists()
    first = runs.compute_or_load(tiny(epochs=1), progress=False, max_points=50)
    other = runs.compute_or_load(tiny(epochs=2), progress=False, max_points=50)
    published = runs.publish(first.folder)
    assert published == results / tiny(epochs=1).run_name()
    # a folder named like the published run but holding another configuration goes to its own name
    impostor = tmp_path / "somewhere" / published.name
    shutil.copytree(other.folder, impostor)
    assert runs.publish(impostor) == results / tiny(epochs=2).run_name()
    assert run_folder.read_config(published) == tiny(epochs=1)
    # a different result of the same configuration is refused unless replaced explicitly
    rerun = tmp_path / "rerun"
    shutil.copytree(first.folder, rerun)
    summary = json.loads((rerun / "bundle.json").read_text())
    (rerun / "bundle.json").write_text(json.dumps(summary | {"uniformity": -1.0}))
    before = (published / "bundle.json").read_bytes()
    assert cli.main(["publish", str(rerun)]) == 2
    assert "already holds a different result" in capsys.readouterr().err
    assert (published / "bundle.json").read_bytes() == before
    assert runs.publish(first.folder) == published  # the same result again: nothing to do
    assert cli.main(["publish", "--replace", str(rerun)]) == 0
    assert json.loads((published / "bundle.json").read_text())["uniformity"] == -1.0
    assert sorted(p.name for p in results.iterdir()) == sorted([tiny(epochs=1).run_name(), tiny(epochs=2).run_name()])


def test_a_published_result_carries_the_sha256_of_its_files_and_an_edited_number_is_refused(tmp_path, capsys):
    first = runs.compute_or_load(tiny(epochs=1), progress=False, max_points=50)
    published = runs.publish(first.folder)
    recorded = json.loads((published / "manifest.json").read_text())["published"]["sha256"]
    assert sorted(recorded) == ["bundle.json", "bundle.npz", "config.json", "metrics.csv"]
    assert all(recorded[name] == run_folder.sha256_of(first.folder / name) for name in recorded)
    assert run_folder.check_result(published, require_hashes=True) == tiny(epochs=1)
    assert runs.find_result(tiny(epochs=1)).source == "results"
    original = (published / "metrics.csv").read_text()
    last = original.rstrip("\n").split("\n")[-1]
    loss = last.split(",")[1]
    edited = original.replace(last, last.replace(loss, f"{float(loss) + 0.01:.6f}", 1))
    (published / "metrics.csv").write_text(edited)
    with pytest.raises(run_folder.RunFolderError, match=r"metrics\.csv no longer matches the sha256"):
        run_folder.check_result(published)
    found = runs.find_result(tiny(epochs=1))
    assert found is not None and found.source == "runs"  # the edited copy in results/ is passed over
    (published / "metrics.csv").write_text(original)
    manifest = json.loads((published / "manifest.json").read_text())
    del manifest["published"]
    (published / "manifest.json").write_text(json.dumps(manifest))
    run_folder.check_result(published)  # a run folder records no hashes ...
    with pytest.raises(run_folder.RunFolderError, match="records no sha256"):  # ... a published one must
        run_folder.check_result(published, require_hashes=True)


def test_a_damaged_published_result_falls_back_to_its_run_folder_or_is_refused_naming_the_file(tmp_path):
    first = runs.compute_or_load(tiny(epochs=1), progress=False, max_points=50)
    published = runs.publish(first.folder)
    npz = (published / "bundle.npz").read_bytes()
    (published / "bundle.npz").write_bytes(npz[: len(npz) // 3])
    assert runs.compute_or_load(tiny(epochs=1), progress=False).source == "runs"  # the good copy
    shutil.rmtree(first.folder)
    with pytest.raises(run_folder.RunFolderError, match=r"bundle\.npz no longer matches .* remove .* to train"):
        runs.compute_or_load(tiny(epochs=1), progress=False)
    assert not first.folder.exists()  # nothing was trained over it


def test_publish_reads_every_file_and_keeps_the_good_result_when_the_new_one_is_damaged(tmp_path, capsys):
    first = runs.compute_or_load(tiny(epochs=1), progress=False, max_points=50)
    published = runs.publish(first.folder)
    before = {p.name: p.read_bytes() for p in published.iterdir()}
    damaged = tmp_path / "damaged"
    shutil.copytree(first.folder, damaged)
    npz = (damaged / "bundle.npz").read_bytes()
    (damaged / "bundle.npz").write_bytes(npz[: len(npz) // 2])
    capsys.readouterr()
    assert cli.main(["publish", "--replace", str(damaged)]) == 2
    err = capsys.readouterr().err
    assert "bundle.npz is unreadable" in err and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in published.iterdir()} == before
    assert not [p for p in published.parent.iterdir() if p.name.startswith(".")]  # no staging left


def test_a_bundle_that_disagrees_with_its_metrics_on_the_final_knn_is_refused(tmp_path):
    first = runs.compute_or_load(tiny(epochs=1), progress=False, max_points=50)
    edited = tmp_path / "edited"
    shutil.copytree(first.folder, edited)
    summary = json.loads((edited / "bundle.json").read_text())
    summary["knn"]["top1"] += 10.0
    (edited / "bundle.json").write_text(json.dumps(summary))
    with pytest.raises(run_folder.RunFolderError, match="gives kNN top-1 .* but the last row of metrics.csv"):
        run_folder.check_result(edited)
    with pytest.raises(run_folder.RunFolderError, match="kNN top-1"):
        runs.publish(edited)


def test_a_users_folder_is_only_adopted_when_empty_or_its_own(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text('{"my": "settings"}')
    (mine / "notes.txt").write_text("keep me")
    assert cli.main(train_args(mine)) == 2
    assert "is not a dystress configuration" in capsys.readouterr().err
    assert (mine / "config.json").read_text() == '{"my": "settings"}'
    (mine / "config.json").unlink()
    assert cli.main(train_args(mine)) == 2
    assert "is not empty (notes.txt) and holds no run" in capsys.readouterr().err
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    other = tmp_path / "other"
    train(tiny(epochs=1), other, progress=False)
    with pytest.raises(run_folder.RunFolderError, match="holds another run"):
        train(tiny(epochs=2), other, progress=False)


def test_the_manifest_keeps_every_segment_and_a_rerun_changes_nothing(tmp_path):
    run = tmp_path / "run"
    assert cli.main(train_args(run, "--stop-after", "1")) == 0
    first = json.loads((run / "manifest.json").read_text())
    assert [s["epochs"] for s in first["segments"]] == [[0, 1]]
    assert cli.main(train_args(run, "--deterministic", "true")) == 0
    config_before = (run / "config.json").read_text()
    manifest = json.loads((run / "manifest.json").read_text())
    assert [s["epochs"] for s in manifest["segments"]] == [[0, 1], [1, 3]]
    assert manifest["segments"][0] == first["segments"][0], "an earlier segment is never rewritten"
    assert [s["execution"]["deterministic"] for s in manifest["segments"]] == [False, True]
    assert all(s["threads"] == torch.get_num_threads() for s in manifest["segments"])  # what the seconds ran on
    assert json.loads(config_before)["deterministic"] is False, "config.json keeps what the run was created with"
    assert manifest["train_seconds"] == pytest.approx(sum(s["train_seconds"] for s in manifest["segments"]), abs=0.2)
    assert manifest["epochs_trained"] == 3 and manifest["segments"][1]["id"] != first["segments"][0]["id"]
    before = {name: (run / name).read_bytes() for name in ("manifest.json", "config.json", "metrics.csv")}
    assert cli.main(train_args(run, "--compile", "true")) == 0  # finished: nothing to train, nothing rewritten
    assert {name: (run / name).read_bytes() for name in before} == before


def test_a_second_process_gets_a_clear_error_naming_the_holder(tmp_path, capsys):
    run = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom dystress.engine import run_folder\n"
         f"with run_folder.locked({str(run)!r}):\n    print('held', flush=True)\n    time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert cli.main(train_args(run)) == 2
        err = capsys.readouterr().err
        assert f"is in use by another process (pid {holder.pid} on" in err
        assert not (run / "metrics.csv").exists()
    finally:
        holder.kill()
        holder.wait()
    assert cli.main(train_args(run)) == 0, "a killed holder leaves no stale lock"


def test_a_folder_made_for_a_failed_start_is_removed(tmp_path, monkeypatch):
    from dystress.engine import train as train_module

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(train_module, "build", broken)
    with pytest.raises(RuntimeError, match="out of memory"):
        train(tiny(), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_every_committed_result_is_found_from_its_own_config(monkeypatch):
    folders = sorted(p for p in (ROOT / "results").iterdir() if p.is_dir())
    assert folders, "results/ holds the committed reference runs"
    monkeypatch.delenv("DYSTRESS_RESULTS")
    for folder in folders:
        config = run_folder.check_result(folder, require_hashes=True)
        assert config.run_name() == folder.name
        found = runs.find_result(config)
        assert found is not None and found.source == "results" and found.folder == folder
        if config.dataset in SENTENCE_DATASETS:  # STS-B dev after the last epoch; the tasks and their average
            assert found.history[-1]["sts_dev"] is not None and set(found.summary["sts"]) == {*sts.TASKS, "avg"}
            assert found.summary["sts"]["avg"] == pytest.approx(np.mean([found.summary["sts"][t] for t in sts.TASKS]))
        else:
            assert found.summary["knn"]["top1"] == pytest.approx(found.history[-1]["knn_top1"])


def test_the_committed_small_notebooks_find_every_run_they_render(monkeypatch):
    """Notebooks 04-07 render the `small` profile from results/: each run their defaults ask for is committed
    (else re-executing them would train for hours)."""
    from .test_studies import notebook_studies

    monkeypatch.delenv("DYSTRESS_RESULTS")
    monkeypatch.setenv("DYSTRESS_RUNS", "/nonexistent-runs")  # results/ alone
    found = {notebook: study for notebook, study in notebook_studies("small").items() if notebook != "10_verdict"}
    configs = {p.config.run_name(): p.config for study in found.values() for p in study.points}
    missing = [name for name, config in configs.items() if runs.find_result(config) is None]
    assert not missing, f"not in results/: {missing}"
    # 06: SimCLR 5 tau x 3 seeds, DySTreSS 3 x 3 grid x 3 seeds, 6 shifted x 3 seeds (one of them 04's DySTreSS*),
    # 4 ablations x 3 seeds; 04: 9 x 3 and the queue's 2 x 3; 07: 3 x 3
    assert len(configs) == 15 + 27 + 18 + 12 + 27 + 6 + 9 - 3 - 6  # less what 06 shares with 04 (DySTreSS*, SimCLR,
    # DySTreSS)


def test_the_committed_sentence_notebook_finds_every_run_it_renders(monkeypatch):
    """Notebook 09 renders `small` from results/: the encoder as shipped, 4 methods x 3 seeds and SimCSE's sweep
    at 3 more temperatures on seed 0 (its tau 0.05 is SimCSE's seed 0)."""
    from dystress.pipeline import studies

    monkeypatch.delenv("DYSTRESS_RESULTS")
    monkeypatch.setenv("DYSTRESS_RUNS", "/nonexistent-runs")
    study = studies.sentences("small") + studies.constant_taus(
        "small", studies.choice("small", "sentence_taus"), [0], recipe="SimCSE", dataset="sts")
    configs = {p.config.run_name(): p.config for p in study.points}
    assert [name for name, config in configs.items() if runs.find_result(config) is None] == []
    assert len(configs) == 1 + 4 * 3 + 3


def test_a_metrics_file_cut_short_behind_its_checkpoint_is_written_again_from_it(tmp_path, capsys):
    run = tmp_path / "run"
    assert cli.main(train_args(run)) == 0
    full = (run / "metrics.csv").read_text()
    (run / "metrics.csv").write_text("\n".join(full.splitlines()[:2]) + "\n")  # the header and epoch 0
    assert run_folder.last_epoch(run) == 0
    assert cli.main(train_args(run)) == 0
    assert (run / "metrics.csv").read_text() == full
    assert "3/3 epochs" in capsys.readouterr().out


def test_an_unreadable_metrics_cell_is_named_with_its_file(tmp_path):
    first = runs.compute_or_load(tiny(epochs=1), progress=False, max_points=50)
    broken = tmp_path / "broken"
    shutil.copytree(first.folder, broken)
    text = (broken / "metrics.csv").read_text().splitlines()
    text[-1] = "1,not-a-number" + text[-1][text[-1].index(",", 2):]
    (broken / "metrics.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(run_folder.RunFolderError, match=r"metrics\.csv is unreadable .*not-a-number"):
        run_folder.check_result(broken)
