"""Temperature as a function of cosine similarity, tau(s), and as a function of the epoch, tau(epoch).

Temperature functions, by shape (applied elementwise to similarities s in [-1, 1]; Delta = tau_max - tau_min):

    constant        tau(s) = tau_max                                  (tau_min is ignored; SimCLR)
    cosine          tau(s) = tau_min + 0.5 Delta (1 + cos(pi (1 + s)))  = tau_min + Delta sin^2(pi s / 2)
                    DySTreSS (Manna et al.): tau(0) = tau_min, tau(+-1) = tau_max.
    shifted_cosine  tau(s) = tau_min + 0.5 Delta (1 + cos(pi (s + shift) / scale))   for s <= -shift
                    tau(s) = tau_max                                                  for s >  -shift
                    the official code's offset/scale variant; DySTreSS* is shift = -0.4, scale = 0.7.
    linear          tau(s) = tau_min + Delta |s|
    exponential     tau(s) = tau_min (tau_max / tau_min)^|s|

linear and exponential share the cosine's range and end points (tau(0) = tau_min, tau(+-1) = tau_max) and
differ only in shape, which is what the paper's shape ablation varies.

Schedules over training: ``kukleva_schedule`` (Kukleva et al. 2023),
    tau(epoch) = tau_min + 0.5 (tau_max - tau_min)(1 + cos(pi epoch / t_max)).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch

from dystress import checks

SHAPES = ("constant", "cosine", "shifted_cosine", "linear", "exponential")  # the shapes of tau(s)


def check_temperature_range(tau_min: float, tau_max: float, names: tuple[str, str] = ("tau_min", "tau_max")) -> None:
    """Raise ``ValueError`` unless 0 < tau_min <= tau_max < inf (``names``: how the caller calls the two)."""
    checks.number(names[0], tau_min, above=0)
    checks.number(names[1], tau_max, above=0)
    if tau_min > tau_max:
        raise ValueError(f"{names[0]} must be <= {names[1]}, got {names[0]}={tau_min} > {names[1]}={tau_max}")


@dataclass(frozen=True)
class TemperatureFunction:
    """A temperature function tau(s); call it on a tensor of cosine similarities.

    Args:
        name: one of ``SHAPES``.
        tau_min, tau_max: range of the temperature, 0 < tau_min <= tau_max. ``constant`` uses tau_max.
        shift, scale: only for ``shifted_cosine`` (offset ds and period scale k > 0).

    ``function(s)`` returns a tensor of s's shape and dtype; ``function.derivative(s)`` returns dtau/ds
    (used by the closed-form gradients in ``dystress.mathematics.theory``).
    """

    name: str
    tau_min: float
    tau_max: float
    shift: float | None = None
    scale: float | None = None

    def __post_init__(self) -> None:
        checks.one_of("shape", self.name, SHAPES)
        check_temperature_range(self.tau_min, self.tau_max)
        if self.name == "shifted_cosine":
            if self.shift is None or self.scale is None:
                raise ValueError("shape 'shifted_cosine' needs both shift and scale "
                                 "(DySTreSS*: shift=-0.4, scale=0.7)")
            checks.number("shift", self.shift)
            checks.number("scale", self.scale, above=0)
        elif self.shift is not None or self.scale is not None:
            raise ValueError(f"shift and scale apply only to shape 'shifted_cosine', not {self.name!r}")

    @property
    def is_constant(self) -> bool:
        return self.name == "constant" or self.tau_min == self.tau_max

    def __call__(self, s: torch.Tensor) -> torch.Tensor:
        lo, delta = self.tau_min, self.tau_max - self.tau_min
        if self.name == "constant":
            return torch.full_like(s, self.tau_max)
        if self.name == "cosine":
            return lo + 0.5 * delta * (1 + torch.cos(math.pi * (1 + s)))
        if self.name == "shifted_cosine":
            inside = lo + 0.5 * delta * (1 + torch.cos(math.pi * (s + self.shift) / self.scale))
            return torch.where(s <= -self.shift, inside, torch.full_like(s, self.tau_max))
        if self.name == "linear":
            return lo + delta * s.abs()
        return lo * (self.tau_max / self.tau_min) ** s.abs()

    def derivative(self, s: torch.Tensor) -> torch.Tensor:
        """dtau/ds, elementwise (0 where tau is flat; sign(0) = 0 at the kink of |s|)."""
        delta = self.tau_max - self.tau_min
        if self.name == "constant":
            return torch.zeros_like(s)
        if self.name == "cosine":
            return -0.5 * delta * math.pi * torch.sin(math.pi * (1 + s))
        if self.name == "shifted_cosine":
            k = self.scale
            inside = -0.5 * delta * (math.pi / k) * torch.sin(math.pi * (s + self.shift) / k)
            return torch.where(s <= -self.shift, inside, torch.zeros_like(s))
        if self.name == "linear":
            return delta * torch.sign(s)
        ratio = self.tau_max / self.tau_min
        return self(s) * math.log(ratio) * torch.sign(s)

    def cooled(self, s: torch.Tensor) -> torch.Tensor:
        """Where the function is in the lower half of its range, tau(s) <= (tau_min + tau_max) / 2 (bool, s's
        shape); nowhere for a constant function."""
        if self.is_constant:
            return torch.zeros_like(s, dtype=torch.bool)
        return self(s) <= (self.tau_min + self.tau_max) / 2

    def describe(self) -> str:
        if self.name == "constant":
            return f"constant tau={self.tau_max:g}"
        extra = f", shift={self.shift:g}, scale={self.scale:g}" if self.name == "shifted_cosine" else ""
        return f"{self.name} tau in [{self.tau_min:g}, {self.tau_max:g}]{extra}"


def constant(tau: float) -> TemperatureFunction:
    """tau(s) = tau for every pair (SimCLR's NT-Xent)."""
    return TemperatureFunction("constant", tau, tau)


def as_function(temperature: float | TemperatureFunction) -> TemperatureFunction:
    """Accept a number (a constant temperature) or a temperature function; validate it."""
    if isinstance(temperature, TemperatureFunction):
        return temperature
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise ValueError(f"temperature must be a positive number or a TemperatureFunction, got {temperature!r}")
    checks.number("temperature", temperature, above=0)
    return constant(float(temperature))


def kukleva_schedule(epoch: float, tau_min: float = 0.1, tau_max: float = 1.0, t_max: float = 200) -> float:
    """Kukleva et al. (2023) cosine temperature schedule with period 2 t_max epochs.

    tau(epoch) = tau_min + 0.5 (tau_max - tau_min)(1 + cos(pi epoch / t_max)); tau(0) = tau_max,
    tau(t_max) = tau_min, tau(2 t_max) = tau_max.
    """
    check_temperature_range(tau_min, tau_max)
    checks.number("t_max", t_max, above=0)
    checks.number("epoch", epoch, at_least=0)
    return tau_min + 0.5 * (tau_max - tau_min) * (1 + math.cos(math.pi * epoch / t_max))


def cooled_share(function: TemperatureFunction, edges: torch.Tensor, counts: torch.Tensor) -> float:
    """The share of pairs that ``function`` cools, from a histogram of their similarities: the counts of the bins
    whose centre c has tau(c) <= (tau_min + tau_max) / 2, over all counts.

    ``edges`` (B + 1,) increasing, ``counts`` (B,) non-negative with a positive sum. A constant function cools
    nothing (0.0); ``TemperatureFunction.cooled`` says where a function cools. For the cosine function the cooled bins
    are those with |c| <= 1/2; for the shifted function those with c in [-shift - 3 scale / 2, -shift - scale / 2],
    and for a small scale also in [-shift - 7 scale / 2, -shift - 5 scale / 2] (the function's next period).
    """
    edges, counts = torch.as_tensor(edges, dtype=torch.float64), torch.as_tensor(counts, dtype=torch.float64)
    if edges.ndim != 1 or counts.ndim != 1 or edges.numel() != counts.numel() + 1:
        raise ValueError(f"edges must have one more entry than counts (1-D), got shapes {tuple(edges.shape)} "
                         f"and {tuple(counts.shape)}")
    if not bool((edges[1:] > edges[:-1]).all()):
        raise ValueError("edges must be increasing")
    if bool((counts < 0).any()) or not counts.sum() > 0:
        raise ValueError("counts must be non-negative with a positive sum")
    cooled = function.cooled((edges[1:] + edges[:-1]) / 2)
    return float(counts[cooled].sum() / counts.sum())


def cooled_intervals(function: TemperatureFunction, resolution: int = 2001) -> list[tuple[float, float]]:
    """The intervals of s in [-1, 1] where ``function`` is cooled (``TemperatureFunction.cooled``), as
    [(start, end), ...] in increasing order, read on a grid of ``resolution`` points (accurate to its step,
    2 / (resolution - 1)); [] for a constant function."""
    checks.integer("resolution", resolution, minimum=3)
    s = torch.linspace(-1, 1, resolution, dtype=torch.float64)
    cooled = function.cooled(s).tolist()
    intervals, start = [], None
    for i, inside in enumerate(cooled + [False]):
        if inside and start is None:
            start = i
        elif not inside and start is not None:
            intervals.append((float(s[start]), float(s[i - 1])))
            start = None
    return intervals


def __getattr__(name: str):
    if name == "TemperatureProfile":  # the name before temperature functions were told from run profiles
        warnings.warn("TemperatureProfile is now TemperatureFunction; the old name goes in the next release",
                      FutureWarning, stacklevel=2)
        return TemperatureFunction
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
