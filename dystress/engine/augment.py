"""The SimCLR CIFAR augmentation, batched on any device, with independent random parameters per image.

Per image, in this order (the official DySTreSS pipeline, torchvision semantics):
    RandomResizedCrop(size, scale=(0.08, 1), ratio=(3/4, 4/3))    bilinear, as torchvision's tensor path
    RandomHorizontalFlip(0.5)
    RandomApply([ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8)          the four adjustments in a random order
    RandomGrayscale(0.2)
    Normalize(mean, std)                                           CIFAR-10 statistics by default

Input: uint8 images (B, H, W, 3); output: float32 (B, 3, size, size). Randomness comes from the given
``torch.Generator`` or the global RNG of the images' device. Differences from the PIL reference are at the
level of 1/255: PIL rounds to uint8 after every operation, this pipeline stays in floating point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from dystress import checks

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)
GRAY_WEIGHTS = (0.2989, 0.587, 0.114)  # torchvision's rgb_to_grayscale for tensors
BRIGHTNESS, CONTRAST, SATURATION, HUE = range(4)


@dataclass
class AugmentParams:
    """Per-image parameters, each of shape (B,) (order: (B, 4)).

    top, left, height, width: the crop box in pixels; flip, jitter, gray: whether each step applies;
    brightness, contrast, saturation: factors; hue: shift in [-0.5, 0.5]; order: permutation of the
    jitter operations (0 brightness, 1 contrast, 2 saturation, 3 hue).
    """

    top: Tensor
    left: Tensor
    height: Tensor
    width: Tensor
    flip: Tensor
    jitter: Tensor
    brightness: Tensor
    contrast: Tensor
    saturation: Tensor
    hue: Tensor
    order: Tensor
    gray: Tensor


def grayscale(x: Tensor) -> Tensor:
    """(B, 3, H, W) -> (B, 1, H, W) luma."""
    r, g, b = x.unbind(dim=1)
    return (GRAY_WEIGHTS[0] * r + GRAY_WEIGHTS[1] * g + GRAY_WEIGHTS[2] * b).unsqueeze(1)


def _blend(x: Tensor, other: Tensor, factor: Tensor) -> Tensor:
    return (factor * x + (1 - factor) * other).clamp(0, 1)


def adjust_brightness(x: Tensor, factor: Tensor) -> Tensor:
    return (x * factor).clamp(0, 1)


def adjust_contrast(x: Tensor, factor: Tensor) -> Tensor:
    return _blend(x, grayscale(x).mean(dim=(1, 2, 3), keepdim=True), factor)


def adjust_saturation(x: Tensor, factor: Tensor) -> Tensor:
    return _blend(x, grayscale(x), factor)


def adjust_hue(x: Tensor, shift: Tensor) -> Tensor:
    """Rotate the hue by ``shift`` (B,) (fraction of a turn) in HSV space, as torchvision's tensor adjust_hue.

    RGB -> (h, s, v) as torchvision, then back in closed form: with h' = 6 (h + shift) mod 6, channel c of
    (r, g, b) is v - v s clamp(min(k_c, 4 - k_c), 0, 1), k_c = (n_c + h') mod 6, n = (5, 3, 1); v s is
    max - min of the pixel. The same values as selecting among the six sectors, without stacking them.
    """
    r, g, b = x.unbind(dim=1)
    maxc, _ = x.max(dim=1)
    minc, _ = x.min(dim=1)
    delta = maxc - minc
    safe_delta = torch.where(delta == 0, torch.ones_like(delta), delta)
    rc, gc, bc = (maxc - r) / safe_delta, (maxc - g) / safe_delta, (maxc - b) / safe_delta
    hue = torch.where(maxc == r, bc - gc, torch.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    hue = torch.where(delta == 0, torch.zeros_like(hue), hue)
    hue = torch.remainder(hue / 6.0 + 1.0, 1.0)
    hue = torch.remainder(hue + shift.view(-1, 1, 1), 1.0) * 6.0
    n = torch.tensor((5.0, 3.0, 1.0), device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    k = torch.remainder(n + hue.unsqueeze(1), 6.0)
    return (maxc.unsqueeze(1) - delta.unsqueeze(1) * torch.clamp(torch.minimum(k, 4.0 - k), 0.0, 1.0)).clamp(0, 1)


def _adjust(op: int, x: Tensor, p: AugmentParams, index: Tensor | slice) -> Tensor:
    """Jitter operation ``op`` on images x, with the parameters of the images ``index`` of ``p``."""
    if op == BRIGHTNESS:
        return adjust_brightness(x, p.brightness[index].view(-1, 1, 1, 1))
    if op == CONTRAST:
        return adjust_contrast(x, p.contrast[index].view(-1, 1, 1, 1))
    if op == SATURATION:
        return adjust_saturation(x, p.saturation[index].view(-1, 1, 1, 1))
    return adjust_hue(x, p.hue[index])


class SimCLRAugment:
    """Two-view SimCLR augmentation; ``augment(images)`` returns one view, call it once per view.

    Args: size (output side), scale and ratio (RandomResizedCrop), flip_p, jitter (brightness, contrast,
    saturation, hue strengths), jitter_p, gray_p, mean and std (normalisation).
    """

    def __init__(self, size: int = 32, scale: tuple[float, float] = (0.08, 1.0),
                 ratio: tuple[float, float] = (3 / 4, 4 / 3), flip_p: float = 0.5,
                 jitter: tuple[float, float, float, float] = (0.4, 0.4, 0.4, 0.1), jitter_p: float = 0.8,
                 gray_p: float = 0.2, mean: tuple[float, ...] = CIFAR_MEAN, std: tuple[float, ...] = CIFAR_STD):
        checks.integer("size", size, minimum=1)
        if not 0 < scale[0] <= scale[1] <= 1 or not 0 < ratio[0] <= ratio[1]:
            raise ValueError(f"need 0 < scale[0] <= scale[1] <= 1 and 0 < ratio[0] <= ratio[1]; got {scale}, {ratio}")
        for name, p in (("flip_p", flip_p), ("jitter_p", jitter_p), ("gray_p", gray_p)):
            checks.number(name, p, at_least=0, at_most=1)
        if min(jitter[:3]) < 0 or not 0 <= jitter[3] <= 0.5:
            raise ValueError(f"jitter strengths must be >= 0 and the hue strength <= 0.5, got {jitter}")
        self.size, self.scale, self.ratio = size, scale, ratio
        self.flip_p, self.jitter, self.jitter_p, self.gray_p = flip_p, jitter, jitter_p, gray_p
        self.mean, self.std = mean, std

    def sample(self, batch: int, height: int, width: int, device: torch.device | str = "cpu",
               generator: torch.Generator | None = None) -> AugmentParams:
        """Draw per-image parameters (vectorised torchvision ``get_params`` logic, 10 crop attempts)."""
        uniform = lambda *shape: torch.rand(*shape, device=device, generator=generator)  # noqa: E731
        area = height * width
        target = area * (self.scale[0] + (self.scale[1] - self.scale[0]) * uniform(batch, 10))
        log_lo, log_hi = math.log(self.ratio[0]), math.log(self.ratio[1])
        aspect = torch.exp(log_lo + (log_hi - log_lo) * uniform(batch, 10))
        w = torch.round(torch.sqrt(target * aspect))
        h = torch.round(torch.sqrt(target / aspect))
        valid = (w > 0) & (w <= width) & (h > 0) & (h <= height)
        first = valid.int().argmax(dim=1, keepdim=True)
        w, h, found = w.gather(1, first).squeeze(1), h.gather(1, first).squeeze(1), valid.any(dim=1)
        fw, fh = self._fallback(height, width)
        w = torch.where(found, w, torch.full_like(w, fw))
        h = torch.where(found, h, torch.full_like(h, fh))
        top = torch.where(found, torch.floor(uniform(batch) * (height - h + 1)), torch.floor((height - h) / 2))
        left = torch.where(found, torch.floor(uniform(batch) * (width - w + 1)), torch.floor((width - w) / 2))
        b, c, s, hue = self.jitter
        factor = lambda s: max(0.0, 1 - s) + (1 + s - max(0.0, 1 - s)) * uniform(batch)  # noqa: E731
        return AugmentParams(
            top=top, left=left, height=h, width=w,
            flip=uniform(batch) < self.flip_p,
            jitter=uniform(batch) < self.jitter_p,
            brightness=factor(b), contrast=factor(c), saturation=factor(s),
            hue=hue * (2 * uniform(batch) - 1),
            order=uniform(batch, 4).argsort(dim=1),
            gray=uniform(batch) < self.gray_p,
        )

    def _fallback(self, height: int, width: int) -> tuple[float, float]:
        in_ratio = width / height
        if in_ratio < self.ratio[0]:
            return float(width), float(round(width / self.ratio[0]))
        if in_ratio > self.ratio[1]:
            return float(round(height * self.ratio[1])), float(height)
        return float(width), float(height)

    def crop_flip(self, x: Tensor, p: AugmentParams) -> Tensor:
        """Resized crop and flip of float images (B, 3, H, W) -> (B, 3, size, size).

        Output pixel u samples the crop at x = left + (u + 1/2) w / size - 1/2, clamped to the crop, so the
        result equals cropping then resizing bilinearly (align_corners=False), as torchvision does.
        """
        batch, _, height, width = x.shape
        u = torch.arange(self.size, device=x.device, dtype=x.dtype) + 0.5
        cols = p.left[:, None] + u * (p.width / self.size)[:, None] - 0.5
        cols = torch.minimum(torch.maximum(cols, p.left[:, None]), (p.left + p.width - 1)[:, None])
        cols = torch.where(p.flip[:, None], cols.flip(1), cols)
        rows = p.top[:, None] + u * (p.height / self.size)[:, None] - 0.5
        rows = torch.minimum(torch.maximum(rows, p.top[:, None]), (p.top + p.height - 1)[:, None])
        gx = (2 * cols + 1) / width - 1
        gy = (2 * rows + 1) / height - 1
        grid = torch.stack([gx[:, None, :].expand(-1, self.size, -1), gy[:, :, None].expand(-1, -1, self.size)], -1)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    def color(self, x: Tensor, p: AugmentParams, gather: bool | None = None) -> Tensor:
        """Colour jitter in each image's own random order (where ``jitter``), then grayscale (where ``gray``).

        Two equivalent ways to apply an operation at a position of the order: to the images that have it
        there, gathered by index (a quarter of the arithmetic, but the index count is read on the host),
        or to every image, keeping the result where it applies (no host synchronisation: the GPU path).
        ``gather`` None chooses gathering on the CPU only.
        """
        gather = x.device.type == "cpu" if gather is None else gather
        for position in range(4):
            for op in (BRIGHTNESS, CONTRAST, SATURATION, HUE):
                chosen = p.jitter & (p.order[:, position] == op)
                if gather:
                    index = torch.nonzero(chosen).squeeze(1)
                    if index.numel():
                        x = x.index_copy(0, index, _adjust(op, x[index], p, index))
                else:
                    x = torch.where(chosen.view(-1, 1, 1, 1), _adjust(op, x, p, slice(None)), x)
        return torch.where(p.gray.view(-1, 1, 1, 1), grayscale(x).expand_as(x), x)

    def apply(self, images: Tensor, p: AugmentParams) -> Tensor:
        """uint8 (B, H, W, 3) and parameters -> normalised float32 (B, 3, size, size)."""
        x = images.permute(0, 3, 1, 2).float() / 255
        return standardise(self.color(self.crop_flip(x, p), p), self.mean, self.std)

    def __call__(self, images: Tensor, generator: torch.Generator | None = None) -> Tensor:
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != torch.uint8:
            raise ValueError(f"images must be uint8 of shape (B, H, W, 3), got {images.dtype} {tuple(images.shape)}")
        p = self.sample(images.shape[0], images.shape[1], images.shape[2], images.device, generator)
        return self.apply(images, p)


def standardise(x: Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> Tensor:
    """(x - mean) / std per channel of float images (B, 3, H, W)."""
    mean_t = torch.tensor(mean, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    std_t = torch.tensor(std, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean_t) / std_t


def channel_statistics(images: Tensor, chunk: int = 4096) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation (population) of uint8 images (N, H, W, 3) scaled to [0, 1], in
    float64: the statistics ``normalize`` takes, computed from a dataset instead of CIFAR-10's."""
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != torch.uint8 or images.shape[0] == 0:
        raise ValueError(f"images must be a non-empty uint8 tensor (N, H, W, 3), got {tuple(images.shape)} "
                         f"{images.dtype}")
    total = torch.zeros(3, dtype=torch.float64)
    squares = torch.zeros(3, dtype=torch.float64)
    for start in range(0, images.shape[0], chunk):
        x = images[start : start + chunk].to("cpu", torch.float64).reshape(-1, 3) / 255
        total += x.sum(dim=0)
        squares += (x * x).sum(dim=0)
    count = images.shape[0] * images.shape[1] * images.shape[2]
    mean = total / count
    std = (squares / count - mean**2).clamp(min=0).sqrt().clamp(min=1e-3)  # a constant channel stays finite
    return tuple(mean.tolist()), tuple(std.tolist())


def normalize(images: Tensor, mean: tuple[float, ...] = CIFAR_MEAN, std: tuple[float, ...] = CIFAR_STD) -> Tensor:
    """The evaluation transform: uint8 (B, H, W, 3) -> normalised float32 (B, 3, H, W), no augmentation."""
    return standardise(images.permute(0, 3, 1, 2).float() / 255, mean, std)
