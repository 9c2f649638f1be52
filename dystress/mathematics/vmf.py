"""Controlled synthetic features: von Mises-Fisher (vMF) mixtures on the unit sphere S^{d-1}.

vMF(mu, kappa) has density proportional to exp(kappa mu . x); kappa = 0 is uniform, large kappa is
concentrated around mu. Its mean resultant length is E[mu . x] = A_d(kappa) = I_{d/2}(kappa) / I_{d/2-1}(kappa),
so two independent draws from one component have expected similarity A_d(kappa)^2: the tolerance of a
class with concentration kappa.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy.special import ive
from torch import Tensor


def mean_resultant_length(dim: int, kappa: float) -> float:
    """A_d(kappa) = I_{d/2}(kappa) / I_{d/2-1}(kappa) (exponentially scaled Bessel functions for stability)."""
    if kappa == 0:
        return 0.0
    return float(ive(dim / 2, kappa) / ive(dim / 2 - 1, kappa))


def sample_vmf(mu: Tensor, kappa: float, n: int, rng: np.random.Generator) -> Tensor:
    """n draws from vMF(mu, kappa) on S^{d-1} (Wood 1994 rejection sampler), float64 (n, d).

    mu (d,) is normalised first; ``rng`` is a numpy Generator (``np.random.default_rng(seed)``).
    """
    if mu.ndim != 1 or mu.shape[0] < 2:
        raise ValueError(f"mu must have shape (d,) with d >= 2, got {tuple(mu.shape)}")
    if not math.isfinite(kappa) or kappa < 0:
        raise ValueError(f"kappa must be finite and >= 0, got {kappa}")
    d = mu.shape[0]
    mu_np = F.normalize(mu.double(), dim=0).numpy()
    if kappa == 0:
        x = rng.standard_normal((n, d))
        return F.normalize(torch.from_numpy(x), dim=1)
    b = (d - 1) / (2 * kappa + math.sqrt(4 * kappa**2 + (d - 1) ** 2))
    x0 = (1 - b) / (1 + b)
    c = kappa * x0 + (d - 1) * math.log(1 - x0**2)
    accepted: list[np.ndarray] = []
    count = 0
    while count < n:
        m = 2 * (n - count) + 8
        z = rng.beta((d - 1) / 2, (d - 1) / 2, size=m)
        cand = (1 - (1 + b) * z) / (1 - (1 - b) * z)
        keep = cand[kappa * cand + (d - 1) * np.log(1 - x0 * cand) - c >= np.log(rng.uniform(size=m))]
        accepted.append(keep[: n - count])
        count += accepted[-1].shape[0]
    w = np.concatenate(accepted)
    v = rng.standard_normal((n, d))
    v -= (v @ mu_np)[:, None] * mu_np
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return torch.from_numpy(w[:, None] * mu_np + np.sqrt(np.clip(1 - w**2, 0, None))[:, None] * v)


def vmf_mixture(num_classes: int, per_class: int, dim: int, kappa: float | list[float],
                seed: int = 0, means: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """A mixture of vMF classes with uniformly random means (or the given ``means`` (C, d)).

    Returns (x (C * per_class, d) float64, labels (C * per_class,), means (C, d)). ``kappa`` may be one
    value or one per class.
    """
    if num_classes < 1 or per_class < 1 or dim < 2:
        raise ValueError("need num_classes >= 1, per_class >= 1 and dim >= 2")
    rng = np.random.default_rng(seed)
    kappas = [float(kappa)] * num_classes if np.isscalar(kappa) else [float(k) for k in kappa]
    if len(kappas) != num_classes:
        raise ValueError(f"kappa must be one number or {num_classes} numbers, got {len(kappas)}")
    if means is None:
        means = F.normalize(torch.from_numpy(rng.standard_normal((num_classes, dim))), dim=1)
    xs = [sample_vmf(means[c], kappas[c], per_class, rng) for c in range(num_classes)]
    labels = torch.arange(num_classes).repeat_interleave(per_class)
    return torch.cat(xs), labels, means


def anchor_similarities(num_negatives: int, dim: int = 128, num_classes: int = 10, kappa: float = 40.0,
                        view_kappa: float = 400.0, seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """Similarities seen by one anchor: (s_pos (), s_neg (M,), same_class (M,) bool), float64.

    The anchor is a point of class 0 of a vMF mixture (``num_classes`` classes, concentration ``kappa``);
    its positive is a vMF(anchor, view_kappa) draw (an augmented view); its M negatives are the other
    points of the mixture, about 1 / num_classes of them from the anchor's own class.
    """
    if num_negatives < 1:
        raise ValueError(f"num_negatives must be >= 1, got {num_negatives}")
    per_class = num_negatives // num_classes + 1
    x, labels, _ = vmf_mixture(num_classes, per_class, dim, kappa, seed)
    anchor = x[0]
    positive = sample_vmf(anchor, view_kappa, 1, np.random.default_rng(seed + 1))[0]
    negatives, negative_labels = x[1 : num_negatives + 1], labels[1 : num_negatives + 1]
    return anchor @ positive, negatives @ anchor, negative_labels == labels[0]


def uniform_uniformity(dim: int, t: float = 2.0) -> float:
    """Uniformity log E exp(-t ||x - y||^2) of the uniform distribution on S^{dim-1} (exact, by quadrature).

    For independent uniform x, y the cosine c = x . y has density proportional to (1 - c^2)^((dim - 3) / 2)
    on [-1, 1], and ||x - y||^2 = 2 - 2c.
    """
    from scipy.integrate import quad

    if dim < 2:
        raise ValueError(f"dim must be >= 2, got {dim}")
    power = (dim - 3) / 2
    weight = lambda c: (1 - c * c) ** power  # noqa: E731
    numerator = quad(lambda c: np.exp(-t * (2 - 2 * c)) * weight(c), -1, 1, limit=200)[0]
    return float(np.log(numerator / quad(weight, -1, 1, limit=200)[0]))
