"""The benchmark scripts run (their figures are measurements, never asserted on)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import bench  # noqa: E402
import loss_bench  # noqa: E402


def test_bench_passes_its_gates_and_writes_a_record(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DYSTRESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(bench, "knn_seconds", lambda device: 0.0)  # the 50,000 x 10,000 kNN takes long on a CPU
    out = tmp_path / "bench.json"
    code = bench.main(["--device", "cpu", "--epochs", "1", "--warmup", "0", "--subset", "128", "--workers", "0",
                       "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0 and "gate: architecture PASS" in text and "speedup" in text
    record = json.loads(out.read_text())
    assert record["gates"]["loss_max_difference"] < 1e-10
    assert [r["name"] for r in record["results"]] == ["reference", "dystress (faithful)"]


def test_loss_bench_runs(capsys):
    assert loss_bench.main(["--devices", "cpu", "--batches", "8", "--repeats", "2"]) == 0
    assert "DySTreSS/NT-Xent" in capsys.readouterr().out


def test_small_recipe_measures_the_signal_against_training_time(cifar10_subset, tmp_path, monkeypatch, capsys):
    import small_recipe

    monkeypatch.setenv("DYSTRESS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "recipes.jsonl"
    small_recipe.main(["--data-dir", str(cifar10_subset), "--threads", "1", "--out", str(out), "--name", "tiny",
                       "--set", "subset_per_class=20", "--set", "epochs=2", "--set", "eval_every=1",
                       "--set", "batch_size=50"])
    (record,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert record["name"] == "tiny" and record["overrides"]["batch_size"] == 50
    assert [p["epoch"] for p in record["curve"]] == [0, 1, 2]
    assert record["curve"][0]["train_seconds"] == 0 < record["curve"][1]["train_seconds"] < record["train_seconds"]
    assert record["signal"] == round(record["final"] - record["untrained"], 2)
    assert "tiny: untrained" in capsys.readouterr().out
    small_recipe.main(["--plot", str(out), "--figure", str(tmp_path / "curves.png")])
    assert (tmp_path / "curves.png").stat().st_size > 5_000


def stub_machine(tmp_path: Path, failing: str = "") -> dict:
    """A PATH whose python3 and nvidia-smi only record their arguments; python3 fails when they contain
    ``failing``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.txt"
    (bin_dir / "python3").write_text(f'#!/bin/sh\necho "$*" >> {calls}\ncase "$*" in *"{failing or "#none#"}"*) '
                                     f'exit 3;; esac\nexit 0\n')
    (bin_dir / "nvidia-smi").write_text("#!/bin/sh\necho 'NVIDIA H200, 143771 MiB'\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    return os.environ | {"PATH": f"{bin_dir}:{os.environ['PATH']}", "OUT": str(tmp_path / "out")}


def test_the_gpu_check_runs_every_step_and_fails_when_one_fails(tmp_path):
    script = BENCHMARKS / "gpu_check.sh"
    done = subprocess.run(["bash", str(script), str(tmp_path / "images")], env=stub_machine(tmp_path),
                          capture_output=True, text=True)
    calls = (tmp_path / "calls.txt").read_text()
    assert done.returncode == 0 and "== gpu check: passed" in done.stdout, done.stdout + done.stderr
    assert "-m cuda tests/test_devices.py" in calls and "--device cuda --data cifar10" in calls and "--fast" in calls
    assert "-m dystress train --profile paper" in calls and "--epochs 2" in calls
    assert "gpu check: passed" in (tmp_path / "out" / "gpu_check.log").read_text()

    (tmp_path / "calls.txt").unlink()
    for folder in ("bin", "out"):
        shutil.rmtree(tmp_path / folder)
    done = subprocess.run(["bash", str(script)], env=stub_machine(tmp_path, failing="bench.py"), capture_output=True,
                          text=True)
    assert done.returncode == 1 and "exit 3" in done.stdout and "== gpu check: FAILED" in done.stdout
    assert "--profile paper" in (tmp_path / "calls.txt").read_text()  # a failed step does not stop the others


def test_epoch_profile_times_every_phase_and_counts_the_step_flops(cifar10_subset, tmp_path, monkeypatch, capsys):
    import epoch_profile

    monkeypatch.setenv("DYSTRESS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "profile.json"
    assert epoch_profile.main(["--profile", "smoke", "--data-dir", str(cifar10_subset), "--dataset", "cifar10",
                               "--threads", "1", "--steps", "2", "--warmup", "1", "--peak-size", "64",
                               "--peak-repeats", "2", "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert set(record["ms_per_step"]) == set(epoch_profile.PHASES)
    assert all(value > 0 for value in record["ms_per_step"].values())
    assert record["step_flops"] > 0 and record["matmul_peak_gflops_per_s"] > 0
    assert record["ratio_to_peak"] == pytest.approx(record["step_gflops_per_s"] / record["matmul_peak_gflops_per_s"])
    assert "matmul peak" in capsys.readouterr().out
