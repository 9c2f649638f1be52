"""Shared fixtures: the real CIFAR-10 and CIFAR-100 archives (when present) and small image folders."""

import tarfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CIFAR_ARCHIVE = SHARED_DATA / "cifar10-jpeg.tar.xz"
CIFAR100_ARCHIVE = SHARED_DATA / "cifar100-jpeg.tar.xz"


def extract_cifar(destination: Path, train_per_class: int, test_per_class: int, archive_path: Path = CIFAR_ARCHIVE,
                  name: str = "cifar10") -> Path:
    """Extract the first images of each class and split from a shared archive (an image folder)."""
    limits = {"train": train_per_class, "test": test_per_class}
    taken = Counter()
    with tarfile.open(archive_path, "r:xz") as archive:
        for member in archive:
            parts = member.name.split("/")
            if not member.isfile() or len(parts) != 4:
                continue
            key = (parts[1], parts[2])
            if taken[key] < limits[parts[1]]:
                taken[key] += 1
                archive.extract(member, destination, filter="data")
    return destination / name


@pytest.fixture(scope="session")
def cifar10_subset(tmp_path_factory):
    """An image folder cifar10/{train,test}/<class>/ of real CIFAR-10 images: 500 / 100 per class."""
    if not CIFAR_ARCHIVE.exists():
        pytest.skip(f"the CIFAR-10 archive {CIFAR_ARCHIVE} is not present")
    return extract_cifar(tmp_path_factory.mktemp("cifar"), 500, 100)


@pytest.fixture(scope="session")
def cifar100_subset(tmp_path_factory):
    """An image folder cifar100/{train,test}/<fine class>/ of real CIFAR-100 images: 20 / 5 per class."""
    if not CIFAR100_ARCHIVE.exists():
        pytest.skip(f"the CIFAR-100 archive {CIFAR100_ARCHIVE} is not present")
    return extract_cifar(tmp_path_factory.mktemp("cifar100"), 20, 5, CIFAR100_ARCHIVE, "cifar100")


def write_images(folder: Path, count: int, size: int = 12, fmt: str = "png", seed: int = 0, bias: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        pixels = np.clip(rng.integers(0, 200, (size, size, 3)) + bias, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"img{i:03d}.{fmt}")


@pytest.fixture
def labelled_folder(tmp_path):
    """root/<class>/<image>: three classes of 12 images of different brightness, PNG and JPEG."""
    root = tmp_path / "labelled"
    for c, (name, fmt) in enumerate((("cat", "png"), ("dog", "jpg"), ("emu", "png"))):
        write_images(root / name, 12, fmt=fmt, seed=c, bias=25 * c)
    return root


@pytest.fixture
def private_runs(tmp_path, monkeypatch):
    """Runs, published results and the image cache in the test's own folder; progress bars off."""
    for name, folder in (("DYSTRESS_RUNS", "runs"), ("DYSTRESS_RESULTS", "results"), ("DYSTRESS_CACHE", "cache")):
        monkeypatch.setenv(name, str(tmp_path / folder))
    monkeypatch.setenv("TQDM_DISABLE", "1")
    return tmp_path
