"""The notebook series: structure, sync with the committed copies, and end-to-end papermill runs."""

import json
from pathlib import Path

import jupytext
import nbformat
import papermill
import pytest

from dystress import cli, notebooks

SOURCES = notebooks.list_notebooks()
IDS = [s.stem for s in SOURCES]


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_series_is_numbered_and_complete():
    assert [s.stem[:2] for s in SOURCES] == [f"{i:02d}" for i in range(1, len(SOURCES) + 1)]
    assert len(SOURCES) >= 3


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_one_typed_parameters_cell_followed_by_the_check(source):
    cells = code_cells(jupytext.read(source))
    tagged = [i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    parameters = papermill.inspect_notebook(notebooks.read_source(source))
    assert "profile" in parameters
    for name, spec in parameters.items():
        assert spec["inferred_type_name"] != "None", f"{name} has no type annotation"
        assert spec["help"], f"{name} has no help comment"
    assert "check_parameters(globals())" in cells[tagged[0] + 1].source


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_committed_notebook_matches_its_source(source):
    committed = source.with_suffix(".ipynb")
    assert committed.exists(), f"{committed.name} is missing: run `dystress render --only {source.stem[:2]}`"
    executed = nbformat.read(committed, as_version=4)
    assert [c.source for c in code_cells(executed)] == [c.source for c in code_cells(jupytext.read(source))]
    assert all(c.execution_count for c in code_cells(executed)), "the committed notebook must be executed"
    assert not any(o.output_type == "error" for c in code_cells(executed) for o in c.outputs)
    assert "papermill" not in executed.metadata
    assert executed.metadata.kernelspec.name == "python3"


@pytest.mark.notebooks
@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_notebook_runs_under_papermill_with_the_smoke_profile(source, tmp_path):
    nb = notebooks.execute(source, tmp_path / f"{source.stem}.ipynb", {"profile": "smoke"},
                           figure_dir=tmp_path / "figures")
    assert any(o.output_type == "display_data" for c in code_cells(nb) for o in c.outputs)
    figures = sorted((tmp_path / "figures" / source.stem).glob("*.png"))
    assert figures, "the notebook wrote no figure files"
    assert all(f.stat().st_size > 10_000 for f in figures)


def test_misspelt_parameter_fails_naming_it(tmp_path):
    with pytest.raises(papermill.PapermillExecutionError, match="unknown notebook parameter 'tauss'"):
        notebooks.execute(SOURCES[0], tmp_path / "out.ipynb", {"tauss": [0.1]})
    assert (tmp_path / "out.failed.ipynb").exists() and not (tmp_path / "out.ipynb").exists()


def test_ill_typed_parameter_fails_naming_it(tmp_path):
    with pytest.raises(papermill.PapermillExecutionError, match="'num_negatives' must be of type int"):
        notebooks.execute(SOURCES[0], tmp_path / "out.ipynb", {"num_negatives": "many"})


def test_cli_run_passes_parameters_and_rejects_unknown_ones(tmp_path, capsys):
    assert cli.main(["run", "--only", "01", "-p", "num_negatives=255", "--out", str(tmp_path)]) == 0
    executed = nbformat.read(tmp_path / "01_gradient_analysis.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "num_negatives = 255" in injected[0].source and 'profile = "smoke"' in injected[0].source
    assert "255 negatives" in json.dumps([c.outputs for c in code_cells(executed)])
    assert (tmp_path / "figures" / "01_gradient_analysis" / "relative_penalty.png").exists()
    assert cli.main(["run", "-p", "bogus=1", "--out", str(tmp_path / "x")]) == 2
    assert "no selected notebook declares parameter 'bogus'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    assert cli.main(["run", "--only", "42", "--out", str(tmp_path / "y")]) == 2
    assert "unknown notebook 42" in capsys.readouterr().err


def test_cli_assignments_are_read_as_yaml():
    assert cli.parse_assignments(["a=0.3", "b=smoke", "c=[1, 2]", "d=true", "e=3"]) == {
        "a": 0.3, "b": "smoke", "c": [1, 2], "d": True, "e": 3}
    with pytest.raises(ValueError, match="must look like name=value"):
        cli.parse_assignments(["novalue"])


def test_failing_notebook_stops_the_run_with_its_name(tmp_path, capsys):
    code = cli.main(["run", "--only", "01,02", "-p", "num_negatives=-5", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert "01_gradient_analysis failed" in err and "num_negatives must be >= 1" in err
    assert not (tmp_path / "02_temperature_functions.ipynb").exists()
    assert Path(tmp_path / "01_gradient_analysis.failed.ipynb").exists()
