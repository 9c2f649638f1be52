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
# [← 01 · Gradient analysis of the InfoNCE loss](01_gradient_analysis.ipynb) | [the series](../README.md#the-notebooks) | [03 · Uniformity, tolerance and the dilemma between them →](03_uniformity_tolerance.ipynb)

# %% [markdown]
# # 02 · Temperature as a function of similarity
#
# DySTreSS (Manna et al.) replaces the constant temperature of InfoNCE by a function of the cosine
# similarity of each pair,
#
# $$\tau(s) = \tau_{\min} + \tfrac12(\tau_{\max} - \tau_{\min})\bigl(1 + \cos(\pi(1 + s))\bigr)
#          = \tau_{\min} + (\tau_{\max} - \tau_{\min})\sin^2(\pi s / 2), \tag{1}$$
#
# smallest for orthogonal pairs ($s = 0$) and largest for identical or opposite ones ($s = \pm 1$). The
# logit of a pair becomes $s/\tau(s)$ with $\tau$ from (1). This notebook looks at these functions, at what they do to the
# logits and to the gradients of notebook 01, at the choice of letting the gradient flow through
# $\tau(s)$ or not, at where in the similarity space the push goes and how it balances the pull on the
# positive, and at three other ways of adapting the temperature: MACL (one temperature per batch
# from its alignment), the Kukleva et al. schedule (one temperature per epoch) and iSogCLR (one learned
# temperature per sample).

# %% tags=["parameters"]
profile: str = "smoke"  # smoke | small | paper; analytic notebook: every profile computes the same
tau_min: float = 0.07  # DySTreSS lower temperature (the paper's CIFAR value)
tau_max: float = 0.2  # DySTreSS upper temperature (the paper's CIFAR value)
shift: float = -0.4  # offset of the shifted function (DySTreSS*)
scale: float = 0.7  # period scale of the shifted function (DySTreSS*)
num_negatives: int = 4095  # negatives of the synthetic anchor
kappa: float = 120.0  # class concentration of the synthetic mixture
seed: int = 0  # random seed

# %% tags=["hide-input"] jupyter={"source_hidden": true}
from dystress.pipeline.parameters import check_parameters

params = check_parameters(globals())

import matplotlib.pyplot as plt
import numpy as np
import torch

from dystress.engine.toy_encoder import learn_isogclr_temperatures
from dystress.mathematics import theory
from dystress.mathematics.losses import ISogCLRLoss, MACLLoss
from dystress.mathematics.temperature import TemperatureFunction, constant, kukleva_schedule
from dystress.mathematics.vmf import anchor_similarities, sample_vmf, vmf_mixture
from dystress.pipeline.figures import savefig, use_style

use_style()
NOTEBOOK = "02_temperature_functions"
functions = {
    f"constant {tau_min:g}": constant(tau_min),
    f"constant {tau_max:g}": constant(tau_max),
    "cosine (DySTreSS)": TemperatureFunction("cosine", tau_min, tau_max),
    f"shifted cosine (DySTreSS*, {shift:g}, {scale:g})": TemperatureFunction("shifted_cosine", tau_min, tau_max,
                                                                            shift=shift, scale=scale),
    "linear": TemperatureFunction("linear", tau_min, tau_max),
    "exponential": TemperatureFunction("exponential", tau_min, tau_max),
}
s = torch.linspace(-1, 1, 401, dtype=torch.float64)

# %% [markdown]
# ## 1. The temperature functions
#
# The linear and exponential shapes share the cosine's end points, $\tau(0) = \tau_{\min}$ and
# $\tau(\pm1) = \tau_{\max}$, which is what the paper's shape ablation compares. The shifted function
# (the official code's `offset`/`scale` variant) moves the minimum to $s = -\text{shift} - \text{scale}$
# and holds $\tau_{\max}$ for $s > -\text{shift}$.

