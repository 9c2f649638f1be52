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

Every loss has the same forward, ``loss_fn(z0, z1, index=None, return_details=False)`` (``index``: the
dataset indices of the batch, which only losses with per-sample state read), and a per-step hook,
``loss_fn.set_progress(epoch)`` with the fractional epoch of the step, through which a temperature schedule
acts. A loss the trainer can use is
registered by name when its class is defined (``class MyLoss(InfoNCELoss, name="mine")``) and carries its
training parameters as a nested ``Options`` dataclass and its construction from them as ``from_options``:
nothing else in the project needs to change to train with it (``LOSSES`` is the registry).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from dystress import checks
from dystress.mathematics.memory_bank import MemoryBank
from dystress.mathematics.temperature import (
    TemperatureFunction,
    as_function,
    check_temperature_range,
    constant,
    kukleva_schedule,
)
from dystress.options import option

__all__ = [
    "ContrastiveOutput",
    "info_nce",
    "LossOptions",
    "option_types",
    "ContrastiveLoss",
    "InfoNCELoss",
    "NTXentLoss",
    "DySTreSSLoss",
    "DCLLoss",
    "HardContrastiveLoss",
    "MACLLoss",
    "SimpleLoss",
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


LOSSES: dict[str, type["ContrastiveLoss"]] = {}  # name -> class, filled as loss classes are defined


@dataclass(frozen=True)
class LossOptions:
    """A loss's parameters as a training configuration holds them (``TrainConfig.loss_options``).

    Each field has a default and a trailing comment, which is its help on the command line; the fields are
    checked when the options are made. ``identity()`` is what of them names a run: by default every field.
    """

    def __post_init__(self) -> None:
        self.check()

    loss_class: ClassVar[type | None] = None  # the loss these options build (set when the loss is registered)

    def check(self) -> None:
        """Raise ValueError naming the field that is wrong (called on construction): each field's type here, and
        its value where it is validated once, by building the loss (its constructor's checks)."""
        for f in dataclasses.fields(self):
            checks.matches(f.name, getattr(self, f.name), option_types(type(self))[f.name])
        if self.loss_class is not None:
            self.loss_class.from_options(self, num_samples=2)

    def identity(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def describe_temperature(self) -> str:
        return "see the loss"


def option_types(cls: type) -> dict:
    """{field: annotation} of an options dataclass (its fields alone, not its class variables)."""
    import typing

    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _plain(value: object) -> object:
    """int given for a float stays a float in a run's identity (1 and 1.0 name the same run)."""
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


@dataclass(frozen=True)
class FunctionOptions(LossOptions):
    """DySTreSS's temperature function tau(s) (``dystress.mathematics.temperature``)."""

    tau_min: float = option(0.07, "DySTreSS lower temperature")
    tau_max: float = option(0.2, "DySTreSS upper temperature")
    tau_shape: str = option("cosine", "shape of DySTreSS's tau(s): cosine | shifted_cosine | linear | exponential")
    tau_shift: float | None = option(None, "shifted_cosine offset (DySTreSS*: -0.4)")
    tau_scale: float | None = option(None, "shifted_cosine scale (DySTreSS*: 0.7)")
    detach_tau: bool = option(True, "compute tau(s) from detached similarities (official code)")

    def function(self) -> TemperatureFunction:
        return TemperatureFunction(self.tau_shape, self.tau_min, self.tau_max, self.tau_shift, self.tau_scale)

    def function_identity(self) -> dict:
        shape = {"profile": self.tau_shape, "tau_min": float(self.tau_min), "tau_max": float(self.tau_max),
                 "detach_tau": self.detach_tau}
        if self.tau_shape == "shifted_cosine":
            shape |= {"tau_shift": float(self.tau_shift), "tau_scale": float(self.tau_scale)}
        return shape

    def describe_function(self) -> str:
        shifted = f" shift {self.tau_shift:g} scale {self.tau_scale:g}" if self.tau_shape == "shifted_cosine" else ""
        return f"{self.tau_shape} [{self.tau_min:g}, {self.tau_max:g}]{shifted}"


@dataclass(frozen=True)
class ScheduleOptions(LossOptions):
    """A constant temperature, or Kukleva et al.'s schedule of it over training, evaluated at the fractional
    epoch of every optimiser step."""

    temperature: float = option(0.2, "constant temperature (ntxent, dcl, hard; MACL's tau_0)")
    tau_schedule: str = option("none", "none | kukleva: a temperature per optimiser step for ntxent / dcl / hard")
    schedule_tau_min: float = option(0.1, "Kukleva schedule minimum")
    schedule_tau_max: float = option(1.0, "Kukleva schedule maximum")
    schedule_t_max: float = option(200.0, "Kukleva half period in epochs, fractional allowed")

    def check(self) -> None:
        super().check()
        checks.one_of("tau_schedule", self.tau_schedule, ("none", "kukleva"))
        if self.tau_schedule != "none":
            if self.uses_function():
                raise ValueError("tau_schedule applies to a constant temperature, not with dynamic_tau")
            check_temperature_range(self.schedule_tau_min, self.schedule_tau_max,
                                    ("schedule_tau_min", "schedule_tau_max"))
            checks.number("schedule_t_max", self.schedule_t_max, above=0)

    def uses_function(self) -> bool:
        """Whether DySTreSS's temperature function replaces the constant temperature (``DynamicOptions``)."""
        return False

    def schedule(self) -> Callable[[float], float] | None:
        """tau(epoch) of the schedule at a fractional epoch, or None for a constant temperature."""
        if self.tau_schedule == "none":
            return None
        return lambda epoch: kukleva_schedule(epoch, self.schedule_tau_min, self.schedule_tau_max,
                                              self.schedule_t_max)

    def temperature_identity(self) -> dict:
        if self.tau_schedule == "kukleva":
            return {"schedule": {"name": "kukleva", "tau_min": float(self.schedule_tau_min),
                                 "tau_max": float(self.schedule_tau_max), "t_max": float(self.schedule_t_max),
                                 "evaluated": "per step"}}
        if self.uses_function():
            return {"dynamic": self.function_identity()}
        return {"temperature": float(self.temperature)}

    def identity(self) -> dict:
        return self.temperature_identity()

    def describe_temperature(self) -> str:
        if self.tau_schedule == "kukleva":
            return (f"schedule [{self.schedule_tau_min:g}, {self.schedule_tau_max:g}] "
                    f"half period {self.schedule_t_max:g}")
        if self.uses_function():
            return self.describe_function()
        return f"{self.temperature:g}"


@dataclass(frozen=True)
class DynamicOptions(ScheduleOptions, FunctionOptions):
    """A constant (or scheduled) temperature, or with ``dynamic_tau`` DySTreSS's temperature function instead."""

    dynamic_tau: bool = option(False, "dcl / hard: DySTreSS's tau(s) instead of the constant temperature")

    def uses_function(self) -> bool:
        return self.dynamic_tau

    def temperature_setting(self) -> float | TemperatureFunction:
        return self.function() if self.dynamic_tau else self.temperature


class ContrastiveLoss(nn.Module):
    """What every loss offers the trainer: a registry name, ``Options``, ``from_options``, the uniform
    ``forward(z0, z1, index=None, return_details=False)`` and the per-step hook ``set_progress``.

    A subclass named at definition, ``class MyLoss(InfoNCELoss, name="mine")``, is registered in ``LOSSES``.
    """

    name: ClassVar[str | None] = None
    Options: ClassVar[type[LossOptions]] = LossOptions
    supports_memory_bank: ClassVar[bool] = False  # can take its negatives from a MoCo queue
    per_sample_state: ClassVar[bool] = False  # keeps state per dataset sample (one process only)

    def __init_subclass__(cls, name: str | None = None, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if name is not None:
            if not name.isidentifier() or name in LOSSES:
                raise ValueError(f"loss name {name!r} must be a new identifier; registered: {', '.join(LOSSES)}")
            cls.name = name
            LOSSES[name] = cls
            if "Options" in cls.__dict__:
                cls.Options.loss_class = cls

    @classmethod
    def from_options(cls, options: LossOptions, num_samples: int, queue_size: int = 0,
                     gather_distributed: bool = False) -> "ContrastiveLoss":
        """The loss a training run uses: ``options`` (its ``Options``), the dataset size, a MoCo queue size
        (0: in-batch negatives) and whether to gather candidates from all processes."""
        raise NotImplementedError(f"{cls.__name__} does not say how to build it from its options")

    scheduled_temperature: float | None = None  # the temperature a schedule set for the current step

    def set_progress(self, epoch: float) -> None:
        """Called by the trainer before each optimiser step with the fractional epoch of that step, epoch +
        step / steps_per_epoch (0-based; 0.0 before the first step); losses with a schedule act here."""


class InfoNCELoss(ContrastiveLoss):
    """The machinery the InfoNCE family shares: normalisation, the in-batch or memory-bank candidate set,
    per-pair temperatures from a temperature function (or a schedule over training), and the core ``info_nce``.

    Subclasses change one step: ``pair_temperature``, ``select_negatives``, ``positive_weight``, ``core`` or
    ``finish``.
    ``queue_size`` > 0 takes the negatives from a ``MemoryBank`` of past keys (MoCo); ``schedule`` maps the
    fractional epoch of a step to the constant temperature of that step (``set_progress``).
    """

    include_positive = True

    def __init__(
        self,
        temperature: float | TemperatureFunction,
        detach_tau: bool = True,
        queue_size: int = 0,
        gather_distributed: bool = False,
        check_inputs: bool = True,
        schedule: Callable[[float], float] | None = None,
    ) -> None:
        super().__init__()
        self.function = as_function(temperature)
        checks.flag("detach_tau", detach_tau)
        checks.flag("gather_distributed", gather_distributed)
        checks.flag("check_inputs", check_inputs)
        checks.integer("queue_size", queue_size, minimum=0)
        self.detach_tau = detach_tau
        self.gather_distributed = gather_distributed
        self.check_inputs = check_inputs
        self.queue_size = queue_size
        self.memory_bank = MemoryBank(queue_size) if queue_size else None
        self.schedule = schedule

    def set_progress(self, epoch: float) -> None:
        if self.schedule is not None:
            self.scheduled_temperature = self.schedule(epoch)
            self.function = constant(self.scheduled_temperature)

    def extra_repr(self) -> str:
        parts = [self.function.describe(), f"detach_tau={self.detach_tau}"]
        if self.schedule is not None:
            parts.append("per-step schedule")
        if self.gather_distributed:
            parts.append("gather_distributed=True")
        return ", ".join(parts)

    def pair_temperature(self, similarity: Tensor, positive_index: Tensor) -> Tensor:
        return self.function(similarity.detach() if self.detach_tau else similarity)

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
        n = z0.shape[0]
        keys = gather_with_gradient(z1) if world > 1 else z1
        bank, filled = self.memory_bank.read(like=z0)
        candidates = torch.cat([keys, bank])
        positive_index = rank * n + torch.arange(n, device=z0.device)
        negative_mask = torch.cat(
            [torch.zeros(n, keys.shape[0], dtype=torch.bool, device=z0.device), filled.expand(n, -1)], dim=1
        )
        if self.training:
            self.memory_bank.write(keys.detach())
        return z0, candidates, positive_index, negative_mask

    def positive_weight(self, similarity: Tensor, positive_index: Tensor) -> Tensor | None:
        return None

    def select_negatives(self, similarity: Tensor, negative_mask: Tensor) -> Tensor:
        return negative_mask

    def finish(self, per_anchor: Tensor) -> Tensor:
        return per_anchor.mean()

    def core(self, similarity: Tensor, temperature: Tensor, positive_index: Tensor, negative_mask: Tensor) -> Tensor:
        """The per-anchor losses (A,): ``info_nce`` with this loss's denominator and positive weights."""
        return info_nce(
            similarity,
            temperature,
            positive_index,
            negative_mask,
            include_positive=self.include_positive,
            positive_weight=self.positive_weight(similarity, positive_index),
        )

    def negatives_per_anchor(self, negative_mask: Tensor) -> int:
        """How many negatives each anchor has: 2N - 2 in the batch, or the filled slots of the queue."""
        if self.queue_size:
            return int(negative_mask[0].sum())
        return negative_mask.shape[1] - 2

    def forward(self, z0: Tensor, z1: Tensor, index: Tensor | None = None, return_details: bool = False):
        anchors, candidates, positive_index, negative_mask = self.candidates(z0, z1)
        similarity = anchors @ candidates.T
        temperature = self.pair_temperature(similarity, positive_index)
        negative_mask = self.select_negatives(similarity, negative_mask)
        per_anchor = self.core(similarity, temperature, positive_index, negative_mask)
        loss = self.finish(per_anchor)
        if not return_details:
            return loss
        return ContrastiveOutput(
            loss, per_anchor, similarity, temperature.detach().expand_as(similarity), positive_index, negative_mask
        )


class NTXentLoss(InfoNCELoss, name="ntxent"):
    """SimCLR's NT-Xent loss (Chen et al. 2020) with a constant temperature.

    In-batch: 2N anchors, one positive each, 2N - 2 negatives, mean over the 2N anchors.
    With ``queue_size`` > 0 (MoCo style): the N anchors z0 take their positive from z1 and their
    negatives from a queue of past z1 embeddings (only filled slots count); z1 is enqueued after the
    loss in training mode. ``gather_distributed`` takes candidates from all ranks (gradient flows
    back through the gather); the loss is the mean over this rank's anchors.

    Args: temperature (> 0, or a TemperatureFunction), queue_size, gather_distributed, check_inputs
    (validate shapes and finiteness; a host synchronisation, switch off inside compiled steps).
    Shapes: forward(z0 (N, d), z1 (N, d)) -> scalar.
    """

    @dataclass(frozen=True)
    class Options(ScheduleOptions):
        pass

    supports_memory_bank = True

    def __init__(self, temperature: float = 0.2, queue_size: int = 0, gather_distributed: bool = False,
                 check_inputs: bool = True, schedule: Callable[[float], float] | None = None) -> None:
        super().__init__(temperature, True, queue_size, gather_distributed, check_inputs, schedule)

    @classmethod
    def from_options(cls, options: Options, num_samples: int, queue_size: int = 0,
                     gather_distributed: bool = False) -> "NTXentLoss":
        return cls(options.temperature, queue_size, gather_distributed, check_inputs=False,
                   schedule=options.schedule())


class DySTreSSLoss(InfoNCELoss, name="dystress"):
    """DySTreSS (Manna et al.): InfoNCE with a per-pair temperature tau(s_ij) from a temperature function.

    Args:
        tau_min, tau_max: temperature range, 0 < tau_min <= tau_max (paper CIFAR: 0.07, 0.2).
        tau_shape: ``cosine`` (default), ``shifted_cosine`` (with tau_shift, tau_scale), ``linear``,
            ``exponential`` or ``constant``; see ``dystress.mathematics.temperature``.
        detach_tau: compute tau from detached similarities (default, as the official code).
        queue_size, gather_distributed, check_inputs: as in ``NTXentLoss``.

    With tau_min == tau_max this is ``NTXentLoss(tau_min)``.
    """

    def __init__(self, tau_min: float = 0.07, tau_max: float = 0.2, tau_shape: str = "cosine",
                 tau_shift: float | None = None, tau_scale: float | None = None, detach_tau: bool = True,
                 queue_size: int = 0, gather_distributed: bool = False, check_inputs: bool = True) -> None:
        super().__init__(TemperatureFunction(tau_shape, tau_min, tau_max, tau_shift, tau_scale), detach_tau,
                         queue_size, gather_distributed, check_inputs)

    @dataclass(frozen=True)
    class Options(FunctionOptions):
        def identity(self) -> dict:
            return self.function_identity()

        def describe_temperature(self) -> str:
            return self.describe_function()

    supports_memory_bank = True

    @classmethod
    def from_options(cls, options: Options, num_samples: int, queue_size: int = 0,
                     gather_distributed: bool = False) -> "DySTreSSLoss":
        return cls(options.tau_min, options.tau_max, options.tau_shape, options.tau_shift, options.tau_scale,
                   options.detach_tau, queue_size, gather_distributed, check_inputs=False)


class DCLLoss(InfoNCELoss, name="dcl"):
    """Decoupled contrastive loss (Yeh et al. 2022): the positive is removed from the denominator.

        loss_i = -w_i s_ip / tau_ip + log sum_{j in negatives(i)} exp(s_ij / tau_ij)

    ``weighted=True`` gives DCLW, w_i = 2 - exp(s_ip / sigma) / mean_k exp(s_kp(k) / sigma) over the
    anchors of the batch (from detached similarities, as in lightly's implementation). ``temperature``
    may be a TemperatureFunction for the dynamic-temperature form, e.g.
    ``DCLLoss(TemperatureFunction("cosine", 0.07, 0.2))``.
    """

    include_positive = False

    def __init__(self, temperature: float | TemperatureFunction = 0.1, weighted: bool = False, sigma: float = 0.5,
                 detach_tau: bool = True, gather_distributed: bool = False, check_inputs: bool = True,
                 schedule: Callable[[float], float] | None = None) -> None:
        super().__init__(temperature, detach_tau, 0, gather_distributed, check_inputs, schedule)
        checks.flag("weighted", weighted)
        checks.number("sigma", sigma, above=0)
        self.weighted = weighted
        self.sigma = float(sigma)

    @dataclass(frozen=True)
    class Options(DynamicOptions):
        weighted: bool = option(False, "DCL: weight the positive as DCLW does")
        sigma: float = option(0.5, "DCLW: the width sigma of the positive's weight")

        def identity(self) -> dict:
            weights = {"weighted": True, "sigma": float(self.sigma)} if self.weighted else {"weighted": False}
            return self.temperature_identity() | weights

    @classmethod
    def from_options(cls, options: Options, num_samples: int, queue_size: int = 0,
                     gather_distributed: bool = False) -> "DCLLoss":
        return cls(options.temperature_setting(), options.weighted, options.sigma, options.detach_tau,
                   gather_distributed, check_inputs=False, schedule=options.schedule())

    def positive_weight(self, similarity: Tensor, positive_index: Tensor) -> Tensor | None:
        if not self.weighted:
            return None
        positive = similarity.detach().gather(1, positive_index[:, None]).squeeze(1)
        return 2 - positive.shape[0] * torch.softmax(positive / self.sigma, dim=0)


class HardContrastiveLoss(InfoNCELoss, name="hard"):
    """Wang & Liu (2021) hard contrastive loss, with in-batch negatives or a MoCo queue as memory bank.

    Only the hardest negatives of each anchor enter its denominator: the ``num_negatives`` most similar
    ones, or the top ``quantile`` fraction of the M negatives it has (ceil(quantile * M), M = 2N - 2 in
    the batch or the filled slots of a queue of ``queue_size`` keys; Wang & Liu keep the nearest 4095 of a
    memory bank of 50,000 on CIFAR, quantile 0.0819). Give exactly one of the two. The positive stays in
    the denominator. The selection uses detached similarities.
    """

    supports_memory_bank = True

    def __init__(self, temperature: float | TemperatureFunction = 0.2, num_negatives: int | None = None,
                 quantile: float | None = None, detach_tau: bool = True, queue_size: int = 0,
                 gather_distributed: bool = False, check_inputs: bool = True,
                 schedule: Callable[[float], float] | None = None) -> None:
        super().__init__(temperature, detach_tau, queue_size, gather_distributed, check_inputs, schedule)
        if (num_negatives is None) == (quantile is None):
            raise ValueError("give exactly one of num_negatives (an integer >= 1) or quantile (in (0, 1])")
        if num_negatives is not None:
            checks.integer("num_negatives", num_negatives, minimum=1)
        if quantile is not None:
            checks.number("quantile", quantile, above=0, at_most=1)
        self.num_negatives = num_negatives
        self.quantile = quantile

    @dataclass(frozen=True)
    class Options(DynamicOptions):
        quantile: float = option(0.0819, "hard loss: fraction of the hardest negatives kept")

        def identity(self) -> dict:
            return self.temperature_identity() | {"quantile": float(self.quantile)}

    @classmethod
    def from_options(cls, options: Options, num_samples: int, queue_size: int = 0,
                     gather_distributed: bool = False) -> "HardContrastiveLoss":
        return cls(options.temperature_setting(), quantile=options.quantile, detach_tau=options.detach_tau,
                   queue_size=queue_size, gather_distributed=gather_distributed, check_inputs=False,
                   schedule=options.schedule())

    def kept_negatives(self, available: int) -> int:
        """How many of ``available`` negatives an anchor keeps (a queue still filling keeps all it has)."""
        if self.num_negatives is not None:
            if self.queue_size:
                return min(self.num_negatives, available)
            if self.num_negatives > available:
                raise ValueError(f"num_negatives={self.num_negatives} exceeds the {available} negatives per anchor "
                                 f"of this batch; use at most {available} or a larger batch")
            return self.num_negatives
        return max(1, math.ceil(self.quantile * available - 1e-9))

    def select_negatives(self, similarity: Tensor, negative_mask: Tensor) -> Tensor:
        available = self.negatives_per_anchor(negative_mask)
        if available == 0:  # an empty queue: the first step has no negatives to choose from
            return negative_mask
        k = self.kept_negatives(available)
        scores = similarity.detach().masked_fill(~negative_mask, -math.inf)
        hardest = scores.topk(k, dim=1).indices
        return torch.zeros_like(negative_mask).scatter(1, hardest, True)


class MACLLoss(InfoNCELoss, name="macl"):
    """Model-aware contrastive loss (Huang et al., ICML 2023) on the in-batch SimCLR setting.

    The temperature follows the batch's alignment magnitude A = mean_i s_ip(i) (detached):
        tau_A = max(temperature (1 + alpha (A - a0)), temperature / 100),
    and each anchor's InfoNCE term is reweighted by V_i = 1 / (1 - P_ip) (detached), where
    P_ip = softmax probability of the positive: loss = mean_i V_i loss_i.

    Requires temperature > 0, alpha >= 0 and -1 <= a0 <= 1. The floor tau_0 / 100 keeps tau_A positive; it is
    reached only where A < a0 - 0.99 / alpha: never for every A in [-1, 1] when alpha (1 + a0) < 0.99 (MACL's
    image setting, alpha 0.5 and a0 0), and below A = 0.305 for its sentence setting (alpha 2, a0 0.8), far under
    the alignment two dropout masks of one sentence have.
    """

    def __init__(self, temperature: float = 0.1, alpha: float = 0.5, a0: float = 0.0,
                 gather_distributed: bool = False, check_inputs: bool = True) -> None:
        super().__init__(temperature, True, 0, gather_distributed, check_inputs)
        if self.function.name != "constant":
            raise ValueError("MACL's temperature is a positive number (its base temperature tau_0), not a function")
        check_macl(alpha, a0)
        self.tau_0 = self.function.tau_max
        self.alpha = float(alpha)
        self.a0 = float(a0)

    @dataclass(frozen=True)
    class Options(LossOptions):
        temperature: float = option(0.2, "constant temperature (ntxent, dcl, hard; MACL's tau_0)")
        alpha: float = option(0.5, "MACL: how fast tau follows the alignment")
        a0: float = option(0.0, "MACL: the alignment A_0 at which tau = tau_0")

        def identity(self) -> dict:
            return {"temperature": float(self.temperature), "alpha": float(self.alpha), "a0": float(self.a0)}

        def describe_temperature(self) -> str:
            return f"tau_0 {self.temperature:g}"

    @classmethod
    def from_options(cls, options: Options, num_samples: int, queue_size: int = 0,
                     gather_distributed: bool = False) -> "MACLLoss":
        return cls(options.temperature, options.alpha, options.a0, gather_distributed, check_inputs=False)

    def pair_temperature(self, similarity: Tensor, positive_index: Tensor) -> Tensor:
        alignment = similarity.detach().gather(1, positive_index[:, None]).mean()
        tau = (self.tau_0 * (1 + self.alpha * (alignment - self.a0))).clamp(min=self.tau_0 / 100)
        return tau.expand(similarity.shape[0], 1)

    def finish(self, per_anchor: Tensor) -> Tensor:
        weight = 1 / -torch.expm1(-per_anchor.detach())
        return (weight * per_anchor).mean()


def check_macl(alpha: float, a0: float, names: tuple[str, str] = ("alpha", "a0")) -> None:
    """MACL's alpha >= 0 and its reference alignment -1 <= a0 <= 1."""
    checks.number(names[0], alpha, at_least=0)
    checks.number(names[1], a0, at_least=-1, at_most=1)


class SimpleLoss(InfoNCELoss, name="simple"):
    """Wang & Liu's (2021) simple contrastive loss, the limit of InfoNCE as tau -> infinity.

        loss_i = -s_ip + lambda mean_{j in negatives(i)} s_ij

    For tau -> infinity, InfoNCE with M negatives tends to log(M + 1) + M / ((M + 1) tau) times this loss
    with lambda = 1: every negative is pushed equally, whatever its similarity, so the loss has no
    hardness-aware property and no temperature (the temperature recorded for its pairs is 1). It shares the
    candidate set of the other losses (in-batch, or a MoCo queue).

    Args: weight (lambda >= 0, default 1), queue_size, gather_distributed, check_inputs as in ``NTXentLoss``.
    Shapes: forward(z0 (N, d), z1 (N, d)) -> scalar.
    """

    supports_memory_bank = True

    def __init__(self, weight: float = 1.0, queue_size: int = 0, gather_distributed: bool = False,
                 check_inputs: bool = True) -> None:
        super().__init__(1.0, True, queue_size, gather_distributed, check_inputs)
        checks.number("weight", weight, at_least=0)
        self.weight = float(weight)

    @dataclass(frozen=True)
    class Options(LossOptions):
        weight: float = option(1.0, "simple loss: weight lambda of the mean negative similarity")

        def identity(self) -> dict:
            return {"weight": float(self.weight)}

        def describe_temperature(self) -> str:
            return "none (tau -> infinity)"

    @classmethod
    def from_options(cls, options: Options, num_samples: int, queue_size: int = 0,
                     gather_distributed: bool = False) -> "SimpleLoss":
        return cls(options.weight, queue_size, gather_distributed, check_inputs=False)

    def extra_repr(self) -> str:
        return f"weight={self.weight:g}"

    def core(self, similarity: Tensor, temperature: Tensor, positive_index: Tensor, negative_mask: Tensor) -> Tensor:
        positive = similarity.gather(1, positive_index[:, None]).squeeze(1)
        negatives = torch.where(negative_mask, similarity, torch.zeros_like(similarity)).sum(dim=1)
        return self.weight * negatives / negative_mask.sum(dim=1).clamp(min=1) - positive


class ISogCLRLoss(ContrastiveLoss, name="isogclr"):
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
        checks.integer("num_samples", num_samples, minimum=2)
        check_isogclr(tau_init, tau_min, tau_max, gamma, rho, beta_u, eta)
        checks.number("grad_clip", grad_clip, at_least=0)
        checks.flag("check_inputs", check_inputs)
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

    @dataclass(frozen=True)
    class Options(LossOptions):
        isogclr_tau_init: float = option(0.1, "iSogCLR initial temperature")
        isogclr_tau_min: float = option(0.05, "iSogCLR lowest temperature")
        isogclr_tau_max: float = option(1.0, "iSogCLR highest temperature")
        isogclr_rho: float = option(0.4, "iSogCLR DRO radius")
        isogclr_gamma: float = option(0.8, "iSogCLR moving-average rate")
        isogclr_eta: float = option(0.03, "iSogCLR temperature learning rate")
        isogclr_beta_u: float = option(0.5, "iSogCLR temperature momentum")

        def check(self) -> None:
            super().check()
            check_isogclr(self.isogclr_tau_init, self.isogclr_tau_min, self.isogclr_tau_max, self.isogclr_gamma,
                          self.isogclr_rho, self.isogclr_beta_u, self.isogclr_eta, prefix="isogclr_")

        def identity(self) -> dict:
            return {"tau_init": float(self.isogclr_tau_init), "tau_min": float(self.isogclr_tau_min),
                    "tau_max": float(self.isogclr_tau_max), "rho": float(self.isogclr_rho),
                    "gamma": float(self.isogclr_gamma), "eta": float(self.isogclr_eta),
                    "beta_u": float(self.isogclr_beta_u)}

        def describe_temperature(self) -> str:
            return f"learned [{self.isogclr_tau_min:g}, {self.isogclr_tau_max:g}]"

    per_sample_state = True

    @classmethod
    def from_options(cls, options: Options, num_samples: int, queue_size: int = 0,
                     gather_distributed: bool = False) -> "ISogCLRLoss":
        return cls(num_samples, tau_init=options.isogclr_tau_init, tau_min=options.isogclr_tau_min,
                   tau_max=options.isogclr_tau_max, gamma=options.isogclr_gamma, rho=options.isogclr_rho,
                   beta_u=options.isogclr_beta_u, eta=options.isogclr_eta, check_inputs=False)

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


def check_isogclr(tau_init: float, tau_min: float, tau_max: float, gamma: float, rho: float, beta_u: float,
                  eta: float, prefix: str = "") -> None:
    """iSogCLR's settings: 0 < tau_min <= tau_init <= tau_max, gamma and beta_u in (0, 1], rho and eta >= 0
    (``prefix``: how the caller names them, e.g. ``isogclr_``)."""
    check_temperature_range(tau_min, tau_max, (f"{prefix}tau_min", f"{prefix}tau_max"))
    checks.number(f"{prefix}tau_init", tau_init, at_least=tau_min, at_most=tau_max)
    for name, value in (("gamma", gamma), ("beta_u", beta_u)):
        checks.number(prefix + name, value, above=0, at_most=1)
    for name, value in (("rho", rho), ("eta", eta)):
        checks.number(prefix + name, value, at_least=0)


def make_loss(name: str, **kwargs) -> ContrastiveLoss:
    """Build a registered loss by name (``LOSSES``): ``make_loss("dystress", tau_min=0.07, tau_max=0.2)``."""
    checks.one_of("loss", name, tuple(LOSSES))
    return LOSSES[name](**kwargs)
