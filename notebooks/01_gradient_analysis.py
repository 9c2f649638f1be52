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
# [the series](../README.md#the-notebooks) | [02 · Temperature as a function of similarity →](02_temperature_functions.ipynb)

# %% [markdown]
# # 01 · Gradient analysis of the InfoNCE loss
#
# The temperature $\tau$ of the InfoNCE loss decides *which* negatives a contrastive model pushes away.
# This notebook follows Wang & Liu, *Understanding the Behaviour of Contrastive Loss* (CVPR 2021), the
# analysis DySTreSS starts from. For one anchor with positive similarity $s_p$ and negatives $s_j$
# ($j = 1..M$, cosine similarities of normalised embeddings)
#
# $$\mathcal{L} = -\log \frac{e^{s_p/\tau}}{e^{s_p/\tau} + \sum_j e^{s_j/\tau}}, \qquad
#   \frac{\partial \mathcal{L}}{\partial s_p} = -\frac{1}{\tau}\sum_j P_j, \qquad
#   \frac{\partial \mathcal{L}}{\partial s_j} = \frac{1}{\tau} P_j, \tag{1}$$
#
# with $P$ the softmax probabilities. Four facts follow, and each is checked or plotted below:
#
# 1. the closed forms of (1) agree with automatic differentiation;
# 2. the negative gradients sum to the positive one (the loss is *hardness-aware*: it redistributes a fixed
#    push among the negatives);
# 3. the share of the push on negative $j$, the relative penalty
#    $r_j = e^{s_j/\tau} / \sum_k e^{s_k/\tau}$, concentrates on the hardest negatives as $\tau$ falls,
#    so the entropy of $r$ falls with $\tau$;
# 4. as $\tau \to 0$ the loss becomes a triplet loss on the hardest negative, and as $\tau \to \infty$ a
#    "simple" loss that weights every negative equally.
#
# The similarities come from a synthetic anchor: a point of a 10-class von Mises-Fisher mixture on the
# sphere, so that about a tenth of its negatives share its class and sit close to it, as the
# false negatives of real data do.

# %% tags=["parameters"]
profile: str = "smoke"  # smoke | small | paper; analytic notebook: every profile computes the same
taus: list[float] = [0.07, 0.2, 0.3, 0.7, 1.0]  # temperatures compared (Wang & Liu's)
num_negatives: int = 4095  # negatives of the anchor (Wang & Liu's hard loss keeps 4095 on CIFAR)
dim: int = 128  # embedding dimension
kappa: float = 120.0  # concentration of each class of the synthetic mixture
seed: int = 0  # random seed of the synthetic features

# %% tags=["hide-input"] jupyter={"source_hidden": true}
from dystress.pipeline.parameters import check_parameters

params = check_parameters(globals())

import math

import matplotlib.pyplot as plt
import numpy as np
import torch

from dystress.mathematics import theory
from dystress.mathematics.vmf import anchor_similarities
from dystress.pipeline.figures import savefig, use_style

use_style()
NOTEBOOK = "01_gradient_analysis"
s_pos, s_neg, same_class = anchor_similarities(num_negatives, dim=dim, kappa=kappa, seed=seed)
print(f"positive similarity {s_pos.item():.3f}; {num_negatives} negatives, "
      f"{int(same_class.sum())} of the anchor's class")
print(f"negatives: mean {s_neg.mean().item():.3f}, same class {s_neg[same_class].mean().item():.3f}, "
      f"other classes {s_neg[~same_class].mean().item():.3f}")

# %% [markdown]
# ## 1-2. Closed form against autograd, and the hardness-aware identity
#
# `dystress.mathematics.theory.gradients` evaluates the closed forms; autograd differentiates the loss written as a
# log-sum-exp. The last column is $|\sum_j \partial\mathcal{L}/\partial s_j + \partial\mathcal{L}/\partial s_p|$.

# %% tags=["nbval-check-output"]
print(f"{'tau':>6} {'max |closed - autograd|':>24} {'dL/ds_p':>10} {'sum_j dL/ds_j':>14} {'identity gap':>13}")
for tau in taus:
    p = s_pos.clone().requires_grad_()
    n = s_neg.clone().requires_grad_()
    grad_p, grad_n = torch.autograd.grad(theory.anchor_loss(p, n, tau), (p, n))
    closed_p, closed_n = theory.gradients(s_pos, s_neg, tau)
    error = max((closed_p - grad_p).abs().item(), (closed_n - grad_n).abs().max().item())
    gap = abs(closed_n.sum().item() + closed_p.item())
    print(f"{tau:>6.2f} {'< 1e-12' if error < 1e-12 else f'{error:.1e}':>24} {closed_p.item():>10.4f} "
          f"{closed_n.sum().item():>14.4f} {'< 1e-12' if gap < 1e-12 else f'{gap:.1e}':>13}")

