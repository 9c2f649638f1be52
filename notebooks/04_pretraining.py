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
# [← 03 · Uniformity, tolerance and the dilemma between them](03_uniformity_tolerance.ipynb) | [the series](../README.md#the-notebooks) | [05 · Evaluation →](05_evaluation.ipynb)

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
# decides the scale: `smoke` (digits, seconds), `small` (CIFAR-10, 1,000 images per class, a small CNN,
# minutes per run on a CPU), `paper` (CIFAR-10, ResNet-18, 200 epochs: the paper's recipe, on a GPU).

# %% [markdown]
# ## The methods
#
# Every method is the same InfoNCE core over the 2N views of a batch. For anchor $i$ with positive $p$ and
# the 2N - 2 other views as negatives $j$, with cosine similarities $s$ and temperatures $\tau$,
#
# $$\ell_i = -\frac{s_{ip}}{\tau_{ip}} + \log\Big(e^{s_{ip}/\tau_{ip}} + \sum_j e^{s_{ij}/\tau_{ij}}\Big),
# \qquad L = \frac{1}{2N}\sum_i \ell_i . \tag{1}$$
#
# What each one changes in (1) is in the table below, generated from the registry of compared methods
# (`dystress.pipeline.recipes`); the code of each loss is a few lines on the shared core in
# `dystress.mathematics.losses`, each tested against an independent float64 loop.

# %% tags=["parameters"]
profile: str = "small"  # smoke | small | paper
dataset: str = ""  # empty: the profile's dataset
data_dir: str = ""  # where the dataset is (empty: $DYSTRESS_DATA or data/)
epochs: int = 0  # 0: the profile's number of epochs
methods: list[str] = []  # empty: the profile's; any registered method (dystress.pipeline.recipes), e.g. DCLW
temperature: float = 0.2  # constant temperature of SimCLR, DCL, the hard loss; MACL's tau_0
tau_min: float = 0.07  # DySTreSS lower temperature
tau_max: float = 0.2  # DySTreSS upper temperature
seeds: list[int] = []  # empty: the profile's seeds
force: bool = False  # retrain even when a stored result exists

# %% tags=["hide-input"] jupyter={"source_hidden": true}
from dystress.pipeline.parameters import check_parameters

params = check_parameters(globals())

import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from dystress.mathematics import losses
from dystress.mathematics.temperature import TemperatureFunction
from dystress.pipeline import figures, published, recipes, studies
from dystress.pipeline import statistics as over_seeds
from dystress.pipeline.figures import savefig, use_style
from dystress.pipeline.recipes import Settings

use_style()
NOTEBOOK = "04_pretraining"
study = studies.comparison(profile, methods, Settings(temperature, tau_min, tau_max), seeds, dataset=dataset,
                           data_dir=data_dir, epochs=epochs)
names, seed_values = study.labels, study.seeds()
base = study.points[0].config
print(f"profile {profile}: {base.dataset}, {base.model}, {base.epochs} epochs, batch {base.batch_size}, "
      f"{base.optimizer} lr {base.lr} momentum {base.momentum} weight decay {base.weight_decay}; "
      f"seeds {seed_values}")
display(Markdown(recipes.methods_table(names)))

# %% [markdown]
# The code the table describes is the library's, shown here as it is: the core every InfoNCE loss calls, and the
# step DySTreSS changes in it (its temperature of each pair).

# %%
display(Markdown(figures.source_of(losses.info_nce, losses.InfoNCELoss.pair_temperature,
                                   TemperatureFunction.__call__)))

# %%
results = study.run(force=force)
print(results.provenance())

# %% [markdown]
# ## Final numbers
#
# kNN: weighted vote of the 200 nearest training features (the paper's protocol); linear: a linear
# classifier on frozen features (fixed schedule, `dystress.engine.evaluate`). Final-epoch numbers only: no
# checkpoint is chosen by its test accuracy. Each number is the mean ± the standard deviation over the
# seeds, with their number n beside it; one seed has no spread, and no difference between methods can be
# read from it.

