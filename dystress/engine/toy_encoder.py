"""A contrastive experiment small enough for seconds on a CPU: an MLP encoder on a vMF mixture.

Inputs are points x (N, D) of a vMF mixture (``dystress.mathematics.vmf``); a view is x + noise * eps,
renormalised; the encoder is Linear(D, hidden) - ReLU - Linear(hidden, out_dim). It is trained with
any loss of ``dystress.mathematics.losses`` (Adam, fixed number of steps), and its normalised outputs on held-out
points are what the metrics notebooks measure.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dystress import checks
from dystress.mathematics.losses import ISogCLRLoss


@dataclass(frozen=True)
class ToySettings:
    """Sizes of the toy experiment. per_class: training points per class (as many again are held out);
    steps, batch_size, lr: optimisation (Adam); noise: augmentation strength; hidden, out_dim: encoder."""

    per_class: int = 300
    steps: int = 300
    batch_size: int = 128
    noise: float = 0.6
    hidden: int = 128
    out_dim: int = 16
    lr: float = 3e-3

    @classmethod
    def for_profile(cls, profile: str) -> "ToySettings":
        """smoke: seconds on a CPU; small and paper: larger samples and longer training (still a CPU minute)."""
        sizes = {"smoke": cls(), "small": cls(per_class=1000, steps=1000), "paper": cls(per_class=1000, steps=1000)}
        if profile not in sizes:
            raise ValueError(f"profile must be one of {', '.join(sizes)}, got {profile!r}")
        return sizes[profile]

    def __post_init__(self) -> None:
        for name in ("per_class", "steps", "hidden", "out_dim"):
            checks.integer(name, getattr(self, name), minimum=1)
        checks.integer("batch_size", self.batch_size, minimum=2)
        checks.number("noise", self.noise, at_least=0)
        checks.number("lr", self.lr, above=0)


def augment(x: Tensor, noise: float, generator: torch.Generator) -> Tensor:
    """One random view: x + noise * eps, eps ~ N(0, I / D), renormalised."""
    eps = torch.randn(x.shape, generator=generator, dtype=x.dtype) / x.shape[1] ** 0.5
    return F.normalize(x + noise * eps, dim=1)


def make_encoder(in_dim: int, settings: ToySettings, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(in_dim, settings.hidden), nn.ReLU(), nn.Linear(settings.hidden, settings.out_dim))


def train_toy_encoder(loss_fn: nn.Module, x: Tensor, settings: ToySettings = ToySettings(),
                      seed: int = 0) -> tuple[nn.Module, list[float]]:
    """Train an encoder on x (N, D) with ``loss_fn``; returns (encoder in eval mode, loss per step)."""
    if x.shape[0] < settings.batch_size:
        raise ValueError(f"batch_size={settings.batch_size} exceeds the {x.shape[0]} training points")
    x = x.float()
    encoder = make_encoder(x.shape[1], settings, seed)
    optimiser = torch.optim.Adam(encoder.parameters(), lr=settings.lr)
    g = torch.Generator().manual_seed(seed)
    history = []
    loss_fn.train()
    for _ in range(settings.steps):
        index = torch.randperm(x.shape[0], generator=g)[: settings.batch_size]
        batch = x[index]
        z0 = encoder(augment(batch, settings.noise, g))
        z1 = encoder(augment(batch, settings.noise, g))
        loss = loss_fn(z0, z1, index)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        history.append(loss.item())
    return encoder.eval(), history


@torch.no_grad()
def embed(encoder: nn.Module, x: Tensor) -> Tensor:
    """Normalised encoder outputs (N, out_dim) of x (N, D)."""
    return F.normalize(encoder(x.float()), dim=1)


def learn_isogclr_temperatures(loss_fn: ISogCLRLoss, x: Tensor, epochs: int = 30, batch_size: int = 128,
                               noise: float = 0.05, seed: int = 0) -> Tensor:
    """Run iSogCLR's temperature updates on fixed features x (N, d) and return the learned tau (N,).

    Each epoch visits the samples in random batches; a view is x + noise * eps. The features do not
    change, so the result isolates how iSogCLR sets each sample's temperature from its neighbourhood.
    """
    if loss_fn.num_samples != x.shape[0]:
        raise ValueError(f"loss_fn.num_samples={loss_fn.num_samples} must equal the number of rows of x ({x.shape[0]})")
    if not 2 <= batch_size <= x.shape[0]:
        raise ValueError(f"batch_size must lie in [2, {x.shape[0]}], got {batch_size}")
    g = torch.Generator().manual_seed(seed)
    loss_fn.train()
    with torch.no_grad():
        for _ in range(epochs):
            order = torch.randperm(x.shape[0], generator=g)
            for start in range(0, x.shape[0] - batch_size + 1, batch_size):
                index = order[start : start + batch_size]
                views = [x[index] + noise * torch.randn(x[index].shape, generator=g, dtype=x.dtype) for _ in range(2)]
                loss_fn(views[0], views[1], index)
    return loss_fn.tau.clone()
