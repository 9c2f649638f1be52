import json
import os
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_notebook

from dystress import cli

pytestmark = pytest.mark.usefixtures("private_runs")


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
    assert config["loss_options"]["tau_max"] == 0.3 and config["loss_options"]["detach_tau"] is False
    assert cli.main(["evaluate", str(run), "--max-points", "50"]) == 0
    assert '"knn"' in capsys.readouterr().out and (run / "bundle.npz").exists()
    assert cli.main(["publish", str(run)]) == 0
    name = json.loads((run / "manifest.json").read_text())["run"]
    published = sorted(p.name for p in (tmp_path / "results" / name).iterdir())
    assert published == ["bundle.json", "bundle.npz", "config.json", "manifest.json", "metrics.csv"]


def test_train_rejects_bad_values_with_a_message(tmp_path, capsys):
    assert cli.main(["train", "--loss", "infonce", "--run-dir", str(tmp_path / "x")]) == 2
    assert "loss must be one of" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["train", "--detach_tau", "maybe"])
    assert not (tmp_path / "x").exists()


def test_a_malformed_parameter_value_is_one_line_naming_it(capsys):
    assert cli.main(["run", "--only", "01", "-p", "methods=[a, b"]) == 2
    err = capsys.readouterr().err
    assert "parameter 'methods': '[a, b' is not a YAML value" in err and "Traceback" not in err


@pytest.mark.parametrize("assignment, named, allowed", [
    ("tau_max=abc", "'tau_max'", "must be of type float, got 'abc'"),
    ("tau_max=[0.1, 0.2]", "'tau_max'", "must be of type float, got [0.1, 0.2]"),
    ("seeds=0", "'seeds'", "must be of type list[int], got 0"),
    ("seeds=[1, 1]", "'seeds'", "seeds must be distinct"),
    ("seeds=[0.5]", "'seeds'", "must be of type list[int], got [0.5]"),
    ("methods=[Nope]", "'methods'", "methods must be among SimCLR, DySTreSS"),
    ("profile=../../etc", "'profile'", "must be one of smoke, small, paper; got '../../etc'"),
])
def test_a_bad_parameter_value_is_refused_before_any_kernel_starts(assignment, named, allowed, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["run", "--only", "04", "--out", str(out), "-p", assignment]) == 2
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("dystress: error: 04_pretraining: notebook parameter " + named) and allowed in line
    assert not out.exists() and "running" not in captured.out


def test_the_run_checks_each_notebook_against_its_own_parameters(tmp_path, capsys):
    """profiles is notebook 10's; a bad profile is refused there, and 04 (which does not declare it) is not asked;
    so is one under its former name, scales."""
    assert cli.main(["run", "--only", "04,10", "--out", str(tmp_path / "out"), "-p", "profiles=[huge]"]) == 2
    assert "10_verdict: notebook parameter 'profiles' must be one of smoke, small, paper" in capsys.readouterr().err
    assert cli.main(["run", "--only", "10", "--out", str(tmp_path / "out"), "-p", "scales=[huge]"]) == 2
    assert "10_verdict: notebook parameter 'scales' must be one of smoke, small, paper" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("only", [",", " , "])
