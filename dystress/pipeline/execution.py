"""Execute the notebook series with papermill.

The source of each notebook is ``notebooks/NN_name.py`` (jupytext py:percent); ``NN_name.ipynb`` next
to it is the same notebook executed with its defaults and committed, so that it reads with its figures.
``execute`` runs one source with parameters into an output notebook; ``render`` refreshes the committed
``.ipynb`` from its source.
"""

from __future__ import annotations

import logging
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


def title_of(notebook: nbformat.NotebookNode) -> str:
    """The text of the notebook's first level-1 heading."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    raise ValueError("the notebook has no level-1 heading to title its page")


def navigation(source: Path) -> str:
    """The line of links at the top and the bottom of a notebook: the previous notebook of the series, the
    series itself (the README's table) and the next one."""
    series = list_notebooks(source.parent)
    k = series.index(source)

    def short(neighbour: Path) -> str:  # its title up to a colon: "04 · Pretraining"
        return title_of(jupytext.read(neighbour)).split(":")[0].strip()

    parts = []
    if k > 0:
        parts.append(f"[← {short(series[k - 1])}]({series[k - 1].stem}.ipynb)")
    parts.append("[the series](../README.md#the-notebooks)")
    if k + 1 < len(series):
        parts.append(f"[{short(series[k + 1])} →]({series[k + 1].stem}.ipynb)")
    return " | ".join(parts)


def read_source(source: Path) -> nbformat.NotebookNode:
    """The notebook of a py:percent source, with deterministic cell ids."""
    nb = jupytext.read(source)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    return nb


def missing_requirements(source: Path) -> str | None:
    """What a notebook needs that this environment lacks, said in one line (None when nothing is missing): the
    modules its header lists under ``dystress.requires`` and the extra that installs them (``dystress.extra``)."""
    import importlib.util

    needs = jupytext.read(source).metadata.get("dystress", {})
    missing = [name for name in needs.get("requires", []) if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    extra = needs.get("extra")
    how = f"pip install -e '.[{extra}]'" if extra else f"install {', '.join(missing)}"
    return f"{source.stem} needs {', '.join(missing)}, which this environment lacks ({how})"


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
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt):  # the kernel's pollers end with a DeadKernelError that asyncio
            logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # would log as a traceback once collected
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
