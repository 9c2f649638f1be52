"""The summary of a ``dystress run``: the rows each notebook recorded (one per run), and the same numbers per
method over seeds (mean, std, n: ``dystress.pipeline.seeds.aggregate``), as JSON and Markdown.

    summary.json   {"methods": one row per (notebook, run label) with {"mean", "std", "n"} per number,
                    "runs": one row per run, with its seed}
    summary.md     the per-method table ("mean ± std (n)"), then the per-run table
"""

from __future__ import annotations

import json
from pathlib import Path

from dystress.atomic import write_text
from dystress.pipeline import seeds

COLUMNS = (("notebook", "notebook", "{}"), ("run", "run", "{}"), ("seed", "seed", "{}"),
           ("dataset", "dataset", "{}"), ("model", "model", "{}"), ("temperature", "temperature", "{}"),
           ("epochs", "epochs", "{}"),
           ("knn_top1", "kNN top-1 %", "{:.2f}"),
           ("linear_top1", "linear top-1 %", "{:.2f}"), ("knn10_mean_class", "kNN@10 mean/class %", "{:.2f}"),
           ("neg_uniformity", "-uniformity", "{:.3f}"), ("tolerance", "tolerance", "{:.3f}"),
           ("train_seconds", "train s", "{:.0f}"), ("source", "source", "{}"))


def collect(folder: Path) -> list[dict]:
    """All rows recorded in ``folder`` (one JSON file per notebook), in notebook order."""
    if not folder.is_dir():
        return []
    rows = []
    for path in sorted(folder.glob("*.json")):
        rows.extend(json.loads(path.read_text()))
    return rows


def _cell(value, fmt: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):  # an aggregated number
        return f"{seeds.format_aggregate(value, fmt)} ({value['n']})"
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
    lines = ["## Per method, over seeds: mean ± std (n)", ""] + _table(seeds.aggregate(rows), per_method)
    lines += ["", "## Per run", ""] + _table(rows, COLUMNS)
    return "\n".join(lines) + "\n"


def write(folder: Path, out: Path) -> Path | None:
    """Write out/summary.json and out/summary.md from the rows in ``folder``; None when there are none."""
    rows = collect(folder)
    if not rows:
        return None
    write_text(out / "summary.json", json.dumps({"methods": seeds.aggregate(rows), "runs": rows}, indent=2))
    write_text(out / "summary.md", markdown(rows))
    return out / "summary.md"