def test_an_only_that_names_no_notebook_is_refused(only, tmp_path, capsys):
    assert cli.main(["run", "--only", only, "--out", str(tmp_path / "out")]) == 2
    assert "--only names no notebook" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_an_out_path_that_is_a_file_is_refused_before_running(tmp_path, capsys):
    blocker = tmp_path / "out"
    blocker.write_text("a file")
    assert cli.main(["run", "--only", "01", "--out", str(blocker)]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "is not a folder" in err and ".failed.ipynb" not in err


@pytest.mark.parametrize("value", ["0", "-2", "x"])
def test_stop_after_must_be_positive(value, capsys, tmp_path):
    with pytest.raises(SystemExit):
        cli.main(["train", "--stop-after", value, "--run-dir", str(tmp_path / "r")])
    assert "--stop-after: expected an integer >= 1" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_a_huge_seed_is_named(capsys, tmp_path):
    assert cli.main(["train", "--seed", str(2**70), "--run-dir", str(tmp_path / "r")]) == 2
    assert "seed must be an integer >= 0 and <= 2147483647, got 1180591620717411303424" in capsys.readouterr().err


def test_a_one_class_folder_trains_without_claiming_an_accuracy(tmp_path, capsys):
    from .conftest import write_images

    write_images(tmp_path / "pictures" / "only", 40)
    run = tmp_path / "run"
    args = ["train", "--dataset", "folder", "--data_dir", str(tmp_path / "pictures"), "--epochs", "1",
            "--batch_size", "16", "--run-dir", str(run)]
    assert cli.main(args) == 0
    assert "kNN: not measured (it needs a labelled test split with at least two classes)" in capsys.readouterr().out
    assert cli.main(["evaluate", str(run), "--max-points", "20"]) == 0
    bundle = json.loads((run / "bundle.json").read_text())
    assert "knn" not in bundle and "linear" not in bundle
    assert any("accuracy needs at least two classes" in reason for reason in bundle["skipped"])


@pytest.fixture
def registry():
    from dystress.mathematics.losses import LOSSES

    before = dict(LOSSES)
    yield LOSSES
    LOSSES.clear()
    LOSSES.update(before)


def test_a_new_loss_is_one_class_and_trains_through_the_cli(registry, tmp_path, capsys):
    from dataclasses import dataclass

    import torch

    from dystress.mathematics.losses import InfoNCELoss, LossOptions
    from dystress.options import option

    class WeightedPositiveLoss(InfoNCELoss, name="toy_weighted"):
        """NT-Xent with a weight w on the positive's logit: loss_i = -w s_ip / tau + log sum_j exp(s_ij / tau)."""

        @dataclass(frozen=True)
        class Options(LossOptions):
            toy_weight: float = option(1.0, "weight of the positive's logit")
            toy_temperature: float = option(0.3, "the constant temperature")

        @classmethod
        def from_options(cls, options, num_samples, queue_size=0, gather_distributed=False):
            return cls(options.toy_temperature, options.toy_weight)

        def __init__(self, temperature, weight):
            super().__init__(temperature, check_inputs=False)
            self.weight = weight

        def positive_weight(self, similarity, positive_index):
            return torch.full((similarity.shape[0],), self.weight, dtype=similarity.dtype, device=similarity.device)

    assert registry["toy_weighted"] is WeightedPositiveLoss
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    assert "weight of the positive's logit" in capsys.readouterr().out
    run = tmp_path / "run"
    args = ["train", "--loss", "toy_weighted", "--toy_weight", "1.5", "--subset_total", "128", "--epochs", "1",
            "--knn_k", "10", "--run-dir", str(run)]
    assert cli.main(args) == 0
    assert "1/1 epochs" in capsys.readouterr().out
    config = json.loads((run / "config.json").read_text())
    assert config["loss"] == "toy_weighted" and config["loss_options"] == {"toy_weight": 1.5, "toy_temperature": 0.3}
    assert json.loads((run / "manifest.json").read_text())["run"].startswith("toy_weighted-")
    assert cli.main(args[:-2] + ["--tau_max", "0.3", "--run-dir", str(tmp_path / "other")]) == 2
    assert "tau_max is not a parameter of loss 'toy_weighted'" in capsys.readouterr().err


def test_train_and_evaluate_need_no_notebook_packages(tmp_path):
    """A machine with torch alone (a GPU image without papermill, jupytext or nbformat) trains and evaluates."""
    notebook_stack = ("jupytext", "nbformat", "papermill", "nbclient")
    blocked = f"import sys\nfor name in {notebook_stack!r}:\n    sys.modules[name] = None\n"
    run = tmp_path / "run"
    argv = ["dystress", "train", "--profile", "smoke", "--subset_total", "192", "--epochs", "1", "--knn_k", "10",
            "--run-dir", str(run)]
    script = blocked + f"sys.argv = {argv!r}\nimport runpy\nrunpy.run_module('dystress', run_name='__main__')"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=os.environ | {"DYSTRESS_RESULTS": str(tmp_path / "results")})
    assert done.returncode == 0, done.stderr
    assert "epoch 1" in done.stdout and (run / "checkpoint.pt").exists()
    evaluated = subprocess.run([sys.executable, "-c", blocked + "from dystress.cli import main\n"
                                f"sys.exit(main(['evaluate', {str(run)!r}, '--max-points', '50']))"],
                               capture_output=True, text=True)
    assert evaluated.returncode == 0, evaluated.stderr
    assert (run / "bundle.npz").exists()


