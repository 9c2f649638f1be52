"""The notebook series: structure, sync with the committed copies, and end-to-end papermill runs."""

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import papermill
import pytest

from dystress import cli
from dystress.pipeline import execution, published, summary

from .conftest import write_images

SOURCES = execution.list_notebooks()
IDS = [s.stem for s in SOURCES]


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_series_is_numbered_in_order_from_01():
    numbers = [int(s.stem[:2]) for s in SOURCES]
    assert numbers[0] == 1 and numbers == sorted(set(numbers)) and len(SOURCES) >= 3


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_one_typed_parameters_cell_followed_by_the_check(source):
    cells = code_cells(jupytext.read(source))
    tagged = [i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    parameters = papermill.inspect_notebook(execution.read_source(source))
    annotated = [node.target.id for node in ast.parse(cells[tagged[0]].source).body if isinstance(node, ast.AnnAssign)]
    assert list(parameters) == annotated, "papermill must parse every parameter line (no '=' in comments)"
    assert "profile" in parameters
    for name, spec in parameters.items():
        assert spec["inferred_type_name"] != "None", f"{name} has no type annotation"
        assert spec["help"], f"{name} has no help comment"
    assert "check_parameters(globals())" in cells[tagged[0] + 1].source


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_parameters_are_declared_once_and_their_help_restates_no_profile_choice(source):
    """The parameters cell is the one place a notebook states its parameters (the book shows it as the page's
    parameters box); a help comment that says "the profile's" leaves the value to ``PROFILES[...].choices`` and
    neither restates it nor has a value of its own."""
    notebook = jupytext.read(source)
    prose = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    parameters = papermill.inspect_notebook(execution.read_source(source))
    for name, spec in parameters.items():
        assert f"- `{name}` (" not in prose, f"{name} is listed again in the prose"
        assert not re.search(r"\b(smoke|small|paper)\s*(,|:)", spec["help"].replace("smoke | small | paper", "")), \
            f"{name}'s help restates a profile's choice: {spec['help']}"
        if "the profile's" in spec["help"]:
            assert ast.literal_eval(spec["default"]) in ("", 0, 0.0, []), f"{name} defaults to the profile's"


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


@pytest.fixture
def private_folders(tmp_path, monkeypatch):
    """Runs, results and data folders of the test's own: everything is computed from scratch."""
    for name, folder in (("DYSTRESS_RUNS", "runs"), ("DYSTRESS_RESULTS", "results"), ("DYSTRESS_DATA", "data"),
                         ("DYSTRESS_CACHE", "cache")):
        monkeypatch.setenv(name, str(tmp_path / folder))
    return tmp_path


@pytest.mark.notebooks
def test_main_job_runs_the_whole_series_from_scratch(private_folders, capsys):
    out = private_folders / "out"
    assert cli.main(["run", "--out", str(out)]) == 0
    for source in SOURCES:
        executed = nbformat.read(out / f"{source.stem}.ipynb", as_version=4)
        assert any(o.output_type == "display_data" for c in code_cells(executed) for o in c.outputs)
        figures = sorted((out / "figures" / source.stem).glob("*.png"))
        assert figures and all(f.stat().st_size > 5_000 for f in figures), source.stem
    table = json.loads((out / "summary.json").read_text())
    rows = table["runs"]
    assert [m["run"] for m in table["methods"] if m["notebook"] == "04_pretraining"] == \
        ["SimCLR", "DySTreSS", "MACL", "DCL", "Hard", "Kukleva", "MoCo", "Hard-MoCo"]
    images = [m for m in table["methods"] if m["notebook"] != "09_sentence_embeddings"]
    assert all(m["knn_top1"]["n"] == len(m["seeds"]) for m in images)
    assert {r["notebook"] for r in rows} == {s.stem for s in SOURCES if "04" <= s.stem[:2] <= "09"}
    sentences = [r for r in rows if r["notebook"] == "09_sentence_embeddings"]
    assert {r["run"] for r in sentences} == {"as shipped", "SimCSE", "DySTreSS*", "DySTreSS", "MACL"}
    assert all(r["source"] in ("computed", "runs") for r in rows)
    smoke_04 = [r for r in rows if r["notebook"] == "04_pretraining"]
    assert [r["run"] for r in smoke_04] == ["SimCLR", "DySTreSS", "MACL", "DCL", "Hard", "Kukleva", "MoCo",
                                            "Hard-MoCo"]
    assert all(r["knn_top1"] > 50 for r in smoke_04)  # digits, 5 epochs: far above chance (10 %)
    assert "| 04_pretraining | DySTreSS | 0 | digits |" in (out / "summary.md").read_text()
    assert not (out / "06_children").exists()  # no notebook runs another
    print(capsys.readouterr().out)


def test_papermill_cli_sets_parameters_and_rejects_unknown_ones(private_folders):
    committed = SOURCES[3].with_suffix(".ipynb")
    assert committed.name == "04_pretraining.ipynb"
    env = os.environ | {"TQDM_DISABLE": "1"}
    base = [sys.executable, "-m", "papermill", str(committed), str(private_folders / "out.ipynb"), "-k", "python3",
            "--cwd", str(committed.parent), "-p", "profile", "smoke"]
    ok = subprocess.run(base + ["-p", "tau_max", "0.3", "-y", "methods: [DySTreSS]"], env=env, capture_output=True,
                        text=True)
    assert ok.returncode == 0, ok.stderr[-2000:]
    rows = summary.rows_of(private_folders / "out.ipynb")  # the rows the notebook recorded as its output
    assert [r["run"] for r in rows] == ["DySTreSS", "MoCo", "Hard-MoCo"]  # the chosen method, then the queue's
    row = rows[0]
    assert row["temperature"] == "cosine [0.07, 0.3]" and row["source"] == "computed"
    bad = subprocess.run(base + ["-p", "tau_maxx", "0.3"], env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "unknown notebook parameter 'tau_maxx'" in bad.stderr


def test_pretraining_over_seeds_prints_the_spread_and_the_paired_difference(private_folders):
    nb = execution.execute(SOURCES[3], private_folders / "04.ipynb",
                           {"profile": "smoke", "methods": ["SimCLR", "DySTreSS"], "seeds": [0, 1], "epochs": 1},
                           figure_dir=private_folders / "figures")
    markdown = "\n".join(o.get("data", {}).get("text/markdown", "") for c in code_cells(nb) for o in c.outputs)
    table = next(line for line in markdown.splitlines() if line.startswith("| DySTreSS | 2 | "))
    assert table.count("±") == 6  # kNN, linear, -uniformity, tolerance, final loss, train s
    (verdict,) = [line for line in markdown.splitlines() if line.startswith("* DySTreSS is ")]
    assert "SimCLR in kNN top-1: " in verdict and "95 % interval [" in verdict and verdict.endswith("(n = 2).")
    rows = [r for r in summary.rows_of(private_folders / "04.ipynb") if r["run"] in ("SimCLR", "DySTreSS")]
    assert sorted((r["run"], r["seed"]) for r in rows) == [("DySTreSS", 0), ("DySTreSS", 1), ("SimCLR", 0),
                                                           ("SimCLR", 1)]
    assert len({r["final_loss"] for r in rows}) == 4  # four different runs (kNN on 359 images can tie)
    queue = {r["run"] for r in summary.rows_of(private_folders / "04.ipynb")} - {"SimCLR", "DySTreSS"}
    assert queue == {"MoCo", "Hard-MoCo"}  # the section on the hard loss with a queue records its runs too


@pytest.mark.parametrize("labelled", [True, False], ids=["labelled", "unlabelled"])
def test_your_dataset_notebook_on_a_new_folder(labelled, private_folders):
    folder = private_folders / "pictures"
    for k in range(3 if labelled else 1):
        write_images(folder / f"kind{k}" if labelled else folder, 40 if labelled else 80, seed=k, bias=60 * k)
    nb = execution.execute(SOURCES[7], private_folders / "08.ipynb", {"data_dir": str(folder), "epochs": 2},
                           figure_dir=private_folders / "figures")
    text = json.dumps([c.outputs for c in code_cells(nb)])
    assert ("3 classes" in text) == labelled
    assert ("has no labels" in text) != labelled
    assert (private_folders / "figures" / "08_your_dataset" / "analysis.png").exists()


@pytest.mark.parametrize("labelled", [True, False], ids=["labelled", "unlabelled"])
def test_your_dataset_notebook_takes_the_recipe_the_losses_and_the_normalisation(labelled, private_folders):
    folder = private_folders / "pictures"
    for k in range(2 if labelled else 1):  # 20 x 20 images, resized to 24
        write_images(folder / f"kind{k}" if labelled else folder, 30 if labelled else 60, size=20, seed=k,
                     bias=80 * k)
    parameters = {"data_dir": str(folder), "image_size": 24, "epochs": 1, "batch_size": 16, "lr": 0.05,
                  "crop_min_scale": 0.6, "model": "cnn4", "test_fraction": 0.25, "normalization": "data",
                  "tau_shape": "shifted_cosine", "tau_shift": -0.3, "tau_scale": 0.8, "detach_tau": False}
    nb = execution.execute(SOURCES[7], private_folders / "08.ipynb", parameters, figure_dir=private_folders / "figures")
    text = "".join(o.get("text", "") for c in code_cells(nb) for o in c.outputs)
    assert "(24, 24, 3)" in text and "cnn4, 1 epochs, batch 16, lr 0.05, crops >= 0.6" in text
    assert "normalised with data statistics" in text and "shifted_cosine [0.07, 0.2] shift -0.3 scale 0.8" in text
    assert "-uniformity" in text
    split = "44 training images (24, 24, 3), 2 classes, 16 test images"  # 25 %: 8 of each class's 30
    assert (split if labelled else "unlabelled") in text
    (run,) = [p for p in (private_folders / "runs").iterdir() if p.name.startswith("dystress-")]
    stored = json.loads((run / "config.json").read_text())
    assert stored["normalization"] == "data" and stored["loss_options"]["detach_tau"] is False
    assert stored["test_fraction"] == 0.25 and stored["image_size"] == 24


def test_misspelt_parameter_fails_naming_it(tmp_path):
    with pytest.raises(papermill.PapermillExecutionError, match="unknown notebook parameter 'tauss'"):
        execution.execute(SOURCES[0], tmp_path / "out.ipynb", {"tauss": [0.1]})
    assert (tmp_path / "out.failed.ipynb").exists() and not (tmp_path / "out.ipynb").exists()


def test_ill_typed_parameter_fails_naming_it(tmp_path):
    with pytest.raises(papermill.PapermillExecutionError, match="'num_negatives' must be of type int"):
        execution.execute(SOURCES[0], tmp_path / "out.ipynb", {"num_negatives": "many"})


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


MEASURED_NUMBER = re.compile(r"(?<![\w.])[-+−]?\d+\.\d{2,}(?!\d)")  # two decimals or more: a measured number


def number_sources(notebook: nbformat.NotebookNode) -> str:
    """What a number in a notebook's prose may come from: its code and its outputs (text and Markdown)."""
    texts = []
    for cell in code_cells(notebook):
        texts.append(cell.source)
        for output in cell.outputs:
            texts.append(output.get("text", ""))
            texts += [value for mime, value in output.get("data", {}).items() if mime.startswith("text/")]
    return "\n".join(texts).replace("−", "-")


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_every_number_in_the_prose_is_printed_by_the_notebook_or_published(source):
    """A number with two or more decimals in a markdown cell appears, at that precision, in an output or the
    code of the same committed notebook, or among the published numbers (dystress/published.py): a number
    left behind when results change fails here."""
    notebook = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    allowed = number_sources(notebook) + "\n" + Path(published.__file__).read_text()
    stale = []
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for match in MEASURED_NUMBER.finditer(cell.source):
            digits = match.group().replace("−", "-").lstrip("+-")
            if not re.search(rf"(?<![\d.]){re.escape(digits)}(?!\d)", allowed):
                stale.append(match.group())
    assert not stale, f"{source.stem}: numbers in the prose that no output prints: {', '.join(stale)}"


COMPARATIVE = re.compile(r"within seed noise|beyond seed noise|higher than|lower than|in every seed|\bagainst\b|"
                         r"\b(more|less) \w+ than\b|\b(smaller|larger|slower|faster|highest|lowest|best|worst)\b|"
                         r"exceeds?|closes|outperform|better than|worse than|\bcosts?\b", re.IGNORECASE)


@pytest.mark.parametrize("source", [s for s in SOURCES if s.stem[:2] >= "03"],
                         ids=[s.stem for s in SOURCES if s.stem[:2] >= "03"])
def test_no_typed_sentence_compares_measured_numbers(source):
    """From notebook 03 on, a comparison of measured numbers is a generated finding (``statistics``), never typed:
    a markdown sentence that says "higher than", "within seed noise", "in every seed"... holds no number with two
    or more decimals that is neither a published one nor a setting of the parameters cell."""
    notebook = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    parameters = next(c.source for c in code_cells(notebook) if "parameters" in c.metadata.get("tags", []))
    published_text = Path(published.__file__).read_text() + "\n" + parameters
    typed = []
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for sentence in re.split(r"(?<=[.;:])\s+", cell.source.replace("\n", " ")):
            measured = [m.group() for m in MEASURED_NUMBER.finditer(sentence)
                        if not re.search(rf"(?<![\d.]){re.escape(m.group().lstrip('+-−'))}(?!\d)", published_text)]
            if measured and COMPARATIVE.search(sentence):
                typed.append(sentence.strip()[:160])
    assert not typed, f"{source.stem}: typed comparisons of measured numbers:\n" + "\n".join(typed)


TOY_RECIPE = '''
from dystress.pipeline.recipes import Recipe, register

register(Recipe("Toy", "SimCLR at $\\\\tau = 0.5$", "a toy method of another package",
                lambda base, settings: base.replace(loss="ntxent", temperature=0.5)))
'''


def test_a_method_another_package_registers_is_compared_and_summarised(private_folders):
    """Adding a compared method is one registry entry: a package that registers "Toy" through the entry point
    group dystress.recipes, and nothing else, gives notebook 04's method table, its runs and the run's summary
    a Toy row."""
    site = private_folders / "site"
    (site / "toy_recipe-0.1.dist-info").mkdir(parents=True)
    (site / "toy_recipe.py").write_text(TOY_RECIPE)
    (site / "toy_recipe-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-recipe\n"
                                                               "Version: 0.1\n")
    (site / "toy_recipe-0.1.dist-info" / "entry_points.txt").write_text("[dystress.recipes]\ntoy = toy_recipe\n")
    out = private_folders / "out"
    env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
                        "TQDM_DISABLE": "1"}
    done = subprocess.run([sys.executable, "-m", "dystress", "run", "--profile", "smoke", "--only", "04", "--out",
                           str(out), "-p", "methods=[SimCLR, Toy]", "-p", "epochs=1"], env=env, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    executed = nbformat.read(out / "04_pretraining.ipynb", as_version=4)
    markdown = "\n".join(o.get("data", {}).get("text/markdown", "") for c in code_cells(executed) for o in c.outputs)
    assert "| Toy | SimCLR at $\\tau = 0.5$ | a toy method of another package |" in markdown
    assert any(line.startswith("* Toy against SimCLR") for line in markdown.splitlines())  # one seed: no verdict
    assert [r["run"] for r in summary.rows_of(out / "04_pretraining.ipynb")] == ["SimCLR", "Toy", "MoCo", "Hard-MoCo"]
    assert "| 04_pretraining | Toy | 0 | digits |" in (out / "summary.md").read_text()


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_each_notebook_opens_and_closes_with_links_to_its_neighbours(source):
    cells = [c for c in jupytext.read(source).cells if c.cell_type == "markdown"]
    expected = execution.navigation(source)
    assert cells[0].source == expected and cells[-1].source == expected
    assert ("[← " in expected) == (source != SOURCES[0]) and (" →](" in expected) == (source != SOURCES[-1])
