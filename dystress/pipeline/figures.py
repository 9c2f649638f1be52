"""Figure files: one place decides where figures go and how they are written.

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
