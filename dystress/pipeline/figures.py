"""What the notebooks show beside their prose: figure files (one place decides where figures go and how they
are written), the figures several notebooks draw, and the library's own code.

Figures go to ``$DYSTRESS_FIG_DIR/<notebook>/`` when that variable is set (``dystress run`` sets it to
its output folder), otherwise to ``./figures/<notebook>/``. Files are written without timestamps, so
re-running a notebook rewrites identical PNG/PDF bytes for identical figures.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt

from dystress.atomic import replacing

FORMATS = ("png", "pdf")
_METADATA = {"png": {"Software": None}, "pdf": {"Creator": None, "Producer": None, "CreationDate": None}}


def use_style() -> None:
    """The look shared by all notebooks."""
    matplotlib.rcParams.update({
        "figure.dpi": 100, "savefig.dpi": 150, "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
        "axes.spines.right": False, "legend.frameon": False, "font.size": 10, "svg.hashsalt": "dystress",
    })


def figure_dir(notebook: str) -> Path:
    root = os.environ.get("DYSTRESS_FIG_DIR") or "figures"
    return Path(root) / notebook


def savefig(fig: plt.Figure, notebook: str, name: str) -> None:
    """Write ``fig`` as <figure_dir(notebook)>/<name>.png and .pdf.

    The figure stays open so that the notebook also shows it inline.
    """
    folder = figure_dir(notebook)
    folder.mkdir(parents=True, exist_ok=True)
    for ext in FORMATS:
        with replacing(folder / f"{name}.{ext}") as tmp:
            fig.savefig(tmp, format=ext, bbox_inches="tight", metadata=_METADATA[ext])



def training_curves(results, names: list[str], seeds: list[int], highlight: tuple[str, ...] = ("SimCLR", "DySTreSS"),
                    columns=(("loss", 1, "training loss (each on its own scale)"), ("knn_top1", 1, "kNN top-1 (%)"),
                             ("uniformity", -1, "-uniformity of the test projections"))) -> plt.Figure:
    """One panel per (metric column, sign, title) of the runs' per-epoch metrics: each method's mean over
    ``seeds`` (``results``: a ``studies.Results``), its seeds as faint lines. The ``highlight`` methods are drawn
    thick and set each panel's limits, so that another method's swings (a temperature schedule's loss) cannot
    squeeze them; the legend sits under the panels."""
    fig, axes = plt.subplots(1, len(columns), figsize=(4.6 * len(columns), 3.6), layout="constrained")
    limits: dict[int, list[float]] = {}
    for k, name in enumerate(names):
        strong = name in highlight
        histories = [results[(name, seed)].history for seed in seeds]
        for j, (ax, (column, sign, _)) in enumerate(zip(axes, columns)):
            curves = [[(r["epoch"], sign * r[column]) for r in h if r.get(column) is not None] for h in histories]
            if not curves[0]:
                continue
            epochs = [e for e, _ in curves[0]]
            mean = [sum(c[i][1] for c in curves) / len(curves) for i in range(len(epochs))]
            ax.plot(epochs, mean, "-" if column == "loss" else "o-", color=f"C{k}", markersize=3 if strong else 2,
                    linewidth=2.2 if strong else 1.0, alpha=1.0 if strong else 0.7, label=name,
                    zorder=3 if strong else 2)
            for curve in curves if len(curves) > 1 else []:
                ax.plot([e for e, _ in curve], [v for _, v in curve], "-", color=f"C{k}",
                        alpha=0.3 if strong else 0.15, linewidth=0.8)
            if strong:
                values = [v for curve in curves for _, v in curve] + limits.get(j, [])
                limits[j] = [min(values), max(values)]
    for j, (ax, (_, _, title)) in enumerate(zip(axes, columns)):
        if j in limits:
            low, high = limits[j]
            margin = 0.15 * (high - low) or 0.05
            ax.set_ylim(low - margin, high + margin)
        ax.set(xlabel="epoch", title=title)
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 6), fontsize=9)
    return fig


def source_of(*objects) -> str:
    """The source code of ``objects`` (functions, methods) as it stands in the library, as one Markdown code block,
    so that a notebook shows the code it describes without a copy of it."""
    import inspect
    import textwrap

    return "```python\n" + "\n\n".join(textwrap.dedent(inspect.getsource(o)).rstrip() for o in objects) + "\n```"