# %% tags=["nbval-check-output"]
display(Markdown(results.table([("knn_top1", 2), ("linear_top1", 2), ("neg_uniformity", 3), ("tolerance", 3),
                                ("final_loss", 4), ("train_seconds", 0)], names)))
collapsed = [name for name in names if results.spread(name, "neg_uniformity").mean < 1]
print("collapsed (-uniformity < 1: the projections nearly all alike):", ", ".join(collapsed) or "none")
results.record()

# %% [markdown]
# Each method against SimCLR, paired by seed (the same seed gives both runs the same initialisation, data
# order and augmentations): the mean difference in kNN top-1, its standard deviation over seeds, the 95 %
# interval of the mean from Student's t, and in how many seeds the method scored higher. A difference whose
# interval contains 0 is within seed noise.

# %% tags=["nbval-check-output"]
if "SimCLR" in names and len(names) > 1:
    display(Markdown(results.against("SimCLR", names, "knn_top1")))

# %% [markdown]
# ## Training curves
#
# Loss values are not comparable across losses (each has its own scale); kNN accuracy, evaluated every
# few epochs and at the last one, is. Epoch 0 is the untrained encoder. A line is the mean over seeds;
# where there are several seeds, the faint lines are the seeds themselves. SimCLR and DySTreSS are drawn thick
# and set each panel's range; the Kukleva schedule's loss swings with its temperature beyond it.

# %%
fig = figures.training_curves(results, names, seed_values)
savefig(fig, NOTEBOOK, "curves",
        caption=("Training curves of every method: the loss (each on its own scale), kNN top-1 and "
                 "-uniformity per epoch; thick lines are the means over seeds of SimCLR and DySTreSS, "
                 "faint lines the seeds."),
        alt="Training loss, kNN accuracy and uniformity per epoch for each method")

# %% [markdown]
# ## The temperatures the losses used
#
# The temperature of the positive pairs and of the negative pairs per epoch: the median and the 10th-90th
# percentile band of the epoch's last batch where the run recorded them, otherwise (runs that predate those
# columns) the mean with the epoch's whole range shaded, as the panel's legend says. Under DySTreSS a pair's temperature follows its similarity: negatives near $s = 0$ get
# $\tau_{\min}$, and a positive gets more the closer its two views are (it would reach $\tau_{\max}$ only at
# $s = 1$). The printed means below say where the positives actually sit.

# %%
shown = [n for n in names if n in ("DySTreSS", "MACL", "Kukleva", "SimCLR")]
fig, axes = plt.subplots(1, len(shown), figsize=(4 * len(shown), 3.7), squeeze=False, layout="constrained")
for ax, name in zip(axes[0], shown):
    trained = [r for r in results[(name, seed_values[0])].history if r["loss"] is not None]
    epoch = [r["epoch"] for r in trained]
    quantiles = all(r.get("tau_pos_q50") is not None for r in trained)
    centre, low_key, high_key = ("q50", "q10", "q90") if quantiles else ("mean", "min", "max")
    for kind, color in (("pos", "C0"), ("neg", "C3")):
        label = "positives" if kind == "pos" else "negatives"
        ax.plot(epoch, [r[f"tau_{kind}_{centre}"] for r in trained], color=color,
                label=f"{label}: {'median, 10-90 %' if quantiles else 'mean, min-max'}")
        ax.fill_between(epoch, [r[f"tau_{kind}_{low_key}"] for r in trained],
                        [r[f"tau_{kind}_{high_key}"] for r in trained], color=color, alpha=0.15)
    low = min(r[f"tau_{k}_{low_key}"] for r in trained for k in ("pos", "neg"))
    high = max(r[f"tau_{k}_{high_key}"] for r in trained for k in ("pos", "neg"))
    margin = max(0.1 * (high - low), 0.01)
    ax.set(xlabel="epoch", ylabel=r"$\tau$", title=f"{name} (seed {seed_values[0]})", ylim=(low - margin, high + margin))