# %% tags=["nbval-check-output"]
check = torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0], dtype=torch.float64)
print(f"{'function':<40}" + "".join(f"{f's={v:g}':>8}" for v in check.tolist()))
for name, p in functions.items():
    print(f"{name:<40}" + "".join(f"{v:8.4f}" for v in p(check).tolist()))

# %%
fig, ax = plt.subplots(figsize=(7, 4))
for name, p in functions.items():
    ax.plot(s, p(s), label=name, ls="--" if name.startswith("constant") else "-")
ax.set(xlabel=r"cosine similarity $s$", ylabel=r"$\tau(s)$", title="Temperature functions")
ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))  # beside the curves, not over them
savefig(fig, NOTEBOOK, "functions",
        caption=("The temperature functions against the cosine similarity: DySTreSS's cosine, linear and "
                 "exponential shapes with the same end points, the shifted function DySTreSS*, and "
                 "constant temperatures (dashed)."),
        alt="Temperature functions tau(s)")

# %% [markdown]
# ## 2. Effective logits: is the order of similarities kept?
#
# With a per-pair temperature the softmax sees $\ell(s) = s/\tau(s)$. If $\ell$ were not increasing, a more
# similar negative could get a *smaller* logit than a less similar one and the loss would stop being
# hardness-aware. The slope is $\ell'(s) = (\tau - s\tau')/\tau^2$: it turns negative where $\tau$ grows
# faster, relative to itself, than $|s|$ does ($s\tau' > \tau$). The cell below prints the smallest slope
# and the intervals of $s$ where the order reverses, for several ranges of the cosine function and for the
# shifted function.

# %% tags=["nbval-check-output"]
fig, ax = plt.subplots(figsize=(7, 4))
for name, p in functions.items():
    ax.plot(s, theory.logits(s, p), label=name, ls="--" if name.startswith("constant") else "-")
ax.set(xlabel=r"cosine similarity $s$", ylabel=r"logit $s / \tau(s)$", title="Effective logits")
ax.legend(fontsize=8)
savefig(fig, NOTEBOOK, "effective_logits",
        caption=("The logit each function gives a pair, s / tau(s). Where a curve falls, a more similar "
                 "pair gets a smaller logit than a less similar one: the order the loss relies on is "
                 "reversed there."),
        alt="Effective logits s / tau(s)")
print(f"{'function':<30}{'min slope of s/tau(s)':>22}  order reversed for s in")
checked = {f"cosine [{lo:g}, {hi:g}]": TemperatureFunction("cosine", lo, hi)
           for lo, hi in [(tau_min, tau_max), (0.1, 0.2), (0.07, 0.5), (0.05, 1.0), (0.02, 1.0)]}
checked[f"shifted cosine ({shift:g}, {scale:g})"] = functions[f"shifted cosine (DySTreSS*, {shift:g}, {scale:g})"]
for name, p in checked.items():
    slope = theory.logit_slope(s, p, detach_tau=False).min().item()
    reversed_on = " and ".join(f"[{a:.2f}, {b:.2f}]" for a, b in theory.order_reversals(p)) or "nowhere"
    print(f"{name:<30}{slope:>22.3f}  {reversed_on}")

# %% [markdown]
# For the paper's range $[0.07, 0.2]$ the order is kept everywhere. Widening the range to $[0.07, 0.5]$
# reverses it on a band of intermediate similarities, $0.29 \le |s| \le 0.66$, not at the ends: near
# $|s| = 1$ the function flattens out again. The shifted function DySTreSS* reverses the order on
# $-0.81 \le s \le -0.46$, where its cosine part rises steeply, and keeps it for every positive $s$.
#
# ## 3. Which negatives are pushed, dynamic against constant temperature
#
# The same synthetic anchor as in notebook 01. Under the cosine function the nearly orthogonal negatives
# get the small temperature $\tau_{\min}$ and so, relative to their similarity, a large logit; the most
# similar negatives (often of the anchor's class) get a temperature closer to $\tau_{\max}$, which caps
# their share of the push.

