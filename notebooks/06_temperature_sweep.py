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
#
# **Parameters** (the cell tagged `parameters`; `dystress run -p name=value` or papermill's `-p`):
# - `profile` (str, default `"small"`): smoke | small | paper
# - `taus` (list[float], default `[0.07, 0.2, 0.3, 0.7, 1.0]`): SimCLR temperatures (Wang & Liu's, and the official
#   0.2)
# - `tau_mins` (list[float], default `[0.05, 0.07, 0.1]`): DySTreSS lower temperatures of the grid
# - `tau_maxs` (list[float], default `[0.2]`): DySTreSS upper temperatures of the grid
# - `dataset` (str, default `""`): empty: the profile's dataset
# - `data_dir` (str, default `""`): where the dataset is (empty: `$DYSTRESS_DATA` or data/)
# - `epochs` (int, default `0`): 0: the profile's number of epochs
# - `seeds` (list[int], default `[]`): empty: the profile's sweep seeds (smoke, small: [0]; paper: [0, 1, 2])
# - `force` (bool, default `False`): retrain every grid point
# - `children_dir` (str, default `""`): where executed child notebooks go (empty: `$DYSTRESS_OUT`/06_children or
#   ./06_children)

# %% tags=["parameters"]
profile: str = "small"  # smoke | small | paper
taus: list[float] = [0.07, 0.2, 0.3, 0.7, 1.0]  # SimCLR temperatures (Wang & Liu's, and the official 0.2)
tau_mins: list[float] = [0.05, 0.07, 0.1]  # DySTreSS lower temperatures of the grid
tau_maxs: list[float] = [0.2]  # DySTreSS upper temperatures of the grid
dataset: str = ""  # empty: the profile's dataset
data_dir: str = ""  # where the dataset is (empty: $DYSTRESS_DATA or data/)
epochs: int = 0  # 0: the profile's number of epochs
seeds: list[int] = []  # empty: the profile's sweep seeds (smoke, small: [0]; paper: [0, 1, 2])
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
from dystress.pipeline import seeds as over_seeds
from dystress.pipeline.figures import savefig, use_style

use_style()
NOTEBOOK = "06_temperature_sweep"
points = recipes.sweep_points(profile, taus, tau_mins, tau_maxs, dataset, data_dir, epochs, seeds)
seed_values = list(dict.fromkeys(p["seed"] for p in points))
labels = list(dict.fromkeys(p["label"] for p in points))
children = Path(children_dir or Path(os.environ.get("DYSTRESS_OUT", ".")) / "06_children")
pretraining = execution.list_notebooks(only=["04"])[0]
print(f"{len(labels)} grid points x {len(seed_values)} seed(s) {seed_values}; child notebooks go to {children}")

# %% [markdown]
# Grid points whose result is already stored are not executed again (their child notebook would only
# re-render it); the others run notebook 04 with the point's parameters.

# %%
for point in points:
    name = f"{point['label']} seed {point['seed']}"
    if runs.find_result(point["config"]) is not None and not force:
        print(f"{name:<30} stored")
        continue
    target = children / f"04_pretraining-{point['label']}-seed{point['seed']}.ipynb"
    execution.execute(pretraining, target, point["parameters"] | {"force": force},
                      figure_dir=children / "figures" / f"{point['label']}-seed{point['seed']}",
                      environment={"DYSTRESS_SUMMARY_DIR": None})
    print(f"{name:<30} executed -> {target}")
results = {(p["label"], p["seed"]): runs.compute_or_load(p["config"]) for p in points}

# %% [markdown]
# Mean ± standard deviation over the seeds, n beside each point.

# %% tags=["nbval-check-output"]
rows = [recipes.summary_row(NOTEBOOK, label, result) for (label, _), result in results.items()]
per_point = {row["run"]: row for row in over_seeds.aggregate(rows)}
print(over_seeds.text_table(list(per_point.values()), [("knn_top1", "kNN top-1", 2), ("linear_top1", "linear", 2),
                                                        ("neg_uniformity", "-uniformity", 3),
                                                        ("tolerance", "tolerance", 3)]))
recipes.record_summary(NOTEBOOK, rows)

# %% [markdown]
# ## Constant temperature: accuracy, uniformity, tolerance
#
# Dashed: Wang & Liu's published CIFAR-10 values (ResNet-18, 200 epochs, linear accuracy), for the shape
# of the curves; the scales differ from a short run.

# %%
simclr = [p for p in points if p["method"] == "SimCLR" and p["seed"] == seed_values[0]]
tau_axis = [p["temperature"] for p in simclr]
mean = lambda key: [per_point[p["label"]][key]["mean"] for p in simclr]  # noqa: E731
std = lambda key: [per_point[p["label"]][key]["std"] or 0.0 for p in simclr]  # noqa: E731
n_seeds = len(seed_values)
wl = published.WANG_LIU["CIFAR-10"]
fig, axes = plt.subplots(1, 3, figsize=(15, 3.8), layout="constrained")
axes[0].errorbar(tau_axis, mean("knn_top1"), std("knn_top1"), fmt="o-", capsize=3, label=f"kNN (n={n_seeds})")
axes[0].errorbar(tau_axis, mean("linear_top1"), std("linear_top1"), fmt="s-", capsize=3,
                 label=f"linear (n={n_seeds})")
axes[0].set(xscale="log", xlabel="temperature", ylabel="top-1 (%), this run", title="Accuracy")
twin = axes[0].twinx()
twin.plot(published.WANG_LIU_TAUS, wl["acc"]["contrastive"], "k--", alpha=0.5,
          label="Wang & Liu linear (right axis)")
