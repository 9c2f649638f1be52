"""The summary of a ``dystress run``: the rows each notebook recorded (one per run), and the same numbers per
method over seeds (mean, std, n: ``dystress.pipeline.statistics.aggregate``), as JSON and Markdown.

A notebook records its rows as an output of its own (``record``): a display of the MIME type ``MIME``, with a
one-line text beside it for JupyterLab and the book. The rows travel inside the executed notebook, so
``dystress run`` reads them back from the notebooks it executed (``rows_of``); nothing passes between the
command and the kernel but the notebook itself.

    summary.json   {"methods": one row per (notebook, run label) with {"mean", "std", "n"} per number,
                    "runs": one row per run, with its seed}
    summary.md     the per-method table ("mean ± std (n)"), then the per-run table
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from dystress.atomic import write_text
from dystress.pipeline import statistics

MIME = "application/vnd.dystress.summary+json"

COLUMNS = (("notebook", "notebook", "{}"), ("run", "run", "{}"), ("seed", "seed", "{}"),
           ("dataset", "dataset", "{}"), ("model", "model", "{}"), ("temperature", "temperature", "{}"),
           ("epochs", "epochs", "{}"),
           ("knn_top1", "kNN top-1 %", "{:.2f}"),
           ("linear_top1", "linear top-1 %", "{:.2f}"), ("knn10_mean_class", "kNN@10 mean/class %", "{:.2f}"),
           ("neg_uniformity", "-uniformity", "{:.3f}"), ("tolerance", "tolerance", "{:.3f}"),
           ("train_seconds", "train s", "{:.0f}"), ("source", "source", "{}"))


def _plain(value):
    """A JSON value: numpy scalars as Python numbers, NaN as None."""
    if hasattr(value, "item"):
        value = value.item()
    return None if isinstance(value, float) and math.isnan(value) else value


def record(rows: list[dict]) -> None:
    """Show ``rows`` (``studies.summary_row`` dicts) as this notebook's summary output: the rows under ``MIME``
    and a line of text that says how many were recorded."""
    from IPython.display import display

    plain = [{key: _plain(value) for key, value in row.items()} for row in rows]
    notebooks = sorted({row["notebook"] for row in plain})
    display({MIME: plain, "text/plain": f"{len(plain)} runs recorded for the summary of `dystress run` "
                                        f"({', '.join(notebooks)})"}, raw=True)


def rows_of(notebook: Path) -> list[dict]:
    """The rows an executed notebook recorded (``record``), in order; [] when it recorded none."""
    import nbformat  # the notebook stack, which `train` and `evaluate` do not need

    nb = nbformat.read(notebook, as_version=4)
    return [row for cell in nb.cells if cell.cell_type == "code" for output in cell.get("outputs", [])
            if MIME in output.get("data", {}) for row in output["data"][MIME]]


def _cell(value, fmt: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):  # an aggregated number
        return f"{statistics.format_aggregate(value, fmt)} ({value['n']})"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return fmt.format(value)


def _table(rows: list[dict], columns: tuple) -> list[str]:
    lines = ["| " + " | ".join(title for _, title, _ in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(key), fmt) for key, _, fmt in columns) + " |" for row in rows]
    return lines


def markdown(rows: list[dict]) -> str:
    """The per-method table (mean ± std over seeds, n in parentheses), then the per-run table."""
    per_method = tuple(("seeds", "seeds", "{}") if column[0] == "seed" else column for column in COLUMNS)
    lines = ["## Per method, over seeds: mean ± std (n)", ""] + _table(statistics.aggregate(rows), per_method)
    lines += ["", "## Per run", ""] + _table(rows, COLUMNS)
    return "\n".join(lines) + "\n"


def write(notebooks: list[Path], out: Path) -> Path | None:
    """Write out/summary.json and out/summary.md from the rows the executed ``notebooks`` recorded; None when
    they recorded none."""
    rows = [row for notebook in notebooks for row in rows_of(notebook)]
    if not rows:
        return None
    write_text(out / "summary.json", json.dumps({"methods": statistics.aggregate(rows), "runs": rows}, indent=2))
    write_text(out / "summary.md", markdown(rows))
    return out / "summary.md"