# %% tags=["nbval-check-output"]
s_pos, s_neg, same_class = anchor_similarities(num_negatives, kappa=kappa, seed=seed)
order = torch.argsort(s_neg)
compared = {k: functions[k] for k in (f"constant {tau_min:g}", f"constant {tau_max:g}", "cosine (DySTreSS)")}
fig, ax = plt.subplots(figsize=(7, 4))
print(f"{'function':<22}{'entropy of r':>14}{'push on same class':>20}{'dL/ds_p':>10}")
for name, p in compared.items():
    r = theory.relative_penalty(s_neg, p)
    ax.plot(s_neg[order], r[order], label=name)
    grad_pos, _ = theory.gradients(s_pos, s_neg, p)
    print(f"{name:<22}{theory.penalty_entropy(s_neg, p).item():>14.3f}{r[same_class].sum().item():>20.3f}"
          f"{grad_pos.item():>10.3f}")
ax.set(yscale="log", xlabel="similarity of the negative", ylabel=r"relative penalty $r$",
       title="Share of the push per negative")
ax.legend()
savefig(fig, NOTEBOOK, "penalty_dynamic_vs_constant",
        caption=("The relative penalty of each negative of notebook 01's anchor under DySTreSS and under "
                 "constant temperatures: the dynamic temperature shifts the push towards the nearly "
                 "orthogonal negatives."),
        alt="Relative penalty per negative, dynamic against constant temperature")

# %% [markdown]
# ## 4. Detached or differentiated temperature
#
# The official DySTreSS code computes $\tau$ from detached similarities, so the gradient is
# $P_j/\tau(s_j)$ on a negative. If the gradient flows through $\tau(s)$ as well, it is
# $P_j(\tau - s\tau')/\tau^2$. For the cosine function
# $s\,\tau'(s) = \tfrac{\pi}{2}(\tau_{\max} - \tau_{\min})\,s\sin(\pi s) \ge 0$ on $[-1, 1]$, so the
# extra term always *reduces* the push, most for the similar negatives, where $\tau$ rises fastest. The
# loss values are identical; only the gradients differ (`DySTreSSLoss(detach_tau=False)`).

# %% tags=["nbval-check-output"]
cosine = functions["cosine (DySTreSS)"]
fig, ax = plt.subplots(figsize=(7, 4))
for detach, style in ((True, "-"), (False, "--")):
    grad_pos, grad_neg = theory.gradients(s_pos, s_neg, cosine, detach_tau=detach)
    ax.plot(s_neg[order], grad_neg[order], style, label=f"detach_tau={detach}")
    print(f"detach_tau={str(detach):<5}  dL/ds_p {grad_pos.item():8.4f}   sum_j dL/ds_j {grad_neg.sum().item():8.4f}   "
          f"largest dL/ds_j {grad_neg.max().item():.5f}")
ax.set(yscale="log", xlabel="similarity of the negative", ylabel=r"$\partial \mathcal{L} / \partial s_j$",
       title="Gradient on each negative")
ax.legend()
savefig(fig, NOTEBOOK, "detached_vs_differentiated",
        caption=("The gradient on each negative with the temperature detached (the official code) and "
                 "with the gradient flowing through tau(s): the second is smaller everywhere, most for "
                 "the similar negatives."),
        alt="Gradient per negative, detached against differentiated temperature")

# %% [markdown]
# ## 5. Where in the similarity space the temperature acts
#
# The abstract speaks of "optimal regions in the cosine similarity space". A temperature function decides where
# $\tau$ is low, and the push concentrates there. Below, the same anchor's 4,095 negatives are grouped
# by similarity, and each bin's share of the total push $\sum_j \partial L/\partial s_j$ is printed
# (`theory.push_share_by_similarity`), with the share that falls on the anchor's own class (the false
# negatives). The shifted function is swept over its offset $\delta$ and scale $k$ as the paper's
# shifted-function table does; the DySTreSS* point is $\delta = -0.4$, $k = 0.7$.