def test_two_runs_into_one_output_folder_are_refused_while_the_first_runs(tmp_path, capsys):
    from dystress.atomic import exclusive

    out = tmp_path / "out"
    with exclusive(out, "output folder"):
        assert cli.main(["run", "--only", "01", "--out", str(out)]) == 2
    assert f"output folder {out} is in use by another process (pid {os.getpid()}" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == [".lock"]


def test_a_failed_rerun_leaves_no_earlier_notebook_or_summary_and_a_success_no_failed_copy(tmp_path, monkeypatch,
                                                                                           capsys):
    from dystress.pipeline import execution

    out = tmp_path / "out"
    out.mkdir()
    earlier = {"01_gradient_analysis.ipynb": "{}", "01_gradient_analysis.failed.ipynb": "{}", "summary.md": "old",
               "summary.json": "{}", "02_temperature_functions.ipynb": "{}"}
    for name, text in earlier.items():
        (out / name).write_text(text)

    def failing(source, output, *args, **kwargs):
        output.with_name(f"{output.stem}.failed.ipynb").write_text("as far as it ran")
        raise RuntimeError("a cell failed")

    monkeypatch.setattr(execution, "execute", failing)
    assert cli.main(["run", "--only", "01", "--out", str(out)]) == 1
    left = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.name != ".lock")
    assert left == ["01_gradient_analysis.failed.ipynb", "02_temperature_functions.ipynb"]  # 02 was not rerun
    monkeypatch.setattr(execution, "execute", lambda source, output, *a, **k: nbformat.write(new_notebook(), output))
    assert cli.main(["run", "--only", "01", "--out", str(out)]) == 0
    assert not (out / "01_gradient_analysis.failed.ipynb").exists() and (out / "01_gradient_analysis.ipynb").exists()


