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
# [← 07 · Long-tailed data](07_long_tail.ipynb) | [the series](../README.md#the-notebooks) | [09 · Sentence embeddings →](09_sentence_embeddings.ipynb)

# %% [markdown]
# # 08 · Your dataset
#
# Point `data_dir` at a folder of images and the same pipeline runs on it: SimCLR and DySTreSS
# pretraining with one recipe, then the evaluation of notebook 05.
#
# * `data_dir/<class>/<image>`: labelled; a seeded, stratified `test_fraction` (20 %) is held out for
#   testing (or use `data_dir/train/<class>/...` and `data_dir/test/<class>/...`);
# * `data_dir/<image>`: unlabelled; everything that needs labels (kNN, linear probe, tolerance,
#   class-conditional similarities) is skipped and the label-free analyses remain.
#
# Images of any format PIL reads are resized to `image_size` and decoded once (cached). With no
# `data_dir`, this notebook writes scikit-learn's digits as an image folder and uses that.
#
# `profile` gives the recipe (model, epochs, batch, optimiser); each of `model`, `batch_size`, `lr`, `epochs`
# and `crop_min_scale` overrides it where set. With `normalization` `data` the images are normalised with
# the channel mean and standard deviation of your training images (printed below), not CIFAR-10's.
#
# ```bash
# dystress run --only 08 -p data_dir=/path/to/images -p profile=small
# ```

# %% tags=["parameters"]
profile: str = "smoke"  # smoke | small | paper: the training recipe (model, epochs, optimiser)
data_dir: str = ""  # your image folder (empty: the digits written out as a demonstration folder)
unlabelled: bool = False  # demonstration folder only: write it without class folders
image_size: int = 32  # images are resized to image_size x image_size
test_fraction: float = 0.2  # held-out share of a folder without train/ and test/
normalization: str = "data"  # data: your training images' channel mean and std | cifar: CIFAR-10's
model: str = ""  # empty: the profile's | resnet18 | small_cnn | cnn4
epochs: int = 0  # 0: the profile's number of epochs
batch_size: int = 0  # 0: the profile's batch size
lr: float = 0.0  # 0: the profile's peak learning rate
crop_min_scale: float = 0.0  # 0: the profile's smallest crop area fraction
methods: list[str] = ["SimCLR", "DySTreSS"]  # methods compared (registered names, as in notebook 04)
temperature: float = 0.2  # SimCLR's constant temperature
tau_min: float = 0.07  # DySTreSS lower temperature
tau_max: float = 0.2  # DySTreSS upper temperature
tau_shape: str = "cosine"  # shape of DySTreSS's tau(s): cosine | shifted_cosine | linear | exponential
tau_shift: float = -0.4  # shifted_cosine only: offset (DySTreSS*: -0.4)
tau_scale: float = 0.7  # shifted_cosine only: scale (DySTreSS*: 0.7)
detach_tau: bool = True  # DySTreSS: tau(s) from detached similarities (the official code)
seed: int = 0  # seed of the split and the runs
force: bool = False  # retrain even when a stored result exists
tau_profile: str = ""  # renamed tau_shape; this name is read for one more release

# %% tags=["hide-input"] jupyter={"source_hidden": true}
from dystress.pipeline.parameters import check_parameters

params = check_parameters(globals())

import matplotlib.pyplot as plt
import torch

from dystress.engine import data
from dystress.engine.config import normalization_statistics
from dystress.pipeline import studies
from dystress.pipeline.figures import savefig, use_style
from dystress.pipeline.recipes import Settings

use_style()
NOTEBOOK = "08_your_dataset"
folder = data_dir
if not folder:
    name = "digits-flat" if unlabelled else "digits-folder"
    folder = str(data.export_image_folder(data.load_dataset("digits").train, data.default_data_dir() / "examples" /
                                          name, labelled=not unlabelled))
splits = data.load_dataset("folder", folder, image_size=image_size, test_fraction=test_fraction, seed=seed)
labelled = splits.train.labels is not None
print(splits.describe())

# %%
if labelled:  # the first images of each class in turn, so that the grid shows every class it can
    by_class = [torch.nonzero(splits.train.labels == c).flatten().tolist() for c in range(len(splits.train.classes))]
    picked = [i for rank in range(32) for members in by_class if rank < len(members) for i in [members[rank]]][:32]
else:
    picked = list(range(min(32, len(splits.train))))
fig, axes = plt.subplots(2, 16, figsize=(12, 1.8))
for ax in axes.ravel():
    ax.set_axis_off()
for ax, k in zip(axes.ravel(), picked):
    ax.imshow(splits.train.images[k].numpy())
    if labelled:
        ax.set_title(splits.train.classes[int(splits.train.labels[k])], fontsize=7)
