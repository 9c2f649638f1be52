"""The summary table of a ``dystress run``: the rows each notebook recorded, as JSON and Markdown."""

from __future__ import annotations

import json
from pathlib import Path

from dystress.atomic import write_text

COLUMNS = (("notebook", "notebook", "{}"), ("run", "run", "{}"), ("dataset", "dataset", "{}"),
           ("model", "model", "{}"), ("temperature", "temperature", "{}"), ("epochs", "epochs", "{}"),
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


def markdown(rows: list[dict]) -> str:
    header = "| " + " | ".join(title for _, title, _ in COLUMNS) + " |"
    lines = [header, "|" + "---|" * len(COLUMNS)]
    for row in rows:
        cells = ["-" if row.get(key) is None else fmt.format(row[key]) for key, _, fmt in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write(folder: Path, out: Path) -> Path | None:
    """Write out/summary.json and out/summary.md from the rows in ``folder``; None when there are none."""
    rows = collect(folder)
    if not rows:
        return None
    write_text(out / "summary.json", json.dumps(rows, indent=2))
    write_text(out / "summary.md", markdown(rows))
    return out / "summary.md"
