import json

import pytest

from dystress import cli


@pytest.fixture(autouse=True)
def private_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("DYSTRESS_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("DYSTRESS_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("DYSTRESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TQDM_DISABLE", "1")


def test_train_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = capsys.readouterr().out
    for option in ("--tau_max", "--tau-max", "DySTreSS upper temperature", "--loss", "--profile", "--stop-after"):
        assert option in text


def test_train_prints_the_untrained_and_trained_knn_then_evaluate(tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "--profile", "smoke", "--subset_total", "256", "--epochs", "2", "--eval_every", "1",
            "--knn_k", "10", "--tau-max", "0.3", "--detach_tau", "false", "--run-dir", str(run)]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "kNN top-1 (k=10, t=0.1): untrained" in out and "epoch 2" in out
    config = json.loads((run / "config.json").read_text())
    assert config["tau_max"] == 0.3 and config["detach_tau"] is False
    assert cli.main(["evaluate", str(run), "--max-points", "50"]) == 0
    assert '"knn"' in capsys.readouterr().out and (run / "bundle.npz").exists()
    assert cli.main(["publish", str(run)]) == 0
    published = sorted(p.name for p in (tmp_path / "results" / "run").iterdir())
    assert published == ["bundle.json", "bundle.npz", "config.json", "manifest.json", "metrics.csv"]


def test_train_rejects_bad_values_with_a_message(tmp_path, capsys):
    assert cli.main(["train", "--loss", "infonce", "--run-dir", str(tmp_path / "x")]) == 2
    assert "loss must be one of" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["train", "--detach_tau", "maybe"])
    assert not (tmp_path / "x").exists()
