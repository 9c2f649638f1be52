"""Datasets as uint8 image tensors (N, H, W, 3) with integer labels (or none), ready to live on a GPU.

    digits                 scikit-learn's 1,797 handwritten digits (8x8, shipped with scikit-learn),
                           upscaled to image_size x image_size, 3 channels: the offline default
    cifar10, cifar100      torchvision's loaders (downloading into data_dir when allowed), or an image
                           folder data_dir/[cifar10/]{train,test}/<class>/<image>
    digits-lt, cifar10-lt, cifar100-lt
                           long-tailed training set: n_c = floor(n_max * ratio^(c / (C - 1))), the
                           first n_c images of a seeded permutation of class c; balanced test set
    folder                 data_dir/<class>/<image> (labelled) or data_dir/<image> (unlabelled), or
                           data_dir/{train,test}/... ; any image format PIL reads, resized to image_size

``load_dataset`` returns the train split and, where the data has one, a labelled test split
(digits and folders without train/test subfolders are split with a seeded, stratified
``test_fraction``; unlabelled folders have no test split). ``subset_per_class`` / ``subset_total``
shrink the training split with the same seed (before a long-tail profile is applied to what is left).
``validation_per_class`` then holds that many images of each class out of the training split, seeded and
stratified, as a validation split: choices made on it never look at the test images.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from dystress import checks
from dystress.atomic import replacing
from dystress.paths import REPO_ROOT

DATASETS = ("digits", "digits-lt", "cifar10", "cifar100", "cifar10-lt", "cifar100-lt", "folder")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm")


@dataclass
class ImageData:
    """images (N, H, W, 3) uint8; labels (N,) int64 or None; classes: one name per label value."""

    images: Tensor
    labels: Tensor | None
    classes: list[str]

    def __len__(self) -> int:
        return self.images.shape[0]

    def select(self, index: Tensor) -> "ImageData":
        return ImageData(self.images[index], None if self.labels is None else self.labels[index], self.classes)


@dataclass
class DataSplits:
    name: str
    train: ImageData
    test: ImageData | None
    validation: ImageData | None = None  # held out of the training images (``validation_per_class``)

    def describe(self) -> str:
        parts = [f"{self.name}: {len(self.train)} training images {tuple(self.train.images.shape[1:])}"]
        parts.append(f"{len(self.train.classes)} classes" if self.train.labels is not None else "unlabelled")
        parts.append(f"{len(self.test)} test images" if self.test is not None else "no test split")
        return ", ".join(parts)


def default_data_dir() -> Path:
    """``$DYSTRESS_DATA`` or the repository's data/ folder."""
    return Path(os.environ.get("DYSTRESS_DATA") or REPO_ROOT / "data")


DATA_ROOT_PREFIX = "data:"  # data_dir "data:<path>" is <path> inside the data root, on any machine


def data_path(data_dir: str | Path) -> Path:
    """The folder ``data_dir`` names: "" is the data root, ``data:<path>`` a path inside it, else a path."""
    text = str(data_dir)
    if not text:
        return default_data_dir()
    if text.startswith(DATA_ROOT_PREFIX):
        return default_data_dir() / text[len(DATA_ROOT_PREFIX):]
    return Path(text)


def portable_data_dir(data_dir: str) -> str:
    """``data:<path>`` for a folder inside the data root (so a stored configuration names the same data in
    every clone), ``data_dir`` unchanged otherwise."""
    if not data_dir:
        return data_dir
    try:
        inside = data_path(data_dir).resolve().relative_to(default_data_dir().resolve())
    except ValueError:
        return data_dir
    return DATA_ROOT_PREFIX + inside.as_posix()


def cache_dir(root: Path) -> Path:
    """Where decoded image folders under the data root ``root`` are cached: ``$DYSTRESS_CACHE`` or ``root/.cache``."""
    return Path(os.environ.get("DYSTRESS_CACHE") or Path(root) / ".cache")


def check_dataset_arguments(name: str, image_size: int, subset_per_class: int, subset_total: int,
                            imbalance_ratio: float, test_fraction: float, validation_per_class: int = 0) -> None:
    checks.one_of("dataset", name, DATASETS)
    checks.integer("image_size", image_size, minimum=8)
    checks.integer("subset_per_class", subset_per_class, minimum=0)
    checks.integer("subset_total", subset_total, minimum=0)
    if subset_per_class and subset_total:
        raise ValueError("give at most one of subset_per_class and subset_total")
    checks.number("imbalance_ratio", imbalance_ratio, above=0, at_most=1)
    checks.number("test_fraction", test_fraction, above=0, below=1)
    checks.integer("validation_per_class", validation_per_class, minimum=0)


