"""The device a configuration names: ``auto`` (CUDA when there is one), ``cpu`` or ``cuda``."""

from __future__ import annotations

import torch


def select_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was requested but CUDA is not available; use device 'cpu' or 'auto'")
    return torch.device(name)