savefig(fig, NOTEBOOK, "samples",
        caption="Two views of a few training images of your dataset, each titled with its class.",
        alt="Augmented views of training images")

# %%
overrides = {k: v for k, v in dict(model=model, batch_size=batch_size, lr=lr, crop_min_scale=crop_min_scale).items()
             if v}  # the profile's value where not set
study = studies.comparison(profile, methods, Settings(temperature, tau_min, tau_max), [seed], name=NOTEBOOK,
                           dataset="folder", data_dir=folder, epochs=epochs, image_size=image_size,
                           test_fraction=test_fraction, normalization=normalization, **overrides)
if tau_profile:
    print("the parameter `tau_profile` is now `tau_shape`; `tau_profile` goes in the next release")
    tau_shape = tau_profile
shape = {"tau_shape": tau_shape, "detach_tau": detach_tau}
if tau_shape == "shifted_cosine":
    shape |= {"tau_shift": tau_shift, "tau_scale": tau_scale}
study = study.replace("DySTreSS", **shape)
configs = {point.label: point.config for point in study.points}
base = study.points[0].config
mean, std = normalization_statistics(base, splits)
print(f"{base.model}, {base.epochs} epochs, batch {base.batch_size}, lr {base.lr}, crops >= {base.crop_min_scale}; "
      f"normalised with {base.normalization} statistics: mean {tuple(round(m, 4) for m in mean)}, "
      f"std {tuple(round(v, 4) for v in std)}")
for name, config in configs.items():
    print(f"{name:<10} {config.loss_options.describe_temperature()}")
found = study.run(force=force, data=splits)
results = {name: found[(name, seed)] for name in study.labels}
if not labelled:
    print("This folder has no labels: kNN accuracy, the linear probe, tolerance and the class-conditional "
          "similarity histograms are skipped. What remains: uniformity, the alignment of two views, and the "
          "similarity of two views against other images.")

# %% [markdown]
# ## Results

# %%
keys = ["uniformity", "alignment"] + (["knn", "linear", "tolerance"] if labelled else [])
print(f"{'':<22}" + "".join(f"{name:>12}" for name in results))
for key in keys:
    values = [r.summary[key]["top1"] if isinstance(r.summary[key], dict) else r.summary[key] for r in results.values()]
    sign = -1 if key == "uniformity" else 1
    label = {"knn": "kNN top-1 (%)", "linear": "linear top-1 (%)", "uniformity": "-uniformity"}.get(key, key)
    print(f"{label:<22}" + "".join(f"{sign * v:>12.3f}" for v in values))
for name, result in results.items():
    print(f"{name}: EMD " + ", ".join(f"{k} {v:.3f}" for k, v in result.summary["emd"].items()))
found.record()

# %%
fig, axes = plt.subplots(2, len(results), figsize=(5.5 * len(results), 7.5), squeeze=False)
for k, (name, result) in enumerate(results.items()):
    trained = [r for r in result.history if r["loss"] is not None]
    edges = result.arrays["hist_edges"]
    centres = 0.5 * (edges[1:] + edges[:-1])
    for key in [k_ for k_ in result.arrays if k_.startswith("hist_") and k_ != "hist_edges"]:
        counts = result.arrays[key]
        axes[0, k].plot(centres, counts / counts.sum() / (edges[1] - edges[0]), label=key[5:].replace("_", " "))
    axes[0, k].set(xlabel="cosine similarity", ylabel="density", title=f"{name}: pair similarities")
    axes[0, k].legend(fontsize=8)
    xy = result.arrays["tsne"]
    axes[1, k].scatter(xy[:, 0], xy[:, 1], c=result.arrays["tsne_labels"] if labelled else "C0", cmap="tab10", s=4)
    axes[1, k].set(title=f"{name}: t-SNE", xticks=[], yticks=[])
savefig(fig, NOTEBOOK, "analysis",
        caption=("Top: the similarity distributions of two views, same-class and other-class pairs; "
                 "bottom: t-SNE of the test features, one column per method."),
        alt="Similarity distributions and t-SNE per method")

# %% [markdown]
# ## What to read here
#
# The table above is the whole comparison for your folder: kNN and the linear probe where it is labelled,
# -uniformity and the alignment of two views always, each for one seed (`seed`). Run the notebook again
# with other seeds before reading a difference between the two methods. The committed demonstration
# (digits, the `smoke` recipe, one seed) shows that the pipeline runs; it does not rank the methods.

# %% [markdown]
# [← 07 · Long-tailed data](07_long_tail.ipynb) | [the series](../README.md#the-notebooks) | [09 · Sentence embeddings →](09_sentence_embeddings.ipynb)
