"""Execute the notebook series with papermill.

The source of each notebook is ``notebooks/NN_name.py`` (jupytext py:percent); ``NN_name.ipynb`` next
to it is the same notebook executed with its defaults and committed, so that it reads with its figures.
``execute`` runs one source with parameters into an output notebook; ``render`` refreshes the committed
``.ipynb`` from its source.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import jupytext
import nbformat

from dystress.paths import REPO_ROOT

NOTEBOOK_PATTERN = re.compile(r"^(\d\d)_[a-z0-9_]+\.py$")
KERNEL = "python3"


def notebook_dir() -> Path:
    """The series' folder: ``$DYSTRESS_NOTEBOOKS`` when set (a copy of the series to work on), else notebooks/."""
    folder = Path(os.environ.get("DYSTRESS_NOTEBOOKS") or REPO_ROOT / "notebooks")
    if not folder.is_dir():
        raise FileNotFoundError(f"notebook folder {folder} not found: install the package from a clone of the "
                                "repository (pip install -e .), whose notebooks/ it runs")
    return folder


def list_notebooks(folder: Path | None = None, only: list[str] | None = None) -> list[Path]:
    """The series' sources in order; ``only`` selects by number ("01") or stem ("01_gradient_analysis")."""
    folder = folder or notebook_dir()
    sources = sorted(p for p in folder.iterdir() if NOTEBOOK_PATTERN.match(p.name))
    if only:
        known = {p.stem[:2]: p for p in sources} | {p.stem: p for p in sources}
        unknown = [o for o in only if o not in known]
        if unknown:
            raise ValueError(f"unknown notebook {', '.join(unknown)}; choose from "
                             f"{', '.join(p.stem for p in sources)}")
        return sorted({known[o] for o in only})
    return sources


def read_source(source: Path) -> nbformat.NotebookNode:
    """The notebook of a py:percent source, with deterministic cell ids."""
    nb = jupytext.read(source)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    return nb


def _strip_run_metadata(nb: nbformat.NotebookNode) -> None:
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)


def execute(source: Path, output: Path, parameters: dict | None = None, figure_dir: Path | None = None,
            timeout: int = 7200, log_output: bool = False, environment: dict | None = None) -> nbformat.NotebookNode:
    """Run ``source`` with papermill and write the executed notebook to ``output`` atomically.

    parameters: values for the notebook's parameters cell (checked by the notebook itself);
    figure_dir: where the notebook writes its figures (``$DYSTRESS_FIG_DIR``); environment: variables set
    (or, with value None, removed) for the kernel of this notebook only. The kernel runs in the
    source's folder. On error papermill's ``PapermillExecutionError`` (naming the failing cell) is
    raised and the notebook as far as it ran is kept as ``<output stem>.failed.ipynb``.
    """
    import papermill

    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.stem}.partial.ipynb")
    changes = dict(environment or {})
    if figure_dir is not None:
        changes["DYSTRESS_FIG_DIR"] = str(Path(figure_dir).resolve())
    previous = {name: os.environ.get(name) for name in changes}
    for name, value in changes.items():
        _set_environment(name, value)
    try:
        nb = papermill.execute_notebook(
            read_source(source), str(tmp), parameters=parameters or {}, kernel_name=KERNEL,
            cwd=str(source.parent), progress_bar=False, log_output=log_output, execution_timeout=timeout,
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],  # a cell's error reaches us through papermill;
            # the kernel's own log would add a traceback for every interrupt
        )
    except BaseException:
        if tmp.exists():
            os.replace(tmp, output.with_name(f"{output.stem}.failed.ipynb"))
        raise
    finally:
        for name, value in previous.items():
            _set_environment(name, value)
    _strip_run_metadata(nb)
    nbformat.write(nb, tmp)
    os.replace(tmp, output)
    return nb


def _set_environment(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def render(source: Path, figure_dir: Path | None = None) -> Path:
    """Re-execute ``source`` with its defaults into the paired, committed ``.ipynb``."""
    start = time.perf_counter()
    target = source.with_suffix(".ipynb")
    try:
        execute(source, target, figure_dir=figure_dir, environment={"TQDM_DISABLE": "1"})  # no progress bars kept
    except KeyboardInterrupt:
        target.with_name(f"{target.stem}.failed.ipynb").unlink(missing_ok=True)  # nothing of it beside the sources
        raise
    print(f"rendered {target.name} in {time.perf_counter() - start:.0f} s")
    return target
