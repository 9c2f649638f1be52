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
# # 04 · Pretraining: SimCLR against DySTreSS under one recipe
#
# Everything but the loss is shared: data, augmentation (SimCLR's CIFAR pipeline, per image on the
# device), encoder, optimiser, schedule, epochs and seed. SimCLR uses a constant temperature; DySTreSS
# uses $\tau(s) = \tau_{\min} + (\tau_{\max} - \tau_{\min})\sin^2(\pi s/2)$ per pair. Where the profile
# allows, MACL, DCL, the hard loss of Wang & Liu and the Kukleva et al. temperature schedule run with the
# same recipe (their definitions: `dystress.pipeline.recipes`).
#
# Each run is computed **or loaded**: its configuration has a hash, and a stored result of that hash
# (in `results/`, committed, or in `runs/`, your cache) is rendered instead of retraining. The profile
# decides the scale: `smoke` (digits, seconds), `small` (CIFAR-10, 500 images per class, a small CNN,
# minutes on a CPU), `paper` (CIFAR-10, ResNet-18, 200 epochs: the paper's recipe, on a GPU).

# %% tags=["parameters"]
profile: str = "small"  # smoke | small | paper
dataset: str = ""  # empty: the profile's dataset (smoke: digits; small, paper: cifar10)
data_dir: str = ""  # where the dataset is (empty: $DYSTRESS_DATA or data/)
epochs: int = 0  # 0: the profile's number of epochs
methods: list[str] = []  # empty: the profile's list (smoke, small: all six; paper: SimCLR, DySTreSS)
temperature: float = 0.2  # constant temperature of SimCLR, DCL, the hard loss; MACL's tau_0
tau_min: float = 0.07  # DySTreSS lower temperature
tau_max: float = 0.2  # DySTreSS upper temperature
seed: int = 0  # seed of the runs
force: bool = False  # retrain even when a stored result exists

# %%
from dystress.pipeline.parameters import check_parameters

params = check_parameters(globals())

# %%
import matplotlib.pyplot as plt

from dystress.pipeline import published, recipes, runs
from dystress.pipeline.figures import savefig, use_style

use_style()
NOTEBOOK = "04_pretraining"
configs = recipes.method_configs(profile, methods or None, temperature, tau_min, tau_max, dataset=dataset,
                                     data_dir=data_dir, epochs=epochs, seed=seed)
base = next(iter(configs.values()))
print(f"profile {profile}: {base.dataset}, {base.model}, {base.epochs} epochs, batch {base.batch_size}, "
      f"{base.optimizer} lr {base.lr} momentum {base.momentum} weight decay {base.weight_decay}")

# %%
results = {name: runs.compute_or_load(config, force=force) for name, config in configs.items()}
for name, result in results.items():
    print(f"{name:<9} {result.source:<9} {result.folder.name}")

# %% [markdown]
# ## Final numbers
#
# kNN: weighted vote of the 200 nearest training features (the paper's protocol); linear: a linear
# classifier on frozen features (fixed schedule, `dystress.engine.evaluate`). Final-epoch numbers only: no
# checkpoint is chosen by its test accuracy.

# %% tags=["nbval-check-output"]
rows = [recipes.summary_row(NOTEBOOK, name, result) for name, result in results.items()]
print(f"{'method':<10}{'kNN top-1':>10}{'linear':>8}{'-uniformity':>13}{'tolerance':>11}{'final loss':>12}"
      f"{'train s':>9}")
for row in rows:
    print(f"{row['run']:<10}{row['knn_top1']:>10.2f}{row['linear_top1']:>8.2f}{row['neg_uniformity']:>13.3f}"
          f"{row['tolerance']:>11.3f}{row['final_loss']:>12.4f}{row['train_seconds']:>9.0f}"
          + ("   collapsed: the projections are nearly all alike" if row["neg_uniformity"] < 1 else ""))
recipes.record_summary(NOTEBOOK, rows)

# %% [markdown]
# ## Training curves
#
# Loss values are not comparable across losses (each has its own scale); kNN accuracy, evaluated every
# few epochs and at the last one, is. Epoch 0 is the untrained encoder.

# %%
fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
for name, result in results.items():
    trained = [r for r in result.history if r["loss"] is not None]
    evaluated = [r for r in result.history if r["knn_top1"] is not None]
    axes[0].plot([r["epoch"] for r in trained], [r["loss"] for r in trained], label=name)
    axes[1].plot([r["epoch"] for r in evaluated], [r["knn_top1"] for r in evaluated], "o-", label=name)
    axes[2].plot([r["epoch"] for r in evaluated], [-r["uniformity"] for r in evaluated], "o-", label=name)
axes[0].set(xlabel="epoch", ylabel="training loss", title="Loss (each on its own scale)")
axes[1].set(xlabel="epoch", ylabel="kNN top-1 (%)", title="kNN accuracy")
axes[2].set(xlabel="epoch", ylabel="-uniformity", title="Uniformity of the test features")
axes[1].legend(fontsize=8)
savefig(fig, NOTEBOOK, "curves")

# %% [markdown]
# ## The temperatures the losses used
#
# Mean temperature of the positive pairs and of the negative pairs per epoch, with the range seen in the
# epoch shaded. DySTreSS gives positives (high similarity) temperatures near $\tau_{\max}$ and most
# negatives (similarity near 0) temperatures near $\tau_{\min}$; as training separates instances, the
# positives move up the profile.

# %%
shown = [n for n in results if n in ("DySTreSS", "MACL", "Kukleva", "SimCLR")]
fig, axes = plt.subplots(1, len(shown), figsize=(4 * len(shown), 3.5), squeeze=False)
for ax, name in zip(axes[0], shown):
    trained = [r for r in results[name].history if r["loss"] is not None]
    epoch = [r["epoch"] for r in trained]
    for kind, color in (("pos", "C0"), ("neg", "C3")):
        mean = [r[f"tau_{kind}_mean"] for r in trained]
        ax.plot(epoch, mean, color=color, label=f"{'positives' if kind == 'pos' else 'negatives'}")
        ax.fill_between(epoch, [r[f"tau_{kind}_min"] for r in trained], [r[f"tau_{kind}_max"] for r in trained],
                        color=color, alpha=0.15)
    low = min(r[f"tau_{k}_min"] for r in trained for k in ("pos", "neg"))
    high = max(r[f"tau_{k}_max"] for r in trained for k in ("pos", "neg"))
    margin = max(0.1 * (high - low), 0.01)
    ax.set(xlabel="epoch", ylabel="tau", title=name, ylim=(low - margin, high + margin))
    ax.legend(fontsize=8)
savefig(fig, NOTEBOOK, "temperatures")

# %% [markdown]
# ## Published numbers, for orientation
#
# The paper's CIFAR runs use ResNet-18 for 200 epochs; rows marked *secondary* are quoted from summaries
# of the paper. Only the `paper` profile reproduces that recipe; `smoke` and `small` are far shorter and
# smaller, so compare directions, not values.

# %%
for row in published.DYSTRESS[:2]:
    print(f"{row['setting']} ({row['metric']}, {row['source']}): SimCLR {row['SimCLR']}, MACL {row['MACL']}, "
          f"DySTreSS {row['DySTreSS']}  [{row['note']}]")
print(f"lightly's SimCLR benchmark, CIFAR-10, kNN after 200 epochs: {published.LIGHTLY_SIMCLR_CIFAR10}")