twin.set(ylabel="Wang & Liu linear top-1 (%)")
axes[1].errorbar(tau_axis, mean("neg_uniformity"), std("neg_uniformity"), fmt="o-", capsize=3,
                 label=f"this run (n={n_seeds})")
axes[1].plot(published.WANG_LIU_TAUS, wl["neg_uniformity"]["contrastive"], "k--", alpha=0.5, label="Wang & Liu")
axes[1].set(xscale="log", xlabel="temperature", ylabel="-uniformity", title="Uniformity")
axes[2].errorbar(tau_axis, mean("tolerance"), std("tolerance"), fmt="o-", capsize=3, label=f"this run (n={n_seeds})")
axes[2].plot(published.WANG_LIU_TAUS, wl["tolerance"]["contrastive"], "k--", alpha=0.5, label="Wang & Liu")
axes[2].set(xscale="log", xlabel="temperature", ylabel="tolerance", title="Tolerance")
handles, texts = axes[0].get_legend_handles_labels()
more_handles, more_texts = twin.get_legend_handles_labels()
axes[0].legend(handles + more_handles, texts + more_texts, fontsize=8, loc="lower right")
for ax in axes[1:]:
    ax.legend(fontsize=8, loc="lower right")
savefig(fig, NOTEBOOK, "constant_temperature")

# %% [markdown]
# ## The DySTreSS grid

# %%
grid = np.full((len(tau_mins), len(tau_maxs)), np.nan)
spread = np.full_like(grid, np.nan)
for p in points:
    if p["method"] == "DySTreSS" and p["seed"] == seed_values[0]:
        knn = per_point[p["label"]]["knn_top1"]
        at = tau_mins.index(p["tau_min"]), tau_maxs.index(p["tau_max"])
        grid[at], spread[at] = knn["mean"], knn["std"] if knn["std"] is not None else np.nan
largest = np.nanmax(spread) if np.isfinite(spread).any() else np.nan
print(f"DySTreSS grid, kNN top-1 over {n_seeds} seed(s): means {np.nanmin(grid):.2f} to {np.nanmax(grid):.2f} "
      f"(range {np.nanmax(grid) - np.nanmin(grid):.2f}); largest seed std "
      + ("not measured (one seed)" if np.isnan(largest) else f"{largest:.2f}"))
# the colour scale spans at least 4 seed standard deviations (or 4 points with one seed), so that colours
# never magnify differences smaller than the spread
centre, width = (np.nanmax(grid) + np.nanmin(grid)) / 2, max(np.nanmax(grid) - np.nanmin(grid),
                                                            4 * (largest if np.isfinite(largest) else 1.0))
fig, ax = plt.subplots(figsize=(1.9 * len(tau_maxs) + 2, 1.2 * len(tau_mins) + 1.5))
image = ax.imshow(grid, cmap="viridis", vmin=centre - width / 2, vmax=centre + width / 2)
for i in range(len(tau_mins)):
    for j in range(len(tau_maxs)):
        if not np.isnan(grid[i, j]):
            text = f"{grid[i, j]:.1f}" + ("" if np.isnan(spread[i, j]) else f"\n± {spread[i, j]:.1f}")
            ax.text(j, i, text, ha="center", va="center", color="w")
ax.set(xticks=range(len(tau_maxs)), xticklabels=[f"{t:g}" for t in tau_maxs], yticks=range(len(tau_mins)),
       yticklabels=[f"{t:g}" for t in tau_mins], xlabel="tau_max", ylabel="tau_min",
       title=f"DySTreSS kNN top-1 (%), n={n_seeds}")
ax.grid(False)
fig.colorbar(image, ax=ax)
savefig(fig, NOTEBOOK, "dystress_grid")

# %%
print("Wang & Liu, CIFAR-10, ResNet-18 (paper):")
print("tau          " + "".join(f"{t:>8g}" for t in published.WANG_LIU_TAUS))
for key, label in (("acc", "linear top-1"), ("neg_uniformity", "-uniformity"), ("tolerance", "tolerance")):
    print(f"{label:<13}" + "".join(f"{v:>8}" for v in wl[key]["contrastive"]))

# %% [markdown]
# ## What the numbers show, and what they do not
#
# In the committed sweep (the `small` recipe, one seed per point, n = 1):
#
# * from $\tau = 0.2$ upwards -uniformity falls (3.400, 3.264, 2.872, 2.674) and tolerance rises (0.125,
#   0.151, 0.203, 0.237): the direction Wang & Liu report, and a trend across four points rather than one
#   difference;
# * $\tau = 0.07$ does not continue it: -uniformity 3.208 is below that at 0.2 and tolerance 0.186 above,
#   where Wang & Liu's ResNet-18 is most uniform and least tolerant at 0.07 (3.86, 0.040). The model does not
#   collapse (kNN 49.20);
# * kNN is highest at $\tau = 0.3$ (49.51) but only 0.21 above $\tau = 0.2$: the top of the reverse U cannot
#   be placed with one seed; only its fall at 0.7 and 1.0 (48.13, 47.24) is larger than that;
# * the DySTreSS points with $\tau_{\max} = 0.2$ span 48.84 to 50.01 as $\tau_{\min}$ goes from 0.05 to 0.1,
#   each one seed, and all three are more uniform and less tolerant than every constant temperature. With
#   `-p 'seeds=[0, 1, 2]'` and a wider grid (`tau_maxs`) the sweep gives error bars.