# %% tags=["nbval-check-output"]
edges = torch.tensor([-1.0, 0.0, 0.2, 0.4, 0.6, 1.0], dtype=torch.float64)
bins = [f"[{a:g}, {b:g})" for a, b in zip(edges[:-1].tolist(), edges[1:].tolist())]
counts = [int(((s_neg >= a) & (s_neg < b)).sum()) for a, b in zip(edges[:-1].tolist(), edges[1:].tolist())]
counts[-1] += int((s_neg == edges[-1]).sum())
print(f"{'negatives per bin':<36}" + "".join(f"{b:>12}" for b in bins) + f"{'own class':>11}")
print(f"{'':<36}" + "".join(f"{c:>12}" for c in counts) + f"{int(same_class.sum()):>11}")
shares = {}
for name in (f"constant {tau_min:g}", f"constant {tau_max:g}", "cosine (DySTreSS)",
             f"shifted cosine (DySTreSS*, {shift:g}, {scale:g})"):
    _, grad_neg = theory.gradients(s_pos, s_neg, functions[name])
    shares[name] = theory.push_share_by_similarity(s_neg, grad_neg, edges)
    own = (grad_neg[same_class].sum() / grad_neg.sum()).item()
    print(f"{name:<36}" + "".join(f"{v:>12.3f}" for v in shares[name].tolist()) + f"{own:>11.3f}")
print("\nshifted cosine, share of the push on s >= 0.4 (own class in parentheses):")
offsets, scales = [-0.6, -0.4, -0.2, 0.0], [0.5, 0.7, 1.0]
print(f"{'offset / scale':<16}" + "".join(f"{k:>16g}" for k in scales))
for delta in offsets:
    cells = []
    for k in scales:
        _, grad_neg = theory.gradients(s_pos, s_neg, TemperatureFunction("shifted_cosine", tau_min, tau_max,
                                                                         shift=delta, scale=k))
        hard = theory.push_share_by_similarity(s_neg, grad_neg, edges)[3:].sum().item()
        cells.append(f"{hard:.3f} ({(grad_neg[same_class].sum() / grad_neg.sum()).item():.3f})")
    print(f"{delta:<16g}" + "".join(f"{c:>16}" for c in cells))

# %%
fig, ax = plt.subplots(figsize=(8, 3.8))
width = 0.8 / len(shares)
for k, (name, share) in enumerate(shares.items()):
    ax.bar(np.arange(len(bins)) + (k - (len(shares) - 1) / 2) * width, share.numpy(), width, label=name)
ax.set(xticks=range(len(bins)), xticklabels=bins, xlabel="similarity of the negative",
       ylabel="share of the total push", title="Where the push goes, one anchor, 4,095 negatives")
ax.legend(fontsize=8)
savefig(fig, NOTEBOOK, "push_by_similarity",
        caption=("The share of the total push on the negatives of each similarity bin, one bar per loss, "
                 "for one anchor and its 4,095 negatives."),
        alt="Share of the push per similarity bin")

