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

from dystress.mathematics.temperature import TemperatureProfile, as_profile


def _temperatures(s: Tensor, temperature: float | TemperatureProfile) -> Tensor:
    return as_profile(temperature)(s)


def logits(s: Tensor, temperature: float | TemperatureProfile) -> Tensor:
    """Effective logit l(s) = s / tau(s)."""
    return s / _temperatures(s, temperature)


def logit_slope(s: Tensor, temperature: float | TemperatureProfile, detach_tau: bool = True) -> Tensor:
    """dl/ds: 1/tau(s) with tau detached; (tau - s tau') / tau^2 with the gradient through tau."""
    profile = as_profile(temperature)
    tau = profile(s)
    if detach_tau:
        return 1 / tau
    return (tau - s * profile.derivative(s)) / tau**2


def order_reversals(temperature: float | TemperatureProfile, points: int = 20001) -> list[tuple[float, float]]:
    """The intervals of s in [-1, 1] on which the effective logit s / tau(s) decreases (a more similar pair
    gets a smaller logit), as (start, end) pairs, located on a grid of ``points`` similarities."""
    s = torch.linspace(-1, 1, points, dtype=torch.float64)
    falling = (logit_slope(s, temperature, detach_tau=False) < 0).to(torch.int8)
    edges = torch.diff(falling, prepend=torch.zeros(1, dtype=torch.int8), append=torch.zeros(1, dtype=torch.int8))
    starts, ends = torch.nonzero(edges == 1).squeeze(1), torch.nonzero(edges == -1).squeeze(1) - 1
    return [(s[a].item(), s[b].item()) for a, b in zip(starts.tolist(), ends.tolist())]


def anchor_loss(s_pos: Tensor, s_neg: Tensor, temperature: float | TemperatureProfile) -> Tensor:
    """L for one anchor per leading index: s_pos (...,), s_neg (..., M) -> (...,)."""
    l_pos = logits(s_pos, temperature)
    all_logits = torch.cat([l_pos[..., None], logits(s_neg, temperature)], dim=-1)
    return all_logits.logsumexp(dim=-1) - l_pos


def probabilities(s_pos: Tensor, s_neg: Tensor, temperature: float | TemperatureProfile) -> tuple[Tensor, Tensor]:
    """Softmax probabilities (P_p (...,), P_j (..., M))."""
    all_logits = torch.cat([logits(s_pos, temperature)[..., None], logits(s_neg, temperature)], dim=-1)
    p = torch.softmax(all_logits, dim=-1)
    return p[..., 0], p[..., 1:]


def gradients(s_pos: Tensor, s_neg: Tensor, temperature: float | TemperatureProfile,
              detach_tau: bool = True) -> tuple[Tensor, Tensor]:
    """Closed-form (dL/ds_p (...,), dL/ds_j (..., M))."""
    p_pos, p_neg = probabilities(s_pos, s_neg, temperature)
    grad_pos = -(1 - p_pos) * logit_slope(s_pos, temperature, detach_tau)
    grad_neg = p_neg * logit_slope(s_neg, temperature, detach_tau)
    return grad_pos, grad_neg


def relative_penalty(s_neg: Tensor, temperature: float | TemperatureProfile) -> Tensor:
    """r_j = exp(l_j) / sum_k exp(l_k) over the negatives (..., M); sums to 1."""
    return torch.softmax(logits(s_neg, temperature), dim=-1)


def penalty_entropy(s_neg: Tensor, temperature: float | TemperatureProfile) -> Tensor:
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