def load_dataset(name: str = "digits", data_dir: str | Path = "", image_size: int = 32, subset_per_class: int = 0,
                 subset_total: int = 0, imbalance_ratio: float = 0.01, test_fraction: float = 0.2,
                 download: bool = True, seed: int = 0, validation_per_class: int = 0) -> DataSplits:
    """Load a dataset by name (see the module docstring); all randomness comes from ``seed``."""
    check_dataset_arguments(name, image_size, subset_per_class, subset_total, imbalance_ratio, test_fraction,
                            validation_per_class)
    root = data_path(data_dir)
    base = name.removesuffix("-lt")
    if base == "digits":
        train, test = _split(_digits(image_size), test_fraction, seed)
    elif base == "folder":
        if not data_dir:
            raise ValueError("dataset 'folder' needs data_dir: a folder of <class>/<image> files or of images")
        train, test = _folder(root, image_size, test_fraction, seed, cache_dir(root))
    else:
        train = _cifar(base, root, True, image_size, download, cache_dir(root))
        test = _cifar(base, root, False, image_size, download, cache_dir(root))
    if subset_per_class or subset_total:
        train = train.select(subset_indices(train, subset_per_class, subset_total, seed))
    if name.endswith("-lt"):
        train = train.select(long_tail_indices(train.labels, imbalance_ratio, seed))
    if validation_per_class:
        train, validation = hold_out(train, validation_per_class, seed)
        return DataSplits(name, train, test, validation)
    return DataSplits(name, train, test)


def hold_out(data: ImageData, per_class: int, seed: int) -> tuple[ImageData, ImageData]:
    """(the rest, ``per_class`` images of each class): a seeded, stratified validation split of labelled data;
    every class must keep at least one training image."""
    if data.labels is None:
        raise ValueError("validation_per_class needs labelled training images; this data has no labels")
    counts = torch.bincount(data.labels, minlength=len(data.classes)).tolist()
    short = [f"{name} ({n})" for name, n in zip(data.classes, counts) if n <= per_class]
    if short:
        raise ValueError(f"validation_per_class={per_class} leaves no training image in class "
                         f"{', '.join(short)}; hold out fewer")
    g = torch.Generator().manual_seed(seed + 7919)  # its own stream: the subset draws stay as they were
    held, kept = [], []
    for c in range(len(data.classes)):
        members = _shuffled_members(data.labels, c, g)
        held.append(members[:per_class])
        kept.append(members[per_class:])
    return data.select(torch.cat(kept).sort().values), data.select(torch.cat(held).sort().values)


def long_tail_indices(labels: Tensor, ratio: float, seed: int) -> Tensor:
    """Indices of an exponentially imbalanced subset: n_c = floor(n_max * ratio^(c / (C - 1)))."""
    num_classes = int(labels.max()) + 1
    counts = torch.bincount(labels, minlength=num_classes)
    n_max = int(counts.max())
    g = torch.Generator().manual_seed(seed)
    keep = []
    for c in range(num_classes):
        n_c = int(np.floor(n_max * ratio ** (c / max(num_classes - 1, 1))))
        keep.append(_shuffled_members(labels, c, g)[: max(n_c, 1)])
    return torch.cat(keep).sort().values


def subset_indices(data: ImageData, per_class: int, total: int, seed: int) -> Tensor:
    """A seeded subset: the first ``per_class`` images of each class, or ``total`` images overall."""
    g = torch.Generator().manual_seed(seed + 1)
    if per_class:
        if data.labels is None:
            raise ValueError("subset_per_class needs labels; use subset_total for unlabelled data")
        keep = [_shuffled_members(data.labels, c, g)[:per_class] for c in range(len(data.classes))]
        return torch.cat(keep).sort().values
    if total > len(data):
        raise ValueError(f"subset_total={total} exceeds the {len(data)} training images")
    return torch.randperm(len(data), generator=g)[:total].sort().values


def _shuffled_members(labels: Tensor, c: int, g: torch.Generator) -> Tensor:
    """The indices of class ``c`` in a random order drawn from ``g``."""
    members = torch.nonzero(labels == c).squeeze(1)
    return members[torch.randperm(members.numel(), generator=g)]


