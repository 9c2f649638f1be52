"""Closed forms for InfoNCE with a constant or per-pair temperature (Wang & Liu 2021; DySTreSS).

One anchor with positive similarity s_p and negative similarities s_j (j = 1..M); temperatures
tau_p = tau(s_p), tau_j = tau(s_j); logits l = s / tau(s); P = softmax over {l_p, l_1..l_M}:

    L = -l_p + log(exp(l_p) + sum_j exp(l_j))

Gradients with respect to the similarities, with slope(s) = dl/ds:
    dL/ds_p = -(1 - P_p) slope(s_p),      dL/ds_j = P_j slope(s_j)
    slope(s) = 1 / tau(s)                        when tau is detached (the official DySTreSS code)
    slope(s) = (tau(s) - s tau'(s)) / tau(s)^2   when the gradient flows through tau(s)
For a constant tau the negative gradients sum to minus the positive one (hardness-aware identity).

Relative penalty (Wang & Liu, eq. 3): r_j = exp(l_j) / sum_k exp(l_k) over the negatives; it is the
share of the push that negative j receives; its entropy falls as tau falls.

Limits (N = M + 1 terms in the denominator):
    tau -> 0:    L -> max(max_j s_j - s_p, 0) / tau                                (triplet loss)
    tau -> inf:  L ~  -(N - 1) / (N tau) s_p + 1 / (N tau) sum_j s_j + log N        (simple loss)

All functions take tensors with the negatives on the last dimension and broadcast over leading ones.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from dystress.mathematics.temperature import TemperatureFunction, as_function


def _temperatures(s: Tensor, temperature: float | TemperatureFunction) -> Tensor:
    return as_function(temperature)(s)


def logits(s: Tensor, temperature: float | TemperatureFunction) -> Tensor:
    """Effective logit l(s) = s / tau(s)."""
    return s / _temperatures(s, temperature)


def logit_slope(s: Tensor, temperature: float | TemperatureFunction, detach_tau: bool = True) -> Tensor:
    """dl/ds: 1/tau(s) with tau detached; (tau - s tau') / tau^2 with the gradient through tau."""
    function = as_function(temperature)
    tau = function(s)
    if detach_tau:
        return 1 / tau
    return (tau - s * function.derivative(s)) / tau**2


def order_reversals(temperature: float | TemperatureFunction, points: int = 20001) -> list[tuple[float, float]]:
    """The intervals of s in [-1, 1] on which the effective logit s / tau(s) decreases (a more similar pair
    gets a smaller logit), as (start, end) pairs, located on a grid of ``points`` similarities."""
    s = torch.linspace(-1, 1, points, dtype=torch.float64)
    falling = (logit_slope(s, temperature, detach_tau=False) < 0).to(torch.int8)
    edges = torch.diff(falling, prepend=torch.zeros(1, dtype=torch.int8), append=torch.zeros(1, dtype=torch.int8))
    starts, ends = torch.nonzero(edges == 1).squeeze(1), torch.nonzero(edges == -1).squeeze(1) - 1
    return [(s[a].item(), s[b].item()) for a, b in zip(starts.tolist(), ends.tolist())]


def anchor_loss(s_pos: Tensor, s_neg: Tensor, temperature: float | TemperatureFunction) -> Tensor:
    """L for one anchor per leading index: s_pos (...,), s_neg (..., M) -> (...,)."""
    l_pos = logits(s_pos, temperature)
    all_logits = torch.cat([l_pos[..., None], logits(s_neg, temperature)], dim=-1)
    return all_logits.logsumexp(dim=-1) - l_pos


def probabilities(s_pos: Tensor, s_neg: Tensor, temperature: float | TemperatureFunction) -> tuple[Tensor, Tensor]:
    """Softmax probabilities (P_p (...,), P_j (..., M))."""
    all_logits = torch.cat([logits(s_pos, temperature)[..., None], logits(s_neg, temperature)], dim=-1)
    p = torch.softmax(all_logits, dim=-1)
    return p[..., 0], p[..., 1:]


def gradients(s_pos: Tensor, s_neg: Tensor, temperature: float | TemperatureFunction,
              detach_tau: bool = True) -> tuple[Tensor, Tensor]:
    """Closed-form (dL/ds_p (...,), dL/ds_j (..., M))."""
    p_pos, p_neg = probabilities(s_pos, s_neg, temperature)
    grad_pos = -(1 - p_pos) * logit_slope(s_pos, temperature, detach_tau)
    grad_neg = p_neg * logit_slope(s_neg, temperature, detach_tau)
    return grad_pos, grad_neg


def relative_penalty(s_neg: Tensor, temperature: float | TemperatureFunction) -> Tensor:
    """r_j = exp(l_j) / sum_k exp(l_k) over the negatives (..., M); sums to 1."""
    return torch.softmax(logits(s_neg, temperature), dim=-1)


def penalty_entropy(s_neg: Tensor, temperature: float | TemperatureFunction) -> Tensor:
    """Entropy -sum_j r_j log r_j of the relative penalty (...,); at most log M (uniform push)."""
    log_r = torch.log_softmax(logits(s_neg, temperature), dim=-1)
    return -(log_r.exp() * log_r).sum(dim=-1)


def triplet_limit(s_pos: Tensor, s_neg: Tensor, tau: float) -> Tensor:
    """The tau -> 0 form of L: max(max_j s_j - s_p, 0) / tau."""
    return (s_neg.max(dim=-1).values - s_pos).clamp(min=0) / tau


def simple_limit(s_pos: Tensor, s_neg: Tensor, tau: float) -> Tensor:
    """The tau -> inf form of L: -(N-1)/(N tau) s_p + 1/(N tau) sum_j s_j + log N, N = M + 1."""
    n = s_neg.shape[-1] + 1
    return -(n - 1) / (n * tau) * s_pos + s_neg.sum(dim=-1) / (n * tau) + math.log(n)


def pull_and_push(s_pos: Tensor, s_neg: Tensor, temperature: float | TemperatureFunction,
                  detach_tau: bool = True) -> tuple[Tensor, Tensor]:
    """The pull on the positive, -dL/ds_p, and the total push on the negatives, sum_j dL/ds_j (both (...,)).

    With a constant tau both equal (1 - P_p) / tau: the hardness-aware identity. With a per-pair tau(s) and
    tau detached, pull = (1 - P_p) / tau(s_p) and push = sum_j P_j / tau(s_j): the positive and the
    negatives are scaled by different temperatures, so push / pull = E_r[1 / tau(s_j)] tau(s_p), the ratio
    of the positive's temperature to the penalty-weighted harmonic mean of the negatives'.
    """
    grad_pos, grad_neg = gradients(s_pos, s_neg, temperature, detach_tau)
    return -grad_pos, grad_neg.sum(dim=-1)


def push_share_by_similarity(s_neg: Tensor, grad_neg: Tensor, edges: Tensor) -> Tensor:
    """The share of the total push that falls on negatives in each similarity bin.

    s_neg, grad_neg: (..., M) negative similarities and their gradients dL/ds_j (``gradients``), pooled over
    all leading indices; edges: (B + 1,) increasing bin edges (the last bin includes its right edge).
    Returns (B,): sum of dL/ds_j over the negatives in each bin, divided by the sum over all negatives in the
    bins (shares sum to 1; a bin's share is negative where a differentiated tau pulls its negatives).
    """
    s, g = s_neg.reshape(-1), grad_neg.reshape(-1).to(torch.float64)
    if s.shape != g.shape:
        raise ValueError(f"s_neg and grad_neg must have one shape, got {tuple(s_neg.shape)} and "
                         f"{tuple(grad_neg.shape)}")
    if edges.ndim != 1 or edges.numel() < 2 or not bool((edges[1:] > edges[:-1]).all()):
        raise ValueError("edges must be a 1-d increasing tensor of at least 2 bin edges")
    inside = (s >= edges[0]) & (s <= edges[-1])
    index = torch.bucketize(s[inside], edges[1:-1].to(s.dtype), right=True)
    totals = torch.zeros(edges.numel() - 1, dtype=torch.float64).index_add_(0, index, g[inside])
    return totals / totals.sum()
