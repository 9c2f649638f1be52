"""Representation metrics. Every function L2-normalises its features first.

    alignment(x, y)              mean_i ||x_i - y_i||^alpha                        (Wang & Isola 2020)
    uniformity(x, t)             log mean_{i<j} exp(-t ||x_i - x_j||^2)          (Wang & Isola; <= 0,
                                 tables report its negative, at most 4 + 4 / (N - 1) for N unit
                                 vectors and t = 2, by Jensen's inequality)
    tolerance(x, labels)         mean x_i . x_j over same-class pairs i != j      (Wang & Liu 2021)
    inter_class_uniformity       uniformity of the normalised class centroids
    knn_accuracy                 weighted kNN (InstDisc: weights exp(s / t)), top-1 / top-5 in %
    positive_negative_similarities   s(positive) and the top-k nearest negatives (Wang & Liu Fig. 8)
    similarity_histograms + earth_movers_distance   same-instance / same-class / other-class pairs

Shapes: features (N, d), labels (N,) integer. Large inputs are processed in chunks of rows, so
memory stays bounded (e.g. kNN over 50,000 x 10,000 features).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from dystress import checks


def _features(name: str, x: Tensor, min_rows: int = 1) -> Tensor:
    if not isinstance(x, Tensor) or x.ndim != 2 or not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor of shape (N, d), got "
                         f"{tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__}")
    if x.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} rows, got {x.shape[0]}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} must be finite; found NaN or Inf")
    return F.normalize(x, dim=1)


def _labels(name: str, labels: Tensor, n: int) -> Tensor:
    if not isinstance(labels, Tensor) or labels.shape != (n,) or labels.is_floating_point():
        raise ValueError(f"{name} must be an integer tensor of shape ({n},), got "
                         f"{tuple(labels.shape) if isinstance(labels, Tensor) else type(labels).__name__}")
    if labels.numel() and labels.min() < 0:
        raise ValueError(f"{name} must be >= 0")
    return labels.long()


def _compact(labels: Tensor) -> Tensor:
    """Labels renumbered 0..K-1 in the order of their values (K = the number of distinct labels), so that
    arbitrary label values (1e9, say) need no memory in proportion to their size."""
    return torch.unique(labels, return_inverse=True)[1]


def alignment(x: Tensor, y: Tensor, alpha: float = 2) -> float:
    """mean_i ||x_i - y_i||^alpha over matching rows of x, y (N, d); 0 = perfectly aligned."""
    x, y = _features("x", x), _features("y", y)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    return (x - y).norm(dim=1).pow(alpha).mean().item()


def _pairwise_logsumexp(x: Tensor, y: Tensor, t: float, upper_only: bool, chunk_size: int) -> Tensor:
    """logsumexp of -t ||x_i - y_j||^2 over all pairs (or over i < j when upper_only, x is y)."""
    total = torch.tensor(-math.inf, dtype=torch.float64, device=x.device)
    for start in range(0, x.shape[0], chunk_size):
        block = x[start : start + chunk_size]
        sq = (2 - 2 * block @ y.T).clamp(min=0)
        values = -t * sq.double()
        if upper_only:
            rows = torch.arange(start, start + block.shape[0], device=x.device)[:, None]
            cols = torch.arange(y.shape[0], device=x.device)[None, :]
            values = values.masked_fill(cols <= rows, -math.inf)
        total = torch.logaddexp(total, values.logsumexp(dim=(0, 1)))
    return total


def uniformity(x: Tensor, t: float = 2.0, chunk_size: int = 2048) -> float:
    """log mean_{i<j} exp(-t ||x_i - x_j||^2) for x (N, d), N >= 2 (exact, chunked)."""
    x = _features("x", x, min_rows=2)
    if not t > 0:
        raise ValueError(f"t must be > 0, got {t}")
    n = x.shape[0]
    return (_pairwise_logsumexp(x, x, t, True, chunk_size) - math.log(n * (n - 1) / 2)).item()


def tolerance(x: Tensor, labels: Tensor) -> float:
    """Mean cosine similarity over same-class pairs i != j (any number of classes).

    Closed form per class c: sum_{i != j in c} x_i . x_j = ||sum_{i in c} x_i||^2 - n_c.
    """
    x = _features("x", x)
    labels = _compact(_labels("labels", labels, x.shape[0]))
    sums = torch.zeros(int(labels.max()) + 1, x.shape[1], dtype=torch.float64, device=x.device)
    sums.index_add_(0, labels, x.double())
    counts = torch.bincount(labels).double()
    pairs = (counts * (counts - 1)).sum()
    if pairs == 0:
        raise ValueError("tolerance needs at least one class with two or more samples")
    return ((sums.pow(2).sum() - counts.sum()) / pairs).item()


def class_centroids(x: Tensor, labels: Tensor) -> Tensor:
    """Normalised mean of the normalised features of each class present (C_present, d)."""
    x = _features("x", x)
    labels = _compact(_labels("labels", labels, x.shape[0]))
    sums = torch.zeros(int(labels.max()) + 1, x.shape[1], dtype=x.dtype, device=x.device)
    sums.index_add_(0, labels, x)
    return F.normalize(sums, dim=1)


def inter_class_uniformity(x: Tensor, labels: Tensor, t: float = 2.0) -> float:
    """Uniformity of the class centroids: log mean_{c<c'} exp(-t ||mu_c - mu_c'||^2), mu normalised.

    How evenly the classes (rather than the instances) spread over the sphere; needs >= 2 classes.
    """
    centroids = class_centroids(x, labels)
    if centroids.shape[0] < 2:
        raise ValueError("inter_class_uniformity needs at least two classes")
    return uniformity(centroids, t)


def knn_scores(train_x: Tensor, train_y: Tensor, test_x: Tensor, k: int = 200, t: float = 0.1,
               num_classes: int | None = None, chunk_size: int = 1024) -> Tensor:
    """Log class scores (M, C) of the weighted kNN vote (InstDisc), for any temperature t > 0:

        score_c = log sum_{top-k neighbours j of class c} exp(s_j / t)      (-inf for a class with none)

    computed as m_c + log sum_j exp(s_j / t - m_c) with m_c the largest s_j / t of the class, in float64:
    no weight overflows (exp(s / t) exceeds float32 for t below about 0.0113) and none underflows to a tie.
    The vote, its ranking and every accuracy derived from it are those of exp(s / t).
    ``num_classes`` (default: the largest training label + 1) must exceed every training label.
    """
    train_x, test_x = _features("train_x", train_x), _features("test_x", test_x)
    train_y = _labels("train_y", train_y, train_x.shape[0])
    if train_x.shape[1] != test_x.shape[1]:
        raise ValueError(f"train_x and test_x must have the same dimension, got {train_x.shape[1]} and "
                         f"{test_x.shape[1]}")
    checks.integer("k", k, minimum=1, maximum=train_x.shape[0])
    checks.number("t", t, above=0)
    largest = int(train_y.max())
    if num_classes is None:
        num_classes = largest + 1
    checks.integer("num_classes (larger than every training label)", num_classes, minimum=largest + 1)
    scores = torch.empty(test_x.shape[0], num_classes, dtype=torch.float64, device=test_x.device)
    for start in range(0, test_x.shape[0], chunk_size):
        sim = test_x[start : start + chunk_size] @ train_x.T
        top_sim, top_idx = sim.topk(k, dim=1)
        logits, labels = top_sim.double() / t, train_y[top_idx]
        empty = torch.full((logits.shape[0], num_classes), -math.inf, dtype=torch.float64, device=logits.device)
        class_max = empty.scatter_reduce(1, labels, logits, reduce="amax")
        sums = torch.zeros_like(empty).scatter_add_(1, labels, (logits - class_max.gather(1, labels)).exp())
        scores[start : start + chunk_size] = class_max + sums.log()
    return scores


def knn_accuracy(train_x: Tensor, train_y: Tensor, test_x: Tensor, test_y: Tensor, k: int = 200, t: float = 0.1,
                 num_classes: int | None = None, chunk_size: int = 1024) -> dict[str, float]:
    """Weighted kNN accuracy in percent: {"top1", "top5"} (top-5 is top-min(5, C); ties go to the lower class)."""
    test_y = _labels("test_y", test_y, test_x.shape[0])
    return top1_top5(knn_scores(train_x, train_y, test_x, k, t, num_classes, chunk_size), test_y)


def top1_top5(scores: Tensor, labels: Tensor) -> dict[str, float]:
    """Accuracy (%) of class scores (M, C) against labels (M,): {"top1", "top5"}; top-5 is top-min(5, C),
    and ties go to the lower class index."""
    top = scores.sort(dim=1, descending=True, stable=True).indices[:, :5]
    hits = top == labels[:, None]
    return {"top1": 100 * hits[:, 0].float().mean().item(), "top5": 100 * hits.any(dim=1).float().mean().item()}


def per_class_accuracy(predictions: Tensor, labels: Tensor, num_classes: int | None = None) -> Tensor:
    """Accuracy (%) of each class 0..C-1 (NaN for a class absent from ``labels``), float64 (C,)."""
    if not isinstance(labels, Tensor) or labels.ndim != 1 or labels.numel() == 0:
        raise ValueError("labels must be a non-empty integer tensor of shape (N,)")
    labels = _labels("labels", labels, labels.shape[0])
    if not isinstance(predictions, Tensor) or predictions.shape != labels.shape:
        raise ValueError(f"predictions must be a tensor of shape {tuple(labels.shape)} like labels")
    size = max(int(labels.max()) + 1, num_classes or 0)
    total = torch.bincount(labels, minlength=size).double()
    correct = torch.bincount(labels[predictions.to(labels.device) == labels], minlength=size).double()
    return 100 * correct / total


def mean_per_class_accuracy(predictions: Tensor, labels: Tensor) -> float:
    """Mean over the classes present in ``labels`` (N,) of the per-class accuracy of ``predictions`` (N,), in %."""
    return per_class_accuracy(predictions, labels).nanmean().item()


def positive_negative_similarities(anchors: Tensor, positives: Tensor, k: int = 10,
                                   chunk_size: int = 2048) -> tuple[Tensor, Tensor]:
    """Wang & Liu Fig. 8: s(anchor_i, positive_i) (N,) and the k largest s(anchor_i, positive_j), j != i (N, k)."""
    anchors, positives = _features("anchors", anchors, 2), _features("positives", positives, 2)
    if anchors.shape != positives.shape:
        raise ValueError("anchors and positives must have the same shape (two views of the same samples)")
    checks.integer("k", k, minimum=1, maximum=anchors.shape[0] - 1)
    pos = (anchors * positives).sum(dim=1)
    neg = []
    for start in range(0, anchors.shape[0], chunk_size):
        sim = anchors[start : start + chunk_size] @ positives.T
        rows = torch.arange(sim.shape[0], device=sim.device)
        sim[rows, start + rows] = -math.inf
        neg.append(sim.topk(k, dim=1).values)
    return pos, torch.cat(neg)


def similarity_histograms(z0: Tensor, z1: Tensor, labels: Tensor | None = None, bins: int = 100,
                          chunk_size: int = 2048) -> dict[str, Tensor]:
    """Histograms over [-1, 1] of cross-view similarities s(z0_i, z1_j).

    Keys: ``edges`` (bins + 1,), ``same_instance`` (i = j: true positives), and with labels
    ``same_class`` (i != j, same label: false negatives) and ``other_class`` (different labels: true
    negatives); without labels ``other_instance`` (all i != j). Counts are float64.
    """
    z0, z1 = _features("z0", z0, 2), _features("z1", z1, 2)
    if z0.shape != z1.shape:
        raise ValueError("z0 and z1 must have the same shape (two views of the same samples)")
    if labels is not None:
        labels = _labels("labels", labels, z0.shape[0]).to(z0.device)
    hist = lambda v: torch.histc(v.double(), bins=bins, min=-1.0, max=1.0)  # noqa: E731
    out = {"edges": torch.linspace(-1, 1, bins + 1, dtype=torch.float64),
           "same_instance": hist((z0 * z1).sum(dim=1)).cpu()}
    keys = ("same_class", "other_class") if labels is not None else ("other_instance",)
    acc = {key: torch.zeros(bins, dtype=torch.float64, device=z0.device) for key in keys}
    for start in range(0, z0.shape[0], chunk_size):
        sim = (z0[start : start + chunk_size] @ z1.T).clamp(-1, 1)
        rows = torch.arange(sim.shape[0], device=sim.device)
        off_diagonal = torch.ones_like(sim, dtype=torch.bool)
        off_diagonal[rows, start + rows] = False
        if labels is None:
            acc["other_instance"] += hist(sim[off_diagonal])
        else:
            same = labels[start : start + chunk_size, None] == labels[None, :]
            acc["same_class"] += hist(sim[same & off_diagonal])
            acc["other_class"] += hist(sim[~same])
    out.update({key: value.cpu() for key, value in acc.items()})
    return out


def earth_movers_distance(hist_a: Tensor, hist_b: Tensor, edges: Tensor) -> float:
    """1-D earth mover's (Wasserstein-1) distance between two histograms on the same uniform bins.

    The masses sit at the bin centres: W1 = width * sum_k |F_a(k) - F_b(k)| with F the cumulative
    normalised histograms.
    """
    if hist_a.shape != hist_b.shape or edges.shape[0] != hist_a.shape[0] + 1:
        raise ValueError("hist_a and hist_b need the same number of bins and edges one longer")
    if hist_a.sum() <= 0 or hist_b.sum() <= 0:
        raise ValueError("both histograms must hold some mass")
    width = (edges[-1] - edges[0]).item() / hist_a.shape[0]
    cdf_a = hist_a.double().cumsum(0) / hist_a.sum()
    cdf_b = hist_b.double().cumsum(0) / hist_b.sum()
    return (width * (cdf_a - cdf_b).abs().sum()).item()