def _split(data: ImageData, test_fraction: float, seed: int, where: str = "classes") -> tuple[ImageData, ImageData]:
    """Seeded split, stratified by class; a class too small to give both splits an image is refused by name."""
    counts = torch.bincount(data.labels, minlength=len(data.classes)).tolist()
    tested = [int(round(test_fraction * n)) for n in counts]
    alone = [f"{name} ({n})" for name, n, t in zip(data.classes, counts, tested) if t < 1 or n - t < 1]
    if alone:
        raise ValueError(f"{where} {', '.join(alone)} are too small for a test share of {test_fraction}: each class "
                         f"needs an image in both the training and the test split; add images, or give train and "
                         f"test folders")
    g = torch.Generator().manual_seed(seed)
    train_idx, test_idx = [], []
    for c in range(len(data.classes)):
        members = _shuffled_members(data.labels, c, g)
        n_test = tested[c]
        test_idx.append(members[:n_test])
        train_idx.append(members[n_test:])
    return data.select(torch.cat(train_idx).sort().values), data.select(torch.cat(test_idx).sort().values)


def _resize(images: Tensor, size: int) -> Tensor:
    """uint8 (N, h, w, 3) -> uint8 (N, size, size, 3), bilinear (antialiased when shrinking)."""
    if images.shape[1] == size and images.shape[2] == size:
        return images
    x = images.permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def _digits(image_size: int) -> ImageData:
    from sklearn.datasets import load_digits

    digits = load_digits()
    gray = torch.from_numpy(np.round(digits.images * (255 / 16))).to(torch.uint8)  # (1797, 8, 8)
    images = _resize(gray[..., None].expand(-1, -1, -1, 3).contiguous(), image_size)
    return ImageData(images, torch.from_numpy(digits.target).long(), [str(d) for d in range(10)])


def _cifar(name: str, root: Path, train: bool, image_size: int, download: bool, cache: Path) -> ImageData:
    split = "train" if train else "test"
    for candidate in (root / split, root / name / split):
        if candidate.is_dir():
            return _read_tree(candidate, image_size, cache, labelled_only=True)
    import torchvision

    cls = torchvision.datasets.CIFAR10 if name == "cifar10" else torchvision.datasets.CIFAR100
    try:
        dataset = cls(root=str(root), train=train, download=download)
    except Exception as error:  # no files and no network, or corrupt files
        raise FileNotFoundError(
            f"{name} ({split}) not found in {root} and not downloadable ({type(error).__name__}: {error}). Either "
            f"allow the download (network access, download=True), put torchvision's files there "
            f"({'cifar-10-batches-py' if name == 'cifar10' else 'cifar-100-python'}/), or an image folder "
            f"{root}/{split}/<class>/<image>; or point data_dir (or $DYSTRESS_DATA) elsewhere.") from error
    images = _resize(torch.from_numpy(np.asarray(dataset.data)), image_size)
    return ImageData(images, torch.as_tensor(dataset.targets, dtype=torch.long), list(dataset.classes))


def _folder(root: Path, image_size: int, test_fraction: float, seed: int,
            cache: Path) -> tuple[ImageData, ImageData | None]:
    if not root.is_dir():
        raise FileNotFoundError(f"data_dir {root} does not exist or is not a folder")
    if (root / "train").is_dir():
        train = _read_tree(root / "train", image_size, cache)
        test = _read_tree(root / "test", image_size, cache) if (root / "test").is_dir() else None
        if test is not None and test.labels is not None and test.classes != train.classes:
            raise ValueError(f"the class folders of {root / 'test'} differ from those of {root / 'train'}")
        return train, test
    data = _read_tree(root, image_size, cache)
    if data.labels is None:
        return data, None
    return _split(data, test_fraction, seed, where=f"class folders of {root}")


