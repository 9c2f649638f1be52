"""Contrastive losses: one InfoNCE core, and every loss a thin configuration of it.

Notation. Two views of a batch of N samples give embeddings z0, z1 of shape (N, d); they are
L2-normalised inside the losses. The *anchors* (A of them) are compared with the *candidates* (C of
them) through cosine similarities s (A, C). Each anchor i has one positive p(i) among the candidates;
``negative_mask`` (A, C) marks its negatives. With a per-pair temperature tau_ij the core computes

    loss_i = -w_i s_ip / tau_ip + log sum_{j in D_i} exp(s_ij / tau_ij),     loss = mean_i loss_i

where D_i = {p(i)} U negatives(i) (InfoNCE), or negatives(i) alone (decoupled, DCL), and w_i = 1
except for DCLW. In-batch (SimCLR) setting: the anchors are the 2N views, the candidates are the same
2N views, p(i) is the other view of the same sample, and the negatives are the 2N - 2 views of the other
samples.

Temperatures are computed from *detached* similarities by default, tau_ij = tau(s_ij.detach()), as the
official DySTreSS code does; ``detach_tau=False`` lets the gradient flow through tau(s).

    >>> loss_fn = DySTreSSLoss(tau_min=0.07, tau_max=0.2)
    >>> z0, z1 = model(view0), model(view1)          # (N, d) each
    >>> loss = loss_fn(z0, z1)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from .temperature import TemperatureProfile, as_profile

__all__ = [
    "ContrastiveOutput",
    "info_nce",
    "NTXentLoss",
    "DySTreSSLoss",
    "DCLLoss",
    "HardContrastiveLoss",
    "MACLLoss",
    "ISogCLRLoss",
    "LOSSES",
    "make_loss",
]


@dataclass
class ContrastiveOutput:
    """What a loss computed, for analysis (``return_details=True``).

    loss: scalar; per_anchor: (A,); similarity: (A, C) cosine similarities; temperature: (A, C) the
    temperatures used (detached); positive_index: (A,) column of each anchor's positive;
    negative_mask: (A, C) bool, the negatives that entered each anchor's denominator.
    """

    loss: Tensor
    per_anchor: Tensor
    similarity: Tensor
    temperature: Tensor
    positive_index: Tensor
    negative_mask: Tensor


def info_nce(
    similarity: Tensor,
    temperature: Tensor,
    positive_index: Tensor,
    negative_mask: Tensor,
    include_positive: bool = True,
    positive_weight: Tensor | None = None,
) -> Tensor:
    """The contrastive core: the per-anchor losses (A,).

    similarity: (A, C); temperature: broadcastable to (A, C), strictly positive; positive_index: (A,)
    long; negative_mask: (A, C) bool (False at each anchor's positive and at the anchor itself);
    positive_weight: optional (A,) weights w_i on the positive term.

        loss_i = -w_i l_{i p(i)} + logsumexp_{j in D_i} l_ij,   l_ij = s_ij / tau_ij
    """
    logits = similarity / temperature
    positive_logit = logits.gather(1, positive_index[:, None]).squeeze(1)
    denominator = negative_mask
    if include_positive:
        denominator = negative_mask.scatter(1, positive_index[:, None], True)
    log_denominator = logits.masked_fill(~denominator, -math.inf).logsumexp(dim=1)
    if positive_weight is not None:
        positive_logit = positive_weight * positive_logit
    return log_denominator - positive_logit


class _GatherWithGradient(torch.autograd.Function):
    """all_gather whose backward sums the incoming gradients over ranks and returns this rank's part."""

    @staticmethod
    def forward(ctx, tensor: Tensor) -> tuple[Tensor, ...]:
        gathered = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
        dist.all_gather(gathered, tensor.contiguous())
        return tuple(gathered)

    @staticmethod
    def backward(ctx, *grads: Tensor) -> Tensor:
        stacked = torch.stack(grads)
        dist.all_reduce(stacked)
        return stacked[dist.get_rank()]


def _distributed() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def gather_with_gradient(tensor: Tensor) -> Tensor:
    """Concatenate ``tensor`` (n, d) from all ranks along dim 0, keeping the gradient path to every rank."""
    rank, world = _distributed()
    if world == 1:
        return tensor
    return torch.cat(_GatherWithGradient.apply(tensor), dim=0)


def in_batch_candidates(z0: Tensor, z1: Tensor, rank: int = 0, world: int = 1):
    """SimCLR's candidate set for normalised views z0, z1 (n, d) of this rank.

    anchors = [z0; z1] (2n, d); candidates = the anchors of all ranks (2nW, d), gathered with gradient;
    the positive of anchor i is the other view of its sample; its negatives are every candidate except
    itself and its positive. Returns (anchors, candidates, positive_index (2n,), negative_mask (2n, 2nW)).
    """
    anchors = torch.cat([z0, z1])
    n2 = anchors.shape[0]
    candidates = gather_with_gradient(anchors) if world > 1 else anchors
    local = torch.arange(n2, device=anchors.device)
    offset = rank * n2
    positive_index = offset + (local + n2 // 2) % n2
    negative_mask = torch.ones(n2, candidates.shape[0], dtype=torch.bool, device=anchors.device)
    negative_mask[local, offset + local] = False
    negative_mask[local, positive_index] = False
    return anchors, candidates, positive_index, negative_mask


def _check_embeddings(z0: Tensor, z1: Tensor, min_batch: int = 2) -> None:
    for name, z in (("z0", z0), ("z1", z1)):
        if not isinstance(z, Tensor):
            raise ValueError(f"{name} must be a torch.Tensor of shape (N, d), got {type(z).__name__}")
        if z.ndim != 2:
            raise ValueError(f"{name} must have shape (N, d); got shape {tuple(z.shape)}")
        if not z.is_floating_point():
            raise ValueError(f"{name} must be a floating-point tensor, got dtype {z.dtype}")
    if z0.shape != z1.shape:
        raise ValueError(f"z0 and z1 must have the same shape (N, d); got {tuple(z0.shape)} and {tuple(z1.shape)}")
    if z0.shape[0] < min_batch:
        raise ValueError(f"batch size N must be >= {min_batch} (a contrastive loss needs negatives); "
                         f"got N={z0.shape[0]}")
    if z0.shape[1] < 1:
        raise ValueError("embedding dimension d must be >= 1")
    if not (torch.isfinite(z0).all() and torch.isfinite(z1).all()):
        raise ValueError("z0 and z1 must be finite; found NaN or Inf in the embeddings")


def _check_flag(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def _check_queue_size(queue_size: object) -> None:
    if isinstance(queue_size, bool) or not isinstance(queue_size, int) or queue_size < 0:
        raise ValueError(f"queue_size must be an integer >= 0 (0 = no queue), got {queue_size!r}")


class _ContrastiveLoss(nn.Module):
    """Shared machinery: normalisation, the in-batch or queue candidate set, per-pair temperatures."""

    include_positive = True

    def __init__(
        self,
        temperature: float | TemperatureProfile,
        detach_tau: bool = True,
        queue_size: int = 0,
        gather_distributed: bool = False,
        check_inputs: bool = True,
    ) -> None:
        super().__init__()
        self.profile = as_profile(temperature)
        _check_flag("detach_tau", detach_tau)
        _check_flag("gather_distributed", gather_distributed)
        _check_flag("check_inputs", check_inputs)
        _check_queue_size(queue_size)
        self.detach_tau = detach_tau
        self.gather_distributed = gather_distributed
        self.check_inputs = check_inputs
        self.queue_size = queue_size
        if queue_size:
            self.register_buffer("queue", torch.zeros(0), persistent=True)
            self.register_buffer("queue_filled", torch.zeros(queue_size, dtype=torch.bool))
            self.register_buffer("queue_pointer", torch.zeros((), dtype=torch.long))

    def extra_repr(self) -> str:
        parts = [self.profile.describe(), f"detach_tau={self.detach_tau}"]
        if self.queue_size:
            parts.append(f"queue_size={self.queue_size}")
        if self.gather_distributed:
            parts.append("gather_distributed=True")
        return ", ".join(parts)

    def pair_temperature(self, similarity: Tensor, positive_index: Tensor) -> Tensor:
        return self.profile(similarity.detach() if self.detach_tau else similarity)

    def candidates(self, z0: Tensor, z1: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Return (anchors (A, d), candidates (C, d), positive_index (A,), negative_mask (A, C))."""
        if self.check_inputs:
            _check_embeddings(z0, z1)
        z0, z1 = F.normalize(z0, dim=1), F.normalize(z1, dim=1)
        rank, world = _distributed() if self.gather_distributed else (0, 1)
        if self.queue_size:
            return self._queue_candidates(z0, z1, rank, world)
        return in_batch_candidates(z0, z1, rank, world)

    def _queue_candidates(self, z0: Tensor, z1: Tensor, rank: int, world: int):
        n, d = z0.shape
        keys = gather_with_gradient(z1) if world > 1 else z1
        if self.queue.shape != (self.queue_size, d):
            if self.queue_filled.any():
                raise ValueError(f"embedding dimension changed from {self.queue.shape[1]} to {d} with a filled queue")
            self.queue = torch.zeros(self.queue_size, d, dtype=z0.dtype, device=z0.device)
        queue = self.queue.to(z0.dtype)
        candidates = torch.cat([keys, queue])
        positive_index = rank * n + torch.arange(n, device=z0.device)
        negative_mask = torch.cat(
            [torch.zeros(n, keys.shape[0], dtype=torch.bool, device=z0.device), self.queue_filled.expand(n, -1)], dim=1
        )
        if self.training:
            self._enqueue(keys.detach())
        return z0, candidates, positive_index, negative_mask

    @torch.no_grad()
    def _enqueue(self, keys: Tensor) -> None:
        keys = keys[-self.queue_size :]
        slots = (self.queue_pointer + torch.arange(keys.shape[0], device=keys.device)) % self.queue_size
        self.queue[slots] = keys.to(self.queue.dtype)
        self.queue_filled[slots] = True
        self.queue_pointer.copy_((self.queue_pointer + keys.shape[0]) % self.queue_size)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        key = prefix + "queue"
        if self.queue_size and key in state_dict:
            self.queue = torch.empty_like(state_dict[key])
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def positive_weight(self, similarity: Tensor, positive_index: Tensor) -> Tensor | None:
        return None

    def select_negatives(self, similarity: Tensor, negative_mask: Tensor) -> Tensor:
        return negative_mask

    def finish(self, per_anchor: Tensor) -> Tensor:
        return per_anchor.mean()

    def forward(self, z0: Tensor, z1: Tensor, return_details: bool = False):
        anchors, candidates, positive_index, negative_mask = self.candidates(z0, z1)
        similarity = anchors @ candidates.T
        temperature = self.pair_temperature(similarity, positive_index)
        negative_mask = self.select_negatives(similarity, negative_mask)
        per_anchor = info_nce(
            similarity,
            temperature,
            positive_index,
            negative_mask,
            include_positive=self.include_positive,
            positive_weight=self.positive_weight(similarity, positive_index),
        )
        loss = self.finish(per_anchor)
        if not return_details:
            return loss
        return ContrastiveOutput(
            loss, per_anchor, similarity, temperature.detach().expand_as(similarity), positive_index, negative_mask
        )


class NTXentLoss(_ContrastiveLoss):
    """SimCLR's NT-Xent loss (Chen et al. 2020) with a constant temperature.

    In-batch: 2N anchors, one positive each, 2N - 2 negatives, mean over the 2N anchors.
    With ``queue_size`` > 0 (MoCo style): the N anchors z0 take their positive from z1 and their
    negatives from a queue of past z1 embeddings (only filled slots count); z1 is enqueued after the
    loss in training mode. ``gather_distributed`` takes candidates from all ranks (gradient flows
    back through the gather); the loss is the mean over this rank's anchors.

    Args: temperature (> 0, or a TemperatureProfile), queue_size, gather_distributed, check_inputs
    (validate shapes and finiteness; a host synchronisation, switch off inside compiled steps).
    Shapes: forward(z0 (N, d), z1 (N, d)) -> scalar.
    """

    def __init__(self, temperature: float = 0.2, queue_size: int = 0, gather_distributed: bool = False,
                 check_inputs: bool = True) -> None:
        super().__init__(temperature, True, queue_size, gather_distributed, check_inputs)


class DySTreSSLoss(_ContrastiveLoss):
    """DySTreSS (Manna et al.): InfoNCE with a per-pair temperature tau(s_ij) from a profile.

    Args:
        tau_min, tau_max: temperature range, 0 < tau_min <= tau_max (paper CIFAR: 0.07, 0.2).
        profile: ``cosine`` (default), ``shifted_cosine`` (with shift, scale), ``linear``,
            ``exponential`` or ``constant``; see ``dystress.temperature``.
        detach_tau: compute tau from detached similarities (default, as the official code).
        queue_size, gather_distributed, check_inputs: as in ``NTXentLoss``.

    With tau_min == tau_max this is ``NTXentLoss(tau_min)``.
    """

    def __init__(self, tau_min: float = 0.07, tau_max: float = 0.2, profile: str = "cosine",
                 shift: float | None = None, scale: float | None = None, detach_tau: bool = True,
                 queue_size: int = 0, gather_distributed: bool = False, check_inputs: bool = True) -> None:
        super().__init__(TemperatureProfile(profile, tau_min, tau_max, shift, scale), detach_tau, queue_size,
                         gather_distributed, check_inputs)


class DCLLoss(_ContrastiveLoss):
    """Decoupled contrastive loss (Yeh et al. 2022): the positive is removed from the denominator.

        loss_i = -w_i s_ip / tau_ip + log sum_{j in negatives(i)} exp(s_ij / tau_ij)

    ``weighted=True`` gives DCLW, w_i = 2 - exp(s_ip / sigma) / mean_k exp(s_kp(k) / sigma) over the
    anchors of the batch (from detached similarities, as in lightly's implementation). ``temperature``
    may be a TemperatureProfile for the dynamic-temperature form, e.g.
    ``DCLLoss(TemperatureProfile("cosine", 0.07, 0.2))``.
    """

    include_positive = False

    def __init__(self, temperature: float | TemperatureProfile = 0.1, weighted: bool = False, sigma: float = 0.5,
                 detach_tau: bool = True, gather_distributed: bool = False, check_inputs: bool = True) -> None:
        super().__init__(temperature, detach_tau, 0, gather_distributed, check_inputs)
        _check_flag("weighted", weighted)
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not math.isfinite(sigma) or sigma <= 0:
            raise ValueError(f"sigma must be finite and > 0, got {sigma!r}")
        self.weighted = weighted
        self.sigma = float(sigma)

    def positive_weight(self, similarity: Tensor, positive_index: Tensor) -> Tensor | None:
        if not self.weighted:
            return None
        positive = similarity.detach().gather(1, positive_index[:, None]).squeeze(1)
        return 2 - positive.shape[0] * torch.softmax(positive / self.sigma, dim=0)


class HardContrastiveLoss(_ContrastiveLoss):
    """Wang & Liu (2021) hard contrastive loss with in-batch negatives.

    Only the hardest negatives of each anchor enter its denominator: the ``num_negatives`` most similar
    ones, or the top ``quantile`` fraction (ceil(quantile * (2N - 2)) of them; Wang & Liu use 4095 of
    50,000 on CIFAR, quantile 0.0819). Give exactly one of the two. The positive stays in the
    denominator. The selection uses detached similarities.
    """

    def __init__(self, temperature: float | TemperatureProfile = 0.2, num_negatives: int | None = None,
                 quantile: float | None = None, detach_tau: bool = True, gather_distributed: bool = False,
                 check_inputs: bool = True) -> None:
        super().__init__(temperature, detach_tau, 0, gather_distributed, check_inputs)
        if (num_negatives is None) == (quantile is None):
            raise ValueError("give exactly one of num_negatives (an integer >= 1) or quantile (in (0, 1])")
        if num_negatives is not None and (isinstance(num_negatives, bool) or not isinstance(num_negatives, int)
                                          or num_negatives < 1):
            raise ValueError(f"num_negatives must be an integer >= 1, got {num_negatives!r}")
        if quantile is not None and (isinstance(quantile, bool) or not isinstance(quantile, (int, float))
                                     or not 0 < quantile <= 1):
            raise ValueError(f"quantile must be in (0, 1], got {quantile!r}")
        self.num_negatives = num_negatives
        self.quantile = quantile

    def kept_negatives(self, available: int) -> int:
        if self.num_negatives is not None:
            if self.num_negatives > available:
                raise ValueError(f"num_negatives={self.num_negatives} exceeds the {available} negatives per anchor "
                                 f"of this batch; use at most {available} or a larger batch")
            return self.num_negatives
        return max(1, math.ceil(self.quantile * available - 1e-9))

    def select_negatives(self, similarity: Tensor, negative_mask: Tensor) -> Tensor:
        available = negative_mask.shape[1] - 2
        k = self.kept_negatives(available)
        scores = similarity.detach().masked_fill(~negative_mask, -math.inf)
        hardest = scores.topk(k, dim=1).indices
        return torch.zeros_like(negative_mask).scatter(1, hardest, True)


class MACLLoss(_ContrastiveLoss):
    """Model-aware contrastive loss (Huang et al., ICML 2023) on the in-batch SimCLR setting.

    The temperature follows the batch's alignment magnitude A = mean_i s_ip(i) (detached):
        tau_A = temperature (1 + alpha (A - a0)),
    and each anchor's InfoNCE term is reweighted by V_i = 1 / (1 - P_ip) (detached), where
    P_ip = softmax probability of the positive: loss = mean_i V_i loss_i.

    Requires temperature > 0, alpha >= 0, -1 <= a0 <= 1 and alpha (1 + a0) < 1 (so tau_A > 0 for all A).
    """

    def __init__(self, temperature: float = 0.1, alpha: float = 0.5, a0: float = 0.0,
                 gather_distributed: bool = False, check_inputs: bool = True) -> None:
        super().__init__(temperature, True, 0, gather_distributed, check_inputs)
        if self.profile.name != "constant":
            raise ValueError("MACL's temperature is a positive number (its base temperature tau_0), not a profile")
        for name, value in (("alpha", alpha), ("a0", a0)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        if alpha < 0 or not -1 <= a0 <= 1 or alpha * (1 + a0) >= 1:
            raise ValueError(f"need alpha >= 0, -1 <= a0 <= 1 and alpha * (1 + a0) < 1 so that tau stays > 0; "
                             f"got alpha={alpha}, a0={a0}")
        self.alpha = float(alpha)
        self.a0 = float(a0)

    def pair_temperature(self, similarity: Tensor, positive_index: Tensor) -> Tensor:
        alignment = similarity.detach().gather(1, positive_index[:, None]).mean()
        return (self.profile.tau_max * (1 + self.alpha * (alignment - self.a0))).expand(similarity.shape[0], 1)

    def finish(self, per_anchor: Tensor) -> Tensor:
        weight = 1 / -torch.expm1(-per_anchor.detach())
        return (weight * per_anchor).mean()


class ISogCLRLoss(nn.Module):
    """iSogCLR (Qiu et al., ICML 2023): individualised temperatures tau_i learned per sample.

    Each sample i keeps a temperature tau_i (initialised to ``tau_init``), a moving-average estimate
    s_i of g_i = mean_{j in negatives} exp(s_ij / tau_i), and a momentum u_i of tau's gradient. For each
    of the 2N in-batch anchors a (sample i, negatives: the 2N - 2 views of other samples):

        s   <- (1 - gamma) s_i + gamma g_a       (s = g_a on a sample's first visit)
        w_aj = exp(s_aj / tau_i) / s             (detached)
        loss_a = mean_{j in negatives} w_aj s_aj - s_ap           (its gradient is iSogCLR's model gradient)
        grad_tau_a = log s + rho - mean_j w_aj s_aj / tau_i

    and after the forward pass, with grad_tau_i the mean over i's two views clipped to [-3, 3]:
        s_i <- mean of the two views' s;  u_i <- (1 - beta_u) u_i + beta_u grad_tau_i;
        tau_i <- clip(tau_i - eta u_i, tau_min, tau_max).
    The loss returned is mean_a loss_a (the official code sums the two views, i.e. twice this).
    State updates happen in training mode only. iSogCLR shares the in-batch candidate set and masks of the
    other losses, but not the log-softmax core: its estimator of the denominator is the moving average s.

    Args: num_samples (dataset size; ``index`` values lie in [0, num_samples)), tau_init 0.1,
    tau_min 0.05, tau_max 1.0, gamma 0.8, rho 0.4, beta_u 0.5, eta 0.03 (CIFAR settings of the paper's code).
    Shapes: forward(z0 (N, d), z1 (N, d), index (N,) long) -> scalar.
    """

    def __init__(self, num_samples: int, tau_init: float = 0.1, tau_min: float = 0.05, tau_max: float = 1.0,
                 gamma: float = 0.8, rho: float = 0.4, beta_u: float = 0.5, eta: float = 0.03,
                 grad_clip: float = 3.0, check_inputs: bool = True) -> None:
        super().__init__()
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 2:
            raise ValueError(f"num_samples must be an integer >= 2 (the dataset size), got {num_samples!r}")
        TemperatureProfile("constant", tau_min, tau_max)
        if not tau_min <= tau_init <= tau_max:
            raise ValueError(f"tau_init must lie in [tau_min, tau_max] = [{tau_min}, {tau_max}], got {tau_init!r}")
        for name, value, low, high in (("gamma", gamma, 0, 1), ("beta_u", beta_u, 0, 1)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low < value <= high:
                raise ValueError(f"{name} must lie in (0, 1], got {value!r}")
        for name, value in (("rho", rho), ("eta", eta), ("grad_clip", grad_clip)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        _check_flag("check_inputs", check_inputs)
        self.num_samples = num_samples
        self.tau_min, self.tau_max, self.tau_init = float(tau_min), float(tau_max), float(tau_init)
        self.gamma, self.rho, self.beta_u, self.eta, self.grad_clip = gamma, rho, beta_u, eta, grad_clip
        self.check_inputs = check_inputs
        self.register_buffer("tau", torch.full((num_samples,), float(tau_init), dtype=torch.float64))
        self.register_buffer("s", torch.zeros(num_samples, dtype=torch.float64))
        self.register_buffer("u", torch.zeros(num_samples, dtype=torch.float64))
        self.register_buffer("seen", torch.zeros(num_samples, dtype=torch.bool))

    def extra_repr(self) -> str:
        return (f"num_samples={self.num_samples}, tau_init={self.tau_init:g}, tau in [{self.tau_min:g}, "
                f"{self.tau_max:g}], gamma={self.gamma:g}, rho={self.rho:g}, beta_u={self.beta_u:g}, eta={self.eta:g}")

    def _check_index(self, index: Tensor | None, n: int, device: torch.device) -> Tensor:
        if index is None:
            raise ValueError("index is required for ISogCLRLoss: forward(z0, z1, index) with the dataset indices "
                             "(N,) of the batch's samples")
        if not isinstance(index, Tensor) or index.ndim != 1 or index.shape[0] != n or index.is_floating_point():
            raise ValueError(f"index must be an integer tensor of shape ({n},), got "
                             f"{tuple(index.shape) if isinstance(index, Tensor) else type(index).__name__}")
        if self.check_inputs:
            if index.min() < 0 or index.max() >= self.num_samples:
                raise ValueError(f"index values must lie in [0, {self.num_samples}), got range "
                                 f"[{int(index.min())}, {int(index.max())}]")
            if index.unique().numel() != n:
                raise ValueError("index must not repeat a sample within a batch")
        return index.to(device=device, dtype=torch.long)

    def forward(self, z0: Tensor, z1: Tensor, index: Tensor | None = None, return_details: bool = False):
        if self.check_inputs:
            _check_embeddings(z0, z1)
        n = z0.shape[0]
        index = self._check_index(index, n, self.tau.device)
        anchors, candidates, positive_index, negative_mask = in_batch_candidates(
            F.normalize(z0, dim=1), F.normalize(z1, dim=1))
        similarity = anchors @ candidates.T
        tau = self.tau[index].repeat(2).to(similarity.dtype)[:, None]
        num_negatives = negative_mask.sum(dim=1)
        scaled = (similarity.detach() / tau).masked_fill(~negative_mask, -math.inf)
        g = scaled.exp().sum(dim=1) / num_negatives
        previous = self.s[index].repeat(2).to(g.dtype)
        first_visit = ~self.seen[index].repeat(2).to(g.device)
        s = torch.where(first_visit, g, (1 - self.gamma) * previous + self.gamma * g)
        weights = scaled.exp() / s[:, None]
        negatives = torch.where(negative_mask, weights * similarity, torch.zeros_like(similarity))
        positive = similarity.gather(1, positive_index[:, None]).squeeze(1)
        per_anchor = negatives.sum(dim=1) / num_negatives - positive
        if self.training:
            weighted_logit = torch.where(negative_mask, weights * scaled, torch.zeros_like(scaled)).sum(dim=1)
            grad_tau = torch.log(s) + self.rho - weighted_logit / num_negatives
            self._update(index, s.detach(), grad_tau.detach(), n)
        loss = per_anchor.mean()
        if not return_details:
            return loss
        return ContrastiveOutput(loss, per_anchor, similarity, tau.detach().expand_as(similarity), positive_index,
                                 negative_mask)

    @torch.no_grad()
    def _update(self, index: Tensor, s: Tensor, grad_tau: Tensor, n: int) -> None:
        s_mean = 0.5 * (s[:n] + s[n:])
        grad = (0.5 * (grad_tau[:n] + grad_tau[n:])).clamp(-self.grad_clip, self.grad_clip)
        self.s[index] = s_mean.to(self.s.dtype)
        self.u[index] = (1 - self.beta_u) * self.u[index] + self.beta_u * grad.to(self.u.dtype)
        self.tau[index] = (self.tau[index] - self.eta * self.u[index]).clamp(self.tau_min, self.tau_max)
        self.seen[index] = True


LOSSES = {
    "ntxent": NTXentLoss,
    "dystress": DySTreSSLoss,
    "dcl": DCLLoss,
    "hard": HardContrastiveLoss,
    "macl": MACLLoss,
    "isogclr": ISogCLRLoss,
}


def make_loss(name: str, **kwargs) -> nn.Module:
    """Build a loss by name (``LOSSES``): ``make_loss("dystress", tau_min=0.07, tau_max=0.2)``."""
    if name not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}; got {name!r}")
    return LOSSES[name](**kwargs)