# %% [markdown]
# What the shares say, for this anchor (positive at 0.854; of its negatives 1,936 lie below 0, 2,096 in
# $[0, 0.4)$, 63 in $[0.4, 0.6)$ and none above):
#
# * A constant $\tau = 0.07$ sends nearly all the push to the negatives with $s \ge 0.2$ (0.503 and 0.413
#   of it in the two bins), and 0.899 to the anchor's own class. $\tau = 0.2$ spreads it: 0.215 goes to $s < 0$.
# * The cosine function concentrates the push on the moderately similar negatives, 0.380 and 0.464 of it in the
#   two bins of $0 \le s < 0.4$, against 0.397 and 0.299 for $\tau = 0.2$, while the hardest bin, $s \ge 0.4$, gets about what
#   $\tau = 0.2$ gives it (0.095 against 0.088) and the dissimilar ones ($s < 0$) much less (0.061). The
#   share on the own class (0.518) lies between the two constants. This is gradient, including the factor
#   $1/\tau(s_j)$; the relative penalty $r$ of section 3 (0.602 on the own class) leaves that factor out.
# * The shifted function moves the low temperature to negative similarities: DySTreSS* gives 0.222 of the
#   push to $s < 0$ and the least to the own class of the four (0.284). Over the sweep, the share on
#   $s \ge 0.4$ rises from 0.037 (offset -0.6, scale 0.5) to 0.088 at offset 0, where every $s > 0$ gets
#   $\tau_{\max}$ and the function acts like $\tau = 0.2$ on the hard negatives.
#
# Which region is *optimal* is a question for training, not for one anchor: the paper reports its
# shifted-function table from pretraining runs, and notebook 06 sweeps $(\tau_{\min}, \tau_{\max})$ the same way.

# %% [markdown]
# ## 6. Pull and push
#
# With a constant temperature the pull on the positive equals the total push on the negatives,
# $-\partial L/\partial s_p = \sum_j \partial L/\partial s_j = (1 - P_p)/\tau$ (notebook 01). With a
# per-pair temperature and $\tau$ detached, the pull is $(1 - P_p)/\tau(s_p)$ and the push
# $\sum_j P_j/\tau(s_j)$, so
#
# $$\frac{\text{push}}{\text{pull}} = \tau(s_p)\,\mathbb{E}_{r}\!\left[\frac{1}{\tau(s_j)}\right], \tag{2}$$
#
# the positive's temperature over the penalty-weighted harmonic mean of the negatives'
# (`theory.pull_and_push`). The positive sits at a high similarity, where the cosine function is near
# $\tau_{\max}$, and most of the push goes to negatives near $s = 0$, where it is near $\tau_{\min}$: by (2) the
# push outweighs the pull by up to $\tau_{\max}/\tau_{\min}$. Relative to SimCLR, DySTreSS weighs spreading
# the negatives (uniformity) more than gathering the two views (alignment). Notebook 05 measures both on
# trained models.

# %% tags=["nbval-check-output"]
print(f"positive similarity {s_pos.item():.3f}; tau_max / tau_min = {tau_max / tau_min:.3f}")
print(f"{'function':<40}{'pull':>9}{'push':>9}{'push/pull':>11}")
for name, function_, detach in ((f"constant {tau_max:g}", functions[f"constant {tau_max:g}"], True),
                               ("cosine (DySTreSS), detached", cosine, True),
                               ("cosine (DySTreSS), differentiated", cosine, False),
                               (f"DySTreSS* ({shift:g}, {scale:g}), detached",
                                functions[f"shifted cosine (DySTreSS*, {shift:g}, {scale:g})"], True)):
    pull, push = theory.pull_and_push(s_pos, s_neg, function_, detach_tau=detach)
    print(f"{name:<40}{pull.item():>9.3f}{push.item():>9.3f}{(push / pull).item():>11.3f}")

# %% [markdown]
# For this anchor the detached cosine function pushes 2.136 times as hard as it pulls (below the bound
# $\tau_{\max}/\tau_{\min} = 2.857$, since some push lands where $\tau > \tau_{\min}$ and
# $\tau(0.854) < \tau_{\max}$); differentiating through $\tau$ weakens both and leaves the ratio at 2.289;
# DySTreSS*, whose positive gets $\tau_{\max}$ and whose low temperatures lie at negative similarities, is
# closer to balance (1.324).