def _image_files(folder: Path, nested: bool = False) -> list[Path]:
    """The images directly in ``folder`` or, ``nested``, anywhere below it (hidden folders and files left out)."""
    candidates = folder.rglob("*") if nested else folder.iterdir()
    return sorted(p for p in candidates if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def _read_tree(folder: Path, image_size: int, cache: Path, labelled_only: bool = False) -> ImageData:
    """<folder>/<class>/<image> (labelled) or <folder>/<image> (unlabelled), decoded once and cached in ``cache``."""
    class_dirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    loose = _image_files(folder)
    if class_dirs and loose:
        raise ValueError(f"{folder} mixes images and class folders; use <class>/<image> or a flat folder of images")
    if class_dirs:
        per_class = {d: _image_files(d, nested=True) for d in class_dirs}  # a class folder's subfolders belong to it
        empty = [d.name for d, found in per_class.items() if not found]
        if empty:
            raise ValueError(f"class folder{'s' if len(empty) > 1 else ''} {', '.join(empty)} of {folder} hold no "
                             f"images (extensions: {', '.join(IMAGE_EXTENSIONS)}); remove them or add images")
        files = [(f, c) for c, d in enumerate(class_dirs) for f in per_class[d]]
        classes = [d.name for d in class_dirs]
    elif labelled_only:
        raise FileNotFoundError(f"{folder} holds no class folders <class>/<image>")
    else:
        files, classes = [(f, -1) for f in loose], []
    if not files:
        raise ValueError(f"no images found in {folder} (extensions: {', '.join(IMAGE_EXTENSIONS)})")
    stats = [(str(f.relative_to(folder)), f.stat().st_size, f.stat().st_mtime_ns) for f, _ in files]
    key = hashlib.sha256(json.dumps([str(folder.resolve()), image_size, stats]).encode()).hexdigest()[:20]
    cached = cache / f"images-{key}.npz"
    loaded = _load_cached(cached)
    if loaded is not None:
        images, labels = loaded
    else:
        images = torch.from_numpy(np.stack([_decode(f, image_size) for f, _ in files]))
        labels = torch.tensor([c for _, c in files], dtype=torch.long)
        _save_npz(cached, images=images.numpy(), labels=labels.numpy())
    return ImageData(images, labels if classes else None, classes)


def _load_cached(path: Path) -> tuple[Tensor, Tensor] | None:
    """The decoded images and labels cached in ``path``; None when there is none, or when it cannot be read whole
    (a truncated or damaged cache is deleted and decoded again)."""
    if not path.exists():
        return None
    try:
        with np.load(path) as archive:
            return torch.from_numpy(archive["images"]), torch.from_numpy(archive["labels"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        path.unlink(missing_ok=True)
        return None


def _decode(path: Path, image_size: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            rgb = _to_rgb(image, path)
            if rgb.size != (image_size, image_size):
                rgb = rgb.resize((image_size, image_size), Image.BILINEAR)
            return np.asarray(rgb, dtype=np.uint8)
    except Image.DecompressionBombError:
        raise ValueError(f"image {path} has more than {2 * Image.MAX_IMAGE_PIXELS:,} pixels, PIL's limit against "
                         f"decompression bombs: shrink it or leave it out of the folder") from None
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(f"cannot read image {path}: {error}") from error


def _to_rgb(image, path: Path):
    """An 8-bit RGB copy of ``image``. PIL's own conversion clips 16- and 32-bit grey levels at 255 (a 16-bit PNG
    turns white); those are scaled by their real range, 0..65535, and float images must lie in [0, 1]."""
    from PIL import Image

    if not (image.mode.startswith("I") or image.mode == "F"):
        return image.convert("RGB")
    values = np.asarray(image, dtype=np.float64)
    if image.mode == "F":
        if values.min() < 0 or values.max() > 1:
            raise ValueError(f"image {path} has float pixels outside [0, 1] (mode F, from {values.min():g} to "
                             f"{values.max():g}); scale it to [0, 1] or save it with 8 or 16 bits")
        grey = values
    else:
        if values.min() < 0 or values.max() > 65535:
            raise ValueError(f"image {path} has integer pixels outside 0..65535 (mode {image.mode}); save it with 8 "
                             f"or 16 bits per channel")
        grey = values / 65535.0
    return Image.fromarray(np.round(grey * 255).astype(np.uint8), mode="L").convert("RGB")


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Write an .npz atomically (temporary file, then rename); a cache that cannot be written is skipped."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path) as tmp:
            np.savez(tmp, **arrays)
    except OSError:
        pass


def export_image_folder(data: ImageData, folder: str | Path, labelled: bool = True) -> Path:
    """Write images as PNG files: folder/<class>/<index>.png (labelled) or folder/<index>.png.

    The folder is written under a temporary name and renamed when complete; an existing folder is kept.
    """
    from PIL import Image

    folder = Path(folder)
    if folder.exists():
        return folder
    if labelled and data.labels is None:
        raise ValueError("labelled export needs labels")
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    for i, image in enumerate(data.images.numpy()):
        target = tmp / data.classes[int(data.labels[i])] if labelled else tmp
        target.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(target / f"{i:05d}.png")
    os.replace(tmp, folder)
    return folder