def test_a_full_disk_while_training_is_one_line_saying_so(tmp_path, monkeypatch, capsys):
    import shutil as shutil_module

    from dystress.engine import train as train_module

    def failing_save(*args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 1234 vs 1200")

    monkeypatch.setattr(train_module.torch, "save", failing_save)
    monkeypatch.setattr(shutil_module, "disk_usage", lambda path: shutil_module._ntuple_diskusage(10, 10, 0))
    run = tmp_path / "run"
    assert cli.main(["train", "--profile", "smoke", "--subset_total", "192", "--epochs", "1", "--run-dir", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dystress: error: No space left on device:") and "checkpoint.pt" in err
    assert "free space on that disk" in err and len(err.strip().splitlines()) == 1


def test_a_notebook_that_fails_under_render_is_one_line_and_its_committed_copy_unchanged(monkeypatch, capsys):
    from papermill.exceptions import PapermillExecutionError

    from dystress.pipeline import execution

    def failing(source, figure_dir=None):
        raise PapermillExecutionError(3, 2, "x = (", "SyntaxError", "'(' was never closed", ["Traceback ..."])

    monkeypatch.setattr(execution, "render", failing)
    assert cli.main(["render", "--only", "01"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == ("dystress: error: 01_gradient_analysis.py failed in cell 2: SyntaxError: '(' was never closed; "
                    "the committed 01_gradient_analysis.ipynb is unchanged")


def test_a_bad_max_points_is_refused_before_the_evaluation(tmp_path, capsys):
    assert cli.main(["evaluate", str(tmp_path), "--max-points", "-5"]) == 2
    assert "max_points must be an integer >= 1, got -5" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_run_folder_is_one_line(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    run.chmod(0o555)
    try:
        assert cli.main(["train", "--profile", "smoke", "--epochs", "1", "--run-dir", str(run)]) == 2
    finally:
        run.chmod(0o755)
    err = capsys.readouterr().err
    assert "Permission denied" in err and len(err.strip().splitlines()) == 1


def test_a_knn_k_beyond_the_training_set_is_printed_as_the_k_used(tmp_path, capsys):
    run = tmp_path / "run"
    assert cli.main(["train", "--profile", "smoke", "--subset_total", "192", "--epochs", "1", "--eval_every", "1",
                     "--knn_k", "100000", "--run-dir", str(run)]) == 0
    out = capsys.readouterr().out
    assert "kNN top-1 (k=192, t=0.1) (knn_k 100000 capped at the 192 training images): untrained" in out


def test_a_run_folder_that_cannot_be_written_is_one_line(tmp_path, monkeypatch, capsys):
    """As a read-only folder gives a non-root user; root writes anywhere, so the refusal is simulated."""
    import errno

    from dystress import atomic

    real_open = atomic.os.open

    def refusing(path, *args, **kwargs):
        if str(path).endswith(".lock"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(atomic.os, "open", refusing)
    run = tmp_path / "run"
    assert cli.main(["train", "--profile", "smoke", "--subset_total", "192", "--epochs", "1", "--run-dir", str(run)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == f"dystress: error: Permission denied: {run / '.lock'}; make it writable or choose another folder"


def test_a_full_disk_while_evaluating_is_one_line_and_leaves_no_bundle(tmp_path, monkeypatch, capsys):
    import errno

    import numpy

    run = tmp_path / "run"
    assert cli.main(["train", "--profile", "smoke", "--subset_total", "192", "--epochs", "1", "--run-dir", str(run)]) == 0

    def full(path, **arrays):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(numpy, "savez_compressed", full)
    capsys.readouterr()
    assert cli.main(["evaluate", str(run), "--max-points", "50"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("dystress: error: No space left on device: ") and "free space on that disk" in line
    assert not (run / "bundle.json").exists() and not (run / "bundle.npz").exists()


NEEDY_NOTEBOOK = '''# ---
# jupyter:
#   dystress:
#     requires:
#     - no_such_module_for_dystress
#     extra: text
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Needs a module

# %% tags=["parameters"]
profile: str = "smoke"  # smoke | small | paper

# %%
raise RuntimeError("this cell must not run")
'''


def test_run_skips_a_notebook_whose_extra_is_missing_and_render_refuses_it(tmp_path, monkeypatch, capsys):
    series = tmp_path / "series"
    series.mkdir()
    (series / "01_needs.py").write_text(NEEDY_NOTEBOOK)
    monkeypatch.setenv("DYSTRESS_NOTEBOOKS", str(series))
    out = tmp_path / "out"
    assert cli.main(["run", "--only", "01", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "01_needs ... skipped: 01_needs needs no_such_module_for_dystress, which this environment lacks (pip " \
           "install -e '.[text]')" in printed
    assert not (out / "01_needs.ipynb").exists() and not (out / "summary.md").exists()
    assert cli.main(["render", "--only", "01"]) == 2
    assert "cannot render: 01_needs needs no_such_module_for_dystress" in capsys.readouterr().err
    assert not (series / "01_needs.ipynb").exists()