# %% [markdown]
# ## 7. Other adaptive temperatures
#
# * **MACL** (Huang et al., ICML 2023) uses one temperature per batch, $\tau_A = \tau_0(1 + \alpha(A - A_0))$,
#   where $A$ is the batch's mean positive similarity: well-aligned batches get a larger temperature.
#   Below, batches whose two views are drawn closer and closer (`MACLLoss` reports the temperature it used).
# * **Kukleva et al.** (ICLR 2023) change one temperature with the epoch,
#   $\tau(e) = \tau_{\min} + \tfrac12(\tau_{\max} - \tau_{\min})(1 + \cos(\pi e / T))$, defaults 0.1, 1.0 and $T = 200$.
# * **iSogCLR** (Qiu et al., ICML 2023) learns a temperature per sample by distributionally robust
#   optimisation. Below, its updates run on fixed features of an 8-class mixture whose classes differ in
#   concentration $\kappa$: samples with many close neighbours (tight classes) end with larger temperatures.

# %% tags=["nbval-check-output"]
rng = np.random.default_rng(seed)
base = torch.nn.functional.normalize(torch.from_numpy(rng.standard_normal((256, 32))), dim=1)
macl = MACLLoss(0.1, alpha=0.5)
alignment, macl_tau = [], []
for view_kappa in (20.0, 50.0, 100.0, 200.0, 500.0, 2000.0):
    views = torch.stack([sample_vmf(b, view_kappa, 1, rng)[0] for b in base])
    out = macl(base, views, return_details=True)
    alignment.append(out.similarity.gather(1, out.positive_index[:, None]).mean().item())
    macl_tau.append(out.temperature[0, 0].item())
epochs = np.arange(0, 401)
kukleva = [kukleva_schedule(float(e)) for e in epochs]
kappas = [5.0, 5.0, 20.0, 20.0, 80.0, 80.0, 300.0, 300.0]
x, y, _ = vmf_mixture(8, 250, 32, kappas, seed=seed)
learned = learn_isogclr_temperatures(ISogCLRLoss(num_samples=x.shape[0]), x, epochs=30, seed=seed)
sample_kappa = torch.tensor([kappas[c] for c in y.tolist()])
for a, t in zip(alignment, macl_tau):
    print(f"MACL: alignment A = {a:.3f} -> tau_A = {t:.4f}")
for k in sorted(set(kappas)):
    tau_k = learned[sample_kappa == k]
    print(f"iSogCLR: class kappa {k:5g}: learned tau mean {tau_k.mean().item():.3f}, std {tau_k.std().item():.3f}")

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
axes[0].plot(alignment, macl_tau, "o-")
axes[0].set(xlabel="alignment A (mean positive similarity)", ylabel="tau_A", title="MACL: per batch")
axes[1].plot(epochs, kukleva)
axes[1].set(xlabel="epoch", ylabel=r"$\tau$", title="Kukleva et al.: per epoch")
for k in sorted(set(kappas)):
    axes[2].hist(learned[sample_kappa == k].numpy(), bins=30, alpha=0.6, label=rf"$\kappa$ = {k:g}")
axes[2].set(xlabel="learned tau_i", ylabel="samples", title="iSogCLR: per sample")
axes[2].legend()
savefig(fig, NOTEBOOK, "other_adaptive_temperatures",
        caption=("Three other adaptive temperatures: MACL's per batch against the alignment, Kukleva et "
                 "al.'s schedule per epoch, and the per-sample temperatures iSogCLR learns, by class "
                 "concentration."),
        alt="MACL, Kukleva and iSogCLR temperatures")

# %% [markdown]
# DySTreSS differs from all three: its temperature varies *within* a batch and *within* an anchor's
# denominator, pair by pair, with no learned state. Notebook 03 introduces the metrics by which the
# pretraining notebooks compare these choices: uniformity and tolerance.

# %% [markdown]
# [← 01 · Gradient analysis of the InfoNCE loss](01_gradient_analysis.ipynb) | [the series](../README.md#the-notebooks) | [03 · Uniformity, tolerance and the dilemma between them →](03_uniformity_tolerance.ipynb)