handles, labels = axes[0, 0].get_legend_handles_labels()
fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=9)
savefig(fig, NOTEBOOK, "temperatures",
        caption=("The temperatures of the positive (blue) and negative (red) pairs per epoch for the "
                 "methods whose temperature moves, on the first seed, with the band the panel's legend "
                 "names."),
        alt="Temperatures of positives and negatives per epoch")

# %% tags=["nbval-check-output"]
def moved(first: float, last: float) -> str:
    return "rises" if last > first else "falls" if last < first else "stays"


for name in shown:
    trained = [r for r in results[(name, seed_values[0])].history if r["loss"] is not None]
    first, last = trained[0], trained[-1]
    line = [f"{name} (seed {seed_values[0]}):"]
    for kind, label in (("pos", "positives"), ("neg", "negatives")):
        line.append(f"the {label}' mean tau {moved(first[f'tau_{kind}_mean'], last[f'tau_{kind}_mean'])} from "
                    f"{first[f'tau_{kind}_mean']:.4f} (epoch {first['epoch']:.0f}) to {last[f'tau_{kind}_mean']:.4f} "
                    f"(epoch {last['epoch']:.0f});")
    if last.get("tau_pos_q10") is not None:
        line.append("the last batch's positives at 10 / 50 / 90 %: "
                    + " / ".join(f"{last[f'tau_pos_q{q}']:.4f}" for q in (10, 50, 90)))
    print(" ".join(line))

# %% [markdown]
# Why the temperatures move as printed: DySTreSS gives a positive pair more than $\tau_{\min}$ in proportion to
# $\sin^2(\pi s/2)$, so its positives' temperature measures how close the two views of an image already are (the
# tenth of the positives near the bottom of the range are pairs of views the encoder still sees as unrelated); its
# negatives' temperature approaches $\tau_{\min}$ as training spreads the negatives around $s = 0$. MACL's single
# temperature follows the alignment of the batch, and the Kukleva schedule follows its periods regardless of the
# data (the epoch means smooth each period's sweep from 1.0 to 0.1 and back).

# %% [markdown]
# ## The hard loss where it can work: negatives from a queue
#
# Wang & Liu keep the 4,095 most similar of the 50,000 features in a memory bank (8.19 %). In a batch of 64 the
# same share is 11 of 126 negatives, and the hard loss collapses (the table above). MoCo's queue is such a memory
# bank: the keys of the last 4,096 images, encoded by a momentum encoder (its weights an average of the model's,
# momentum 0.99). Below, the hard loss keeps the same share of the most similar keys of that queue (336), against
# NT-Xent on the same queue (MoCo), at the same temperature, and both against the in-batch runs above.

# %% tags=["nbval-check-output"]
queue = studies.comparison(profile, studies.choice(profile, "queue_methods"), Settings(temperature, tau_min, tau_max),
                           seeds, dataset=dataset, data_dir=data_dir, epochs=epochs)
with_queue = (study + queue).run(force=force)
on_queue = next(p.config for p in queue.points if p.recipe == "Hard-MoCo")
hard, batch_negatives = losses.HardContrastiveLoss(quantile=on_queue.loss_options.quantile), 2 * on_queue.batch_size - 2
print(f"queue of {on_queue.queue_size} keys, key encoder momentum {on_queue.moco_momentum}; the hard loss keeps the "
      f"{on_queue.loss_options.quantile:.2%} most similar negatives: {hard.kept_negatives(on_queue.queue_size)} of "
      f"the queue, {hard.kept_negatives(batch_negatives)} of a batch's {batch_negatives}")
shown_queue = [name for name in ("SimCLR", "Hard", *queue.labels) if name in with_queue.labels]
display(Markdown(with_queue.table([("knn_top1", 2), ("linear_top1", 2), ("neg_uniformity", 3), ("tolerance", 3)],
                                  shown_queue)))