# %% [markdown]
# ## 3. Relative penalty: which negatives are pushed
#
# Each curve gives $r_j$ against $s_j$ for all 4,095 negatives (log scale); the crosses mark negatives of
# the anchor's own class, which are the most similar ones.

# %%
fig, ax = plt.subplots(figsize=(7, 4))
order = torch.argsort(s_neg)
for tau in taus:
    r = theory.relative_penalty(s_neg, tau)
    ax.plot(s_neg[order], r[order], label=rf"$\tau$ = {tau:g}")
    ax.scatter(s_neg[same_class], r[same_class], marker="x", s=10, color=ax.lines[-1].get_color())
ax.set(yscale="log", xlabel="similarity of the negative $s_j$", ylabel="relative penalty $r_j$",
       title="Share of the push on each negative (x: same class as the anchor)")
ax.legend()
savefig(fig, NOTEBOOK, "relative_penalty",
        caption=("The relative penalty $r_j$ of each of the anchor's negatives against its similarity "
                 "$s_j$, one curve per temperature; crosses mark negatives of the anchor's own class. The"
                 " lower the temperature, the more of the push falls on the most similar negatives."),
        alt="Relative penalty against similarity for each temperature, log scale")

# %% [markdown]
# The entropy $H$ of $r$ measures how evenly the push is spread; its maximum is $\log M$, and $e^H$ is the
# number of negatives that would share the push equally (the effective number of negatives).

# %% tags=["nbval-check-output"]
grid = torch.logspace(-2, 1, 61, dtype=torch.float64)
entropy = torch.stack([theory.penalty_entropy(s_neg, t.item()) for t in grid])
share_same = {t: theory.relative_penalty(s_neg, t)[same_class].sum().item() for t in taus}
print(f"log M = {np.log(num_negatives):.3f}; {int(same_class.sum())} of the {num_negatives} negatives "
      f"({same_class.float().mean().item():.1%}) share the anchor's class")
for tau in taus:
    h = theory.penalty_entropy(s_neg, tau).item()
    print(f"tau {tau:4.2f}: entropy {h:.3f} (effective negatives {np.exp(h):6.0f}), largest r "
          f"{theory.relative_penalty(s_neg, tau).max().item():.4f}, share of the push on same-class negatives "
          f"{share_same[tau]:.3f}")
assert bool((entropy.diff() > 0).all()), "the entropy must rise with tau"

# %% [markdown]
# At $\tau = 0.07$ the push concentrates on the most similar negatives without falling on a handful: about
# 445 negatives share it effectively, no single one takes more than about 3 %, and the 10 % of negatives
# from the anchor's own class take 90 % of it. At $\tau = 1$ it is close to uniform (about 4,050 effective
# negatives, 13.5 % on the same class). So a small temperature pushes hardest on exactly the samples a
# downstream classifier would want kept close: the uniformity-tolerance dilemma.

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(grid, entropy, color="k")
ax.axhline(np.log(num_negatives), ls="--", color="grey", label="log M (uniform push)")
for tau in taus:
    ax.plot([tau], [theory.penalty_entropy(s_neg, tau).item()], "o")
ax.set(xscale="log", xlabel=r"temperature $\tau$", ylabel=r"entropy of $r$", title="Entropy of the relative penalty")
ax.legend()
savefig(fig, NOTEBOOK, "penalty_entropy",
        caption=("The entropy of the relative penalty against the temperature; the dashed line, log M, is"
                 " a push shared equally by all M negatives. Low entropy means few negatives take the "
                 "push."),
        alt="Entropy of the relative penalty against temperature")

# %% [markdown]
# ## 4. The two limits
#
# $\tau \to 0$: $\mathcal{L} \to \frac{1}{\tau}\max(s_{\max} - s_p, 0)$, a triplet loss against the
# hardest negative (zero once the positive wins), so $\tau\mathcal{L}$ tends to $\max(s_{\max} - s_p, 0)$.
# $\tau \to \infty$: $\mathcal{L} \approx -\frac{N-1}{N\tau}s_p + \frac{1}{N\tau}\sum_j s_j + \log N$ with
# $N = M + 1$, a loss that pulls the positive and pushes every negative with the same weight; the error
# of this form falls as $1/\tau^2$. To make the triplet limit non-trivial the anchor below gets a
# positive similarity below its hardest negative. The figure shows both gaps on log axes: the triplet gap
# $\tau\mathcal{L} - \max(s_{\max} - s_p, 0)$ lies between 0 and $\tau\log(M + 1)$, since $\tau$ times a
# log-sum-exp of $M + 1$ logits is within $\tau\log(M + 1)$ of the largest similarity.

