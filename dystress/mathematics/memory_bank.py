"""A memory bank of past keys (MoCo's queue), first in, first out.

The bank holds ``size`` slots of dimension d (fixed by the first keys written) and marks which slots are
filled; ``write`` replaces the oldest slots. Only filled slots are negatives. It is a module of its own,
as lightly's ``MemoryBankModule`` is, so that any loss can take negatives from it, and its state travels
with the loss's ``state_dict``.

    bank = MemoryBank(4096)
    keys, filled = bank.read(like=z)     # (size, d) in z's dtype, (size,) bool
    bank.write(z1.detach())              # after the loss, in training mode
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dystress import checks


class MemoryBank(nn.Module):
    def __init__(self, size: int) -> None:
        super().__init__()
        checks.integer("queue_size", size, minimum=1)
        self.size = size
        self.register_buffer("keys", torch.zeros(0), persistent=True)
        self.register_buffer("filled", torch.zeros(size, dtype=torch.bool))
        self.register_buffer("pointer", torch.zeros((), dtype=torch.long))

    def extra_repr(self) -> str:
        return f"size={self.size}"

    def read(self, like: Tensor) -> tuple[Tensor, Tensor]:
        """(keys (size, d) in ``like``'s dtype, filled (size,) bool), d = like.shape[1]; the bank takes that
        dimension on its first use."""
        d = like.shape[1]
        if self.keys.shape != (self.size, d):
            if self.filled.any():
                raise ValueError(f"embedding dimension changed from {self.keys.shape[1]} to {d} with a filled queue")
            self.keys = torch.zeros(self.size, d, dtype=like.dtype, device=like.device)
        return self.keys.to(like.dtype), self.filled

    @torch.no_grad()
    def write(self, keys: Tensor) -> None:
        """Put ``keys`` (n, d) into the oldest slots (the last ``size`` of them when n > size)."""
        keys = keys[-self.size :]
        slots = (self.pointer + torch.arange(keys.shape[0], device=keys.device)) % self.size
        self.keys[slots] = keys.to(self.keys.dtype)
        self.filled[slots] = True
        self.pointer.copy_((self.pointer + keys.shape[0]) % self.size)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        if prefix + "keys" in state_dict:
            self.keys = torch.empty_like(state_dict[prefix + "keys"])
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
