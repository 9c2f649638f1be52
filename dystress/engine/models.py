"""Encoders: ResNet-18 with the CIFAR stem, a small CNN for CPU profiles, and the projection head.

    ResNet-18 (CIFAR stem)   torchvision's resnet18 with conv1 = 3x3, stride 1, no max-pool, no fc: 512-d
    small_cnn                3 conv blocks (32, 64, 128 channels) with BatchNorm, global average pool: 128-d
    cnn4                     4 conv blocks (32, 64, 128, 256 channels), the same with one more: 256-d
    head                     Linear(f, f, no bias) - BN - ReLU - Linear(f, out, no bias) - BN  (official code)

``ContrastiveModel(x)`` returns (features, projections), both L2-normalised: the features
(N, feature_dim) are what kNN and linear probes evaluate, the projections (N, out_dim) enter the loss.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from dystress import checks

MODELS = ("resnet18", "small_cnn", "cnn4")
CONV_WIDTHS = {"small_cnn": (32, 64, 128), "cnn4": (32, 64, 128, 256)}  # channels per block


def resnet18_cifar() -> nn.Module:
    """torchvision ResNet-18 with the CIFAR stem; outputs (N, 512)."""
    from torchvision.models import resnet18

    net = resnet18(weights=None)
    net.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    net.maxpool = nn.Identity()
    net.fc = nn.Identity()
    return net


def conv_net(widths: tuple[int, ...]) -> nn.Module:
    """3x3 conv-BN-ReLU blocks of ``widths`` channels, each but the last followed by a 2x2 max-pool, then a
    global average pool; outputs (N, widths[-1])."""

    def block(cin: int, cout: int, pool: bool) -> list[nn.Module]:
        layers = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        return layers + ([nn.MaxPool2d(2)] if pool else [])

    channels = (3, *widths)
    layers = [layer for i in range(len(widths)) for layer in block(channels[i], channels[i + 1], i < len(widths) - 1)]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())


def small_cnn() -> nn.Module:
    """Three conv-BN-ReLU blocks (32, 64, 128) with pooling, global average pool; outputs (N, 128)."""
    return conv_net(CONV_WIDTHS["small_cnn"])


def projection_head(feature_dim: int, out_dim: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(feature_dim, feature_dim, bias=False), nn.BatchNorm1d(feature_dim), nn.ReLU(inplace=True),
        nn.Linear(feature_dim, out_dim, bias=False), nn.BatchNorm1d(out_dim),
    )


class ContrastiveModel(nn.Module):
    """Backbone + projection head: forward(x (N, 3, H, W)) -> (features (N, f), projections (N, out_dim)),
    both L2-normalised."""

    def __init__(self, backbone: nn.Module, feature_dim: int, out_dim: int = 128):
        super().__init__()
        self.backbone = backbone
        self.head = projection_head(feature_dim, out_dim)
        self.feature_dim, self.out_dim = feature_dim, out_dim

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.backbone(x)
        return F.normalize(h, dim=1), F.normalize(self.head(h), dim=1)


def build_model(name: str = "resnet18", out_dim: int = 128) -> ContrastiveModel:
    """``resnet18`` (512-d features), ``small_cnn`` (128-d) or ``cnn4`` (256-d), with the projection head to
    ``out_dim``."""
    checks.one_of("model", name, MODELS)
    checks.integer("out_dim", out_dim, minimum=1)
    if name == "resnet18":
        return ContrastiveModel(resnet18_cifar(), 512, out_dim)
    return ContrastiveModel(conv_net(CONV_WIDTHS[name]), CONV_WIDTHS[name][-1], out_dim)


class TwoViews(nn.Module):
    """One forward call for both views, so that DistributedDataParallel sees one forward per backward.

    forward(v0, v1) -> (z0, z1): the projections of each view from its own forward pass (BatchNorm
    statistics per view, as the official code).
    """

    def __init__(self, model: ContrastiveModel):
        super().__init__()
        self.model = model

    def forward(self, v0: Tensor, v1: Tensor) -> tuple[Tensor, Tensor]:
        return self.model(v0)[1], self.model(v1)[1]