pairs = [("SimCLR", "MoCo"), ("MoCo", "Hard-MoCo"), ("Hard", "Hard-MoCo")]
display(Markdown(over_seeds.verdicts([with_queue.sentence(a, b, "knn_top1") for a, b in pairs
                                      if a in with_queue.labels and b in with_queue.labels])))
with_queue.record(queue.labels)

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

# %% [markdown]
# ## What the numbers show, and what they do not
#
# The learning signal of each method: kNN top-1 of the trained encoder against the untrained one (epoch 0,
# the same initialisation for every method of a seed), mean ± std over the seeds.

# %% tags=["nbval-check-output"]
display(Markdown(results.table([("untrained_knn", 2), ("knn_top1", 2), ("signal", 2)], names)))

# %% [markdown]
# The findings, each generated from the paired statistics of the runs above:

# %% tags=["nbval-check-output"]
findings = []
if "SimCLR" in names and len(names) > 1:
    findings.append(over_seeds.grouped({name: results.paired("SimCLR", name, "knn_top1") for name in names
                                        if name != "SimCLR"}, "Each method against SimCLR in kNN top-1"))
ordering = [name for name in ("SimCLR", "MACL", "DySTreSS") if name in names]
if len(ordering) == 3:
    findings.append(over_seeds.grouped({f"{b} - {a}": results.paired(a, b, "knn_top1")
                                        for a, b in zip(ordering, ordering[1:])},
                                       "The paper's ordering DySTreSS > MACL > SimCLR, step by step, in kNN top-1"))
if "DySTreSS" in names and "SimCLR" in names:
    findings.append(over_seeds.grouped({studies.metric_name(metric): results.paired("SimCLR", "DySTreSS", metric)
                                        for metric in ("neg_uniformity", "tolerance")},
                                       "DySTreSS against SimCLR in the geometry", digits=3))
if "Hard" in with_queue.labels and "Hard-MoCo" in with_queue.labels:
    findings.append(over_seeds.grouped({"in-batch negatives": with_queue.paired("SimCLR", "Hard", "neg_uniformity"),
                                        "the queue's": with_queue.paired("SimCLR", "Hard-MoCo", "neg_uniformity")},
                                       "The hard loss against SimCLR in -uniformity", digits=3))
if findings:
    display(Markdown(over_seeds.verdicts(findings)))

# %% [markdown]
# What explains them, and what they cannot say:
#
# * **The hard loss and its batch.** A batch of 64 leaves 126 negatives, of which the hard loss keeps its share,
#   11: when the encoder maps every image to one point, the 12 logits are equal and the loss sits at
#   log 12 = 2.4849, the final loss of the table above with -uniformity 0.000, the collapse the `collapsed` line
#   names. Given MoCo's queue to choose its negatives from, as Wang & Liu give it a memory bank, it keeps 336 keys
#   instead of 11; the findings say whether that is enough to stop the collapse. MoCo itself (a momentum encoder
#   at 0.99) is compared with SimCLR under the queue's table; at 18 epochs neither queue run says what the hard
#   loss would do at the paper's 200.
# * **Against SimCLR.** A method listed as within seed noise is neither shown better nor worse by these seeds;
#   "lower in every seed" marks the ones whose direction is consistent although the interval still holds 0.
# * **The paper's ordering** (DySTreSS above MACL above SimCLR, 85.68 / 84.85 / 83.65 after 200 epochs of
#   ResNet-18) is tested step by step above; a small CNN after 18 epochs can neither reproduce nor contradict it
#   at the paper's scale, which is for the `paper` profile. The geometry finding is the one DySTreSS changes
#   whatever the accuracy: notebook 05 takes it apart.

# %% [markdown]
# [← 03 · Uniformity, tolerance and the dilemma between them](03_uniformity_tolerance.ipynb) | [the series](../README.md#the-notebooks) | [05 · Evaluation →](05_evaluation.ipynb)
