"""Independent float64 references written as plain loops over anchors and candidates.

They share no code with ``dystress.mathematics.losses``: similarities are dot products summed term by term,
denominators are Python sums of exponentials, and temperatures come from the formulas written out here.
Autograd through these loops gives the reference gradients.
"""

from __future__ import annotations

import math

import torch


def tau_formula(s, name, tau_min, tau_max, shift=None, scale=None):
    delta = tau_max - tau_min
    if name == "constant":
        return tau_max + 0 * s
    if name == "cosine":
        return tau_min + 0.5 * delta * (1 + torch.cos(math.pi * (1 + s)))
    if name == "shifted_cosine":
        if s.item() > -shift:
            return tau_max + 0 * s
        return tau_min + 0.5 * delta * (1 + torch.cos(math.pi * (s + shift) / scale))
    if name == "linear":
        return tau_min + delta * torch.abs(s)
    if name == "exponential":
        return tau_min * (tau_max / tau_min) ** torch.abs(s)
    raise AssertionError(name)


def normalise(z):
    rows = []
    for i in range(z.shape[0]):
        norm = torch.sqrt(sum(z[i, k] ** 2 for k in range(z.shape[1])))
        rows.append(torch.stack([z[i, k] / norm for k in range(z.shape[1])]))
    return rows


def dot(a, b):
    return sum(a[k] * b[k] for k in range(a.shape[0]))


def views(z0, z1):
    """The 2N normalised views in SimCLR order [z0; z1] and each one's partner index."""
    v = normalise(z0) + normalise(z1)
    n = z0.shape[0]
    partner = [(i + n) % (2 * n) for i in range(2 * n)]
    return v, partner


def infonce_reference(z0, z1, tau_of, detach_tau=True, include_positive=True, keep_negatives=None,
                      positive_weights=None, anchor_weights=None):
    """Mean over the 2N anchors of -w_i s_ip/tau_ip + log sum_{D_i} exp(s_ij/tau_ij).

    tau_of(s) -> temperature for one similarity; keep_negatives(i, negatives) -> the kept subset.
    """
    v, partner = views(z0, z1)
    m = len(v)
    total = 0
    per_anchor = []
    for i in range(m):
        p = partner[i]
        s_pos = dot(v[i], v[p])
        tau_pos = tau_of(s_pos.detach() if detach_tau else s_pos)
        negatives = [j for j in range(m) if j not in (i, p)]
        if keep_negatives is not None:
            negatives = keep_negatives(i, negatives, [dot(v[i], v[j]).item() for j in negatives])
        terms = []
        if include_positive:
            terms.append(torch.exp(s_pos / tau_pos))
        for j in negatives:
            s = dot(v[i], v[j])
            terms.append(torch.exp(s / tau_of(s.detach() if detach_tau else s)))
        w = 1.0 if positive_weights is None else positive_weights[i]
        loss_i = -w * s_pos / tau_pos + torch.log(sum(terms))
        per_anchor.append(loss_i)
    for i, loss_i in enumerate(per_anchor):
        a = 1.0 if anchor_weights is None else anchor_weights(loss_i)
        total = total + a * loss_i
    return total / m


def positive_similarities(z0, z1):
    v, partner = views(z0, z1)
    return [dot(v[i], v[partner[i]]) for i in range(len(v))]


def isogclr_reference(batches, num_samples, tau_init, tau_min, tau_max, gamma, rho, beta_u, eta, grad_clip=3.0):
    """Run iSogCLR over a list of (z0, z1, index) batches; return per-batch losses and the final state."""
    tau = [tau_init] * num_samples
    s_state = [0.0] * num_samples
    u = [0.0] * num_samples
    seen = [False] * num_samples
    losses = []
    for z0, z1, index in batches:
        n = z0.shape[0]
        v, partner = views(z0, z1)
        total = 0
        s_new, grad_new = [], []
        for a in range(2 * n):
            i = int(index[a % n])
            t = tau[i]
            negatives = [j for j in range(2 * n) if j not in (a, partner[a])]
            sims = [dot(v[a], v[j]) for j in negatives]
            g = sum(math.exp(s.item() / t) for s in sims) / len(negatives)
            s_a = g if not seen[i] else (1 - gamma) * s_state[i] + gamma * g
            weights = [math.exp(s.item() / t) / s_a for s in sims]
            loss_a = sum(w * s for w, s in zip(weights, sims)) / len(negatives) - dot(v[a], v[partner[a]])
            total = total + loss_a
            s_new.append(s_a)
            grad_new.append(math.log(s_a) + rho - sum(w * s.item() / t for w, s in zip(weights, sims)) / len(negatives))
        losses.append(total / (2 * n))
        for k in range(n):
            i = int(index[k])
            grad = min(max(0.5 * (grad_new[k] + grad_new[k + n]), -grad_clip), grad_clip)
            s_state[i] = 0.5 * (s_new[k] + s_new[k + n])
            u[i] = (1 - beta_u) * u[i] + beta_u * grad
            tau[i] = min(max(tau[i] - eta * u[i], tau_min), tau_max)
            seen[i] = True
    return losses, tau, s_state, u
