# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 06 · Temperature sweep: the reverse U, the dilemma, and the DySTreSS grid
#
# Notebook 04 is run under papermill once per grid point: SimCLR at each constant temperature, and
# DySTreSS at each $(\tau_{\min}, \tau_{\max})$ pair. Every child notebook computes or loads its run and
# is kept; this notebook gathers the result bundles. Wang & Liu predict, for a constant temperature:
# accuracy first rises then falls with $\tau$ (a reverse U), $-\mathcal{U}$ falls and tolerance rises.
# The heat map shows how sensitive DySTreSS is to its range.

# %% tags=["parameters"]
profile: str = "small"  # smoke | small | paper
taus: list[float] = [0.07, 0.2, 0.3, 0.7, 1.0]  # SimCLR temperatures (Wang & Liu's, and the official 0.2)
tau_mins: list[float] = [0.07, 0.1]  # DySTreSS lower temperatures of the grid
tau_maxs: list[float] = [0.2, 0.5]  # DySTreSS upper temperatures of the grid
dataset: str = ""  # empty: the profile's dataset
data_dir: str = ""  # where the dataset is (empty: $DYSTRESS_DATA or data/)
epochs: int = 0  # 0: the profile's number of epochs
seed: int = 0  # seed of the runs
force: bool = False  # retrain every grid point
children_dir: str = ""  # where executed child notebooks go (empty: $DYSTRESS_OUT/06_children or ./06_children)

# %%
from dystress.pipeline.parameters import check_parameters

params = check_parameters(globals())

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from dystress.pipeline import execution, published, recipes, runs
from dystress.pipeline.figures import savefig, use_style

use_style()
NOTEBOOK = "06_temperature_sweep"
points = recipes.sweep_points(profile, taus, tau_mins, tau_maxs, dataset, data_dir, epochs, seed)
children = Path(children_dir or Path(os.environ.get("DYSTRESS_OUT", ".")) / "06_children")
pretraining = execution.list_notebooks(only=["04"])[0]
print(f"{len(points)} grid points; child notebooks go to {children}")

# %% [markdown]
# Grid points whose result is already stored are not executed again (their child notebook would only
# re-render it); the others run notebook 04 with the point's parameters.

# %%
for point in points:
    if runs.find_result(point["config"]) is not None and not force:
        print(f"{point['label']:<22} stored")
        continue
    target = children / f"04_pretraining-{point['label']}.ipynb"
    execution.execute(pretraining, target, point["parameters"] | {"force": force},
                      figure_dir=children / "figures" / point["label"], environment={"DYSTRESS_SUMMARY_DIR": None})
    print(f"{point['label']:<22} executed -> {target}")
results = {p["label"]: runs.compute_or_load(p["config"]) for p in points}

# %% tags=["nbval-check-output"]
rows = [recipes.summary_row(NOTEBOOK, label, result) for label, result in results.items()]
print(f"{'run':<22}{'kNN top-1':>10}{'linear':>8}{'-uniformity':>13}{'tolerance':>11}")
for row in rows:
    print(f"{row['run']:<22}{row['knn_top1']:>10.2f}{row['linear_top1']:>8.2f}{row['neg_uniformity']:>13.3f}"
          f"{row['tolerance']:>11.3f}")
recipes.record_summary(NOTEBOOK, rows)

# %% [markdown]
# ## Constant temperature: accuracy, uniformity, tolerance
#
# Dashed: Wang & Liu's published CIFAR-10 values (ResNet-18, 200 epochs, linear accuracy), for the shape
# of the curves; the scales differ from a short run.

# %%
simclr = [p for p in points if p["method"] == "SimCLR"]
tau_axis = [p["temperature"] for p in simclr]
get = lambda key: [next(r for r in rows if r["run"] == p["label"])[key] for p in simclr]  # noqa: E731
wl = published.WANG_LIU["CIFAR-10"]
fig, axes = plt.subplots(1, 3, figsize=(15, 3.8), layout="constrained")
axes[0].plot(tau_axis, get("knn_top1"), "o-", label="kNN (this run)")
axes[0].plot(tau_axis, get("linear_top1"), "s-", label="linear (this run)")
axes[0].set(xscale="log", xlabel="temperature", ylabel="top-1 (%)", title="Accuracy")
twin = axes[0].twinx()
twin.plot(published.WANG_LIU_TAUS, wl["acc"]["contrastive"], "k--", alpha=0.5, label="Wang & Liu linear")
twin.set(ylabel="Wang & Liu (%)")
axes[1].plot(tau_axis, get("neg_uniformity"), "o-", label="this run")
axes[1].plot(published.WANG_LIU_TAUS, wl["neg_uniformity"]["contrastive"], "k--", alpha=0.5, label="Wang & Liu")
axes[1].set(xscale="log", xlabel="temperature", ylabel="-uniformity", title="Uniformity")
axes[2].plot(tau_axis, get("tolerance"), "o-", label="this run")
axes[2].plot(published.WANG_LIU_TAUS, wl["tolerance"]["contrastive"], "k--", alpha=0.5, label="Wang & Liu")
axes[2].set(xscale="log", xlabel="temperature", ylabel="tolerance", title="Tolerance")
for ax in axes:
    ax.legend(fontsize=8, loc="lower right")
savefig(fig, NOTEBOOK, "constant_temperature")

# %% [markdown]
# ## The DySTreSS grid

# %%
grid = np.full((len(tau_mins), len(tau_maxs)), np.nan)
for p in points:
    if p["method"] == "DySTreSS":
        row = next(r for r in rows if r["run"] == p["label"])
        grid[tau_mins.index(p["tau_min"]), tau_maxs.index(p["tau_max"])] = row["knn_top1"]
fig, ax = plt.subplots(figsize=(1.6 * len(tau_maxs) + 2, 1.2 * len(tau_mins) + 1.5))
image = ax.imshow(grid, cmap="viridis")
for i in range(len(tau_mins)):
    for j in range(len(tau_maxs)):
        if not np.isnan(grid[i, j]):
            ax.text(j, i, f"{grid[i, j]:.1f}", ha="center", va="center", color="w")
ax.set(xticks=range(len(tau_maxs)), xticklabels=[f"{t:g}" for t in tau_maxs], yticks=range(len(tau_mins)),
       yticklabels=[f"{t:g}" for t in tau_mins], xlabel="tau_max", ylabel="tau_min",
       title="DySTreSS kNN top-1 (%)")
ax.grid(False)
fig.colorbar(image, ax=ax)
savefig(fig, NOTEBOOK, "dystress_grid")