# %% tags=["nbval-check-output"]
hard_pos = s_neg.max() - 0.05
small = torch.logspace(-3, 0, 61, dtype=torch.float64)
large = torch.logspace(0, 3, 61, dtype=torch.float64)
scaled = torch.stack([t * theory.anchor_loss(hard_pos, s_neg, t.item()) for t in small])
triplet = torch.stack([t * theory.triplet_limit(hard_pos, s_neg, t.item()) for t in small])
loss_large = torch.stack([theory.anchor_loss(hard_pos, s_neg, t.item()) for t in large])
simple = torch.stack([theory.simple_limit(hard_pos, s_neg, t.item()) for t in large])
print(f"hardest negative {s_neg.max().item():.4f}, positive {hard_pos.item():.4f}")
for tau in (1e-3, 1e-2, 1e-1):
    k = int(torch.argmin((small - tau).abs()))
    print(f"tau {tau:6.3f}: tau*L {scaled[k].item():.4f}   triplet limit {triplet[k].item():.4f}")
for tau in (10.0, 100.0, 1000.0):
    k = int(torch.argmin((large - tau).abs()))
    print(f"tau {tau:6.0f}: L {loss_large[k].item():.6f}   simple limit {simple[k].item():.6f}   "
          f"gap {(loss_large[k] - simple[k]).abs().item():.2e}")
gap_large = (loss_large - simple).abs()
print(f"the simple-limit gap shrinks by {gap_large[0].item() / gap_large[20].item():.1f}x from tau 1 to 10 "
      f"and {gap_large[20].item() / gap_large[40].item():.1f}x from 10 to 100 (1 / tau^2: 100x)")
triplet_gap = scaled - triplet
print("0 <= tau*L - triplet limit <= tau log(M + 1) at every tau (to 1e-12, float64 rounding):",
      bool(((triplet_gap >= -1e-12) & (triplet_gap <= small * math.log(len(s_neg) + 1))).all()))

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
left.plot(small, (scaled - triplet).abs(), color="k", label=r"$|\tau\,\mathcal{L} - \tau\,\mathcal{L}_{\mathrm{triplet}}|$")
left.plot(small, small * math.log(len(s_neg) + 1), ":", label=r"$\tau \log(M + 1)$, an upper bound")
left.set(xscale="log", yscale="log", xlabel=r"temperature $\tau$", ylabel="gap to the limit",
         title=r"$\tau \to 0$: the triplet loss")
left.legend(fontsize=8)
right.plot(large, (loss_large - simple).abs(), color="k", label="|InfoNCE - simple limit|")
right.plot(large, (loss_large - simple).abs()[0] / large**2, ":", label=r"slope $1 / \tau^2$")
right.set(xscale="log", yscale="log", xlabel=r"temperature $\tau$", ylabel="gap to the limit",
          title=r"$\tau \to \infty$: the simple loss")
right.legend(fontsize=8)
savefig(fig, NOTEBOOK, "limits",
        caption=("The two limits of the InfoNCE loss: left, the gap between tau times the loss and the "
                 "triplet loss on the hardest negative as tau goes to 0, under its bound tau log(M + 1); "
                 "right, the gap to the simple loss as tau grows, beside a slope of 1 / tau^2."),
        alt="Gaps of the InfoNCE loss to its triplet and simple limits")

# %% [markdown]
# **What to take to the next notebook.** A small temperature focuses the gradient on the hardest
# negatives (here 90 % of it on the anchor's own class at $\tau = 0.07$); a large one spreads it evenly.
# What that does to a trained embedding - uniform but less tolerant of same-class neighbours at a small
# $\tau$, tolerant but less uniform at a large one - is what notebook 03 measures.
# DySTreSS makes $\tau$ a function of the similarity itself, $\tau(s_{ij})$, so that the loss treats
# near-duplicates, unrelated pairs and opposite pairs differently (notebook 02).

# %% [markdown]
# [the series](../README.md#the-notebooks) | [02 · Temperature as a function of similarity →](02_temperature_functions.ipynb)
