"""What the notebooks show beside their prose: figure files (one place decides where figures go and how they
are written), the figures several notebooks draw, and the library's own code.

Figures go to ``$DYSTRESS_FIG_DIR/<notebook>/`` when that variable is set (``dystress run`` sets it to
its output folder), otherwise to ``./figures/<notebook>/``. Files are written without timestamps, so
re-running a notebook rewrites identical PNG/PDF bytes for identical figures.
"""

from __future__ import annotations

import io
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


CAPTION_KEY = "dystress_figure"  # the metadata of a caption output: the book makes it the figure's caption
SCREEN_DPI = 100  # the figure's size on the page; its image has savefig.dpi (150) pixels per inch, shown sharper
_numbers: dict[str, dict[str, int]] = {}  # notebook -> {figure name: its number}, in the order first shown


def figure_number(notebook: str, name: str) -> int:
    """The number of figure ``name`` in ``notebook``: 1, 2, ... in the order the figures are first shown; showing
    one again keeps its number."""
    shown = _numbers.setdefault(notebook, {})
    return shown.setdefault(name, len(shown) + 1)


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) in pixels of a PNG image, from its header."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG image")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def write_png(fig: plt.Figure, path) -> bytes:
    """Write ``fig`` as a PNG of 256 colours (median cut, no dithering): a third of the bytes of matplotlib's
    true-colour PNG for the flat colours of a plot, with no visible change. Returns the bytes written."""
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", metadata=_METADATA["png"])
    image = Image.open(buffer).convert("RGB")
    out = io.BytesIO()
    image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(out, format="PNG",
                                                                                         optimize=True)
    Path(path).write_bytes(out.getvalue())
    return out.getvalue()


def savefig(fig: plt.Figure, notebook: str, name: str, caption: str = "", alt: str = "") -> None:
    """Write ``fig`` as <figure_dir(notebook)>/<name>.png and .pdf; with a ``caption``, show it as numbered figure.

    With a caption the notebook shows the PNG just written (savefig.dpi pixels per inch, displayed at
    ``SCREEN_DPI``), then "**Figure N.** caption" as Markdown, whose output metadata (``CAPTION_KEY``: number,
    name, caption, alt text) the book turns into the figure's caption and alt text; the figure is closed. Without
    one the figure stays open and the notebook shows it inline as any figure.
    """
    folder = figure_dir(notebook)
    folder.mkdir(parents=True, exist_ok=True)
    for ext in FORMATS:
        with replacing(folder / f"{name}.{ext}") as tmp:
            if ext == "png":
                data = write_png(fig, tmp)
            else:
                fig.savefig(tmp, format=ext, bbox_inches="tight", metadata=_METADATA[ext])
    if not caption:
        return
    from IPython.display import Image, Markdown, display

    width = round(png_size(data)[0] * SCREEN_DPI / matplotlib.rcParams["savefig.dpi"])
    number = figure_number(notebook, name)
    text = alt or caption
    display(Image(data=data, format="png", width=width, metadata={"alt": text}))
    plt.close(fig)
    display(Markdown(f"**Figure {number}.** {caption}"),
            metadata={CAPTION_KEY: {"number": number, "name": name, "caption": caption, "alt": text}})


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
