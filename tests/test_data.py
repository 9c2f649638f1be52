import numpy as np
import pytest
import torch
import torchvision

from dystress.engine import data as data_module
from dystress.engine.config import resolve
from dystress.engine.data import load_dataset, long_tail_indices

from .conftest import write_images


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DYSTRESS_CACHE", str(tmp_path / "cache"))


def test_digits_are_uint8_images_with_a_stratified_split():
    d = load_dataset("digits")
    assert d.train.images.dtype == torch.uint8 and d.train.images.shape[1:] == (32, 32, 3)
    assert len(d.train) + len(d.test) == 1797
    assert d.train.classes == [str(i) for i in range(10)]
    counts = torch.bincount(d.test.labels)
    assert counts.min() >= 33 and counts.max() <= 38  # 20 % of each class
    small = load_dataset("digits", image_size=16, seed=3)
    assert small.train.images.shape[1:] == (16, 16, 3)
    assert torch.equal(load_dataset("digits", seed=3).test.labels, load_dataset("digits", seed=3).test.labels)
    assert not torch.equal(load_dataset("digits", seed=3).test.images, d.test.images)
    assert torch.equal(d.train.images[..., 0], d.train.images[..., 2])  # grayscale in 3 channels


def test_long_tail_profile_follows_the_formula():
    labels = torch.arange(10).repeat_interleave(500)
    keep = long_tail_indices(labels, 0.01, seed=0)
    counts = torch.bincount(labels[keep]).tolist()
    assert counts == [int(np.floor(500 * 0.01 ** (c / 9))) for c in range(10)]
    assert counts[0] == 500 and counts[-1] == 5
    assert torch.equal(keep, long_tail_indices(labels, 0.01, seed=0))
    assert not torch.equal(keep, long_tail_indices(labels, 0.01, seed=1))


def test_subsets():
    per_class = load_dataset("digits", subset_per_class=7)
    assert torch.bincount(per_class.train.labels).tolist() == [7] * 10
    total = load_dataset("digits", subset_total=50)
    assert len(total.train) == 50 and len(total.test) == len(load_dataset("digits").test)


def test_labelled_folder_is_split_and_resized(labelled_folder):
    d = load_dataset("folder", labelled_folder, image_size=16, test_fraction=0.25)
    assert d.train.classes == ["cat", "dog", "emu"]
    assert len(d.train) == 27 and len(d.test) == 9
    assert d.train.images.shape[1:] == (16, 16, 3)
    means = [d.train.images[d.train.labels == c].float().mean().item() for c in range(3)]
    assert means[0] < means[1] < means[2]


def test_flat_folder_is_unlabelled(tmp_path):
    write_images(tmp_path / "flat", 5, fmt="jpg")
    d = load_dataset("folder", tmp_path / "flat", image_size=8)
    assert d.train.labels is None and d.test is None and len(d.train) == 5
    assert "unlabelled" in d.describe()


def test_train_test_subfolders(tmp_path):
    for split, n in (("train", 6), ("test", 3)):
        for name in ("a", "b"):
            write_images(tmp_path / "root" / split / name, n, seed=n)
    d = load_dataset("folder", tmp_path / "root")
    assert len(d.train) == 12 and len(d.test) == 6 and d.test.classes == ["a", "b"]


@pytest.mark.parametrize("mode", ["I;16", "I"])
def test_16_bit_greyscale_images_are_read_by_their_real_range(mode, tmp_path):
    from PIL import Image

    folder = tmp_path / "deep" / "only"
    folder.mkdir(parents=True)
    levels = np.kron(np.array([[0, 16384], [32768, 65535]]), np.ones((4, 4), dtype=np.int64))
    levels = levels.astype(np.uint16 if mode == "I;16" else np.int32)
    for k in range(4):
        Image.fromarray(levels).save(folder / f"grey{k}.{'png' if mode == 'I;16' else 'tiff'}")
    d = load_dataset("folder", tmp_path / "deep", image_size=8, test_fraction=0.25)
    image = torch.cat([d.train.images, d.test.images])[0]
    expected = np.round(levels.astype(np.float64) / 65535 * 255).astype(np.uint8)
    assert torch.equal(image[..., 0], torch.from_numpy(expected)) and torch.equal(image[..., 0], image[..., 2])


def test_float_images_outside_the_unit_range_are_refused_by_name(tmp_path):
    from PIL import Image

    folder = tmp_path / "floats"
    folder.mkdir()
    Image.fromarray(np.full((8, 8), 300.0, dtype=np.float32), mode="F").save(folder / "hot.tiff")
    with pytest.raises(ValueError, match=r"hot\.tiff has float pixels outside \[0, 1\]"):
        load_dataset("folder", folder, image_size=8)


def test_images_in_a_subfolder_of_a_class_folder_belong_to_that_class(tmp_path):
    write_images(tmp_path / "root" / "cat", 4, seed=1)
    write_images(tmp_path / "root" / "cat" / "indoor", 4, seed=2)
    write_images(tmp_path / "root" / "dog", 8, seed=3)
    write_images(tmp_path / "root" / "dog" / ".thumbnails", 3, seed=4)  # hidden: left out
    d = load_dataset("folder", tmp_path / "root", image_size=8, test_fraction=0.25)
    labels = torch.cat([d.train.labels, d.test.labels])
    assert d.train.classes == ["cat", "dog"] and (labels == 0).sum() == 8 and (labels == 1).sum() == 8


def test_a_class_folder_without_images_is_refused_by_name(tmp_path):
    write_images(tmp_path / "root" / "cat", 4)
    (tmp_path / "root" / "dog").mkdir()
    (tmp_path / "root" / "dog" / "notes.txt").write_text("no pictures")
    with pytest.raises(ValueError, match="class folder dog of .* hold no images"):
        load_dataset("folder", tmp_path / "root", image_size=8)


def test_decoded_folders_are_cached(labelled_folder, monkeypatch):
    first = load_dataset("folder", labelled_folder)
    monkeypatch.setattr(data_module, "_decode", lambda *a: (_ for _ in ()).throw(AssertionError("decoded again")))
    second = load_dataset("folder", labelled_folder)
    assert torch.equal(first.train.images, second.train.images)


def test_folder_errors(tmp_path, labelled_folder):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_dataset("folder", tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images found"):
        load_dataset("folder", tmp_path / "empty")
    (labelled_folder / "dog" / "broken.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="cannot read image .*broken.png"):
        load_dataset("folder", labelled_folder)
    write_images(tmp_path / "mixed" / "cls", 2)
    write_images(tmp_path / "mixed", 2)
    with pytest.raises(ValueError, match="mixes images and class folders"):
        load_dataset("folder", tmp_path / "mixed")
    with pytest.raises(ValueError, match="needs data_dir"):
        load_dataset("folder")


@pytest.mark.parametrize("kwargs,message", [({"name": "mnist"}, "dataset must be one of"),
                                            ({"image_size": 4}, "image_size"),
                                            ({"subset_per_class": 2, "subset_total": 3}, "at most one"),
                                            ({"imbalance_ratio": 0.0}, "imbalance_ratio"),
                                            ({"test_fraction": 1.0}, "test_fraction")])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_dataset(**kwargs)


class FakeCIFAR:
    calls = []

    def __init__(self, root, train, download):
        FakeCIFAR.calls.append((root, train, download))
        n = 20 if train else 10
        self.data = np.full((n, 32, 32, 3), 7 if train else 9, dtype=np.uint8)
        self.targets = [i % 10 for i in range(n)]
        self.classes = [f"c{i}" for i in range(10)]


def test_cifar_goes_through_torchvision(tmp_path, monkeypatch):
    FakeCIFAR.calls = []
    monkeypatch.setattr(torchvision.datasets, "CIFAR10", FakeCIFAR)
    d = load_dataset("cifar10", tmp_path, download=False)
    assert FakeCIFAR.calls == [(str(tmp_path), True, False), (str(tmp_path), False, False)]
    assert len(d.train) == 20 and len(d.test) == 10 and int(d.test.images[0, 0, 0, 0]) == 9
    lt = load_dataset("cifar10-lt", tmp_path, download=False, imbalance_ratio=0.5)
    assert torch.bincount(lt.train.labels).tolist() == [2, 1, 1, 1, 1, 1, 1, 1, 1, 1]


def test_cifar100_goes_through_torchvision(tmp_path, monkeypatch):
    FakeCIFAR.calls = []
    monkeypatch.setattr(torchvision.datasets, "CIFAR100", FakeCIFAR)
    d = load_dataset("cifar100-lt", tmp_path, download=True, imbalance_ratio=0.5)
    assert FakeCIFAR.calls == [(str(tmp_path), True, True), (str(tmp_path), False, True)]
    assert len(d.test) == 10 and torch.bincount(d.train.labels).tolist() == [2, 1, 1, 1, 1, 1, 1, 1, 1, 1]


def test_the_small_profile_keeps_10000_images_of_cifar100_and_the_standard_long_tail():
    assert resolve("small").subset_per_class == 1000
    assert resolve("small", dataset="cifar100").subset_per_class == 100
    assert resolve("small", dataset="cifar100-lt").subset_per_class == 0
    assert resolve("small", dataset="cifar100", subset_per_class=50).subset_per_class == 50  # overrides win
    assert resolve("smoke", dataset="cifar100").subset_per_class == 0


def test_cifar_offline_without_files_explains_where_to_put_them(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"cifar100 \(train\) not found .*cifar-100-python"):
        load_dataset("cifar100", tmp_path, download=False)


def test_real_cifar10_image_folder(cifar10_subset):
    d = load_dataset("cifar10", cifar10_subset.parent)
    assert len(d.train) == 5000 and len(d.test) == 1000
    assert d.train.classes[:3] == ["airplane", "automobile", "bird"]
    assert d.train.images.shape[1:] == (32, 32, 3)
    assert 100 < d.train.images.float().mean() < 140
    lt = load_dataset("cifar10-lt", cifar10_subset, imbalance_ratio=0.1)
    assert torch.bincount(lt.train.labels).tolist() == [int(np.floor(500 * 0.1 ** (c / 9))) for c in range(10)]


def test_real_cifar100_image_folder(cifar100_subset):
    d = load_dataset("cifar100", cifar100_subset.parent)
    assert len(d.train.classes) == 100 and d.train.classes == sorted(d.train.classes)
    assert d.train.classes[:2] == ["apple", "aquarium_fish"] and d.train.classes[-1] == "worm"
    assert len(d.train) == 2000 and len(d.test) == 500 and d.test.classes == d.train.classes
    assert torch.bincount(d.test.labels).tolist() == [5] * 100
    assert 90 < d.train.images.float().mean() < 150
    lt = load_dataset("cifar100-lt", cifar100_subset, imbalance_ratio=0.1)
    assert torch.bincount(lt.train.labels).tolist() == [int(np.floor(20 * 0.1 ** (c / 99))) for c in range(100)]


def test_decoded_folders_are_cached_under_the_data_root_unless_a_cache_is_chosen(labelled_folder, monkeypatch):
    monkeypatch.delenv("DYSTRESS_CACHE")
    monkeypatch.setattr(data_module, "default_data_dir", lambda: pytest.fail("the repository's data/ is not used"))
    load_dataset("folder", labelled_folder)
    assert list((labelled_folder / ".cache").glob("images-*.npz"))
    again = load_dataset("folder", labelled_folder)  # the cache folder is not read as a class
    assert again.train.classes == ["cat", "dog", "emu"]


def test_an_oversized_image_is_refused_by_name(labelled_folder, monkeypatch):
    from PIL import Image

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50)  # stands in for a 20000 x 20000 image: 12 x 12 > 2 x 50
    with pytest.raises(ValueError, match=r"image .*img000.png has more than 100 pixels, PIL's limit"):
        load_dataset("folder", labelled_folder)


def test_a_data_dir_inside_the_data_root_is_named_portably(labelled_folder, monkeypatch):
    monkeypatch.setenv("DYSTRESS_DATA", str(labelled_folder.parent))
    assert data_module.portable_data_dir(str(labelled_folder)) == "data:labelled"
    assert data_module.portable_data_dir("/somewhere/else") == "/somewhere/else"
    by_prefix = load_dataset("folder", "data:labelled")
    assert torch.equal(by_prefix.train.images, load_dataset("folder", labelled_folder).train.images)


def test_a_damaged_image_cache_is_decoded_again(labelled_folder, tmp_path):
    first = load_dataset("folder", labelled_folder)
    (cached,) = (tmp_path / "cache").rglob("images-*.npz")  # the private cache of this module's fixture
    cached.write_bytes(cached.read_bytes()[:100])
    second = load_dataset("folder", labelled_folder)
    assert torch.equal(first.train.images, second.train.images) and cached.stat().st_size > 100


def test_a_class_too_small_for_both_splits_is_refused_by_name(tmp_path):
    write_images(tmp_path / "root" / "many", 10)
    write_images(tmp_path / "root" / "single", 1, seed=2)
    with pytest.raises(ValueError, match=r"class folders of .* single \(1\) are too small for a test share of 0.2"):
        load_dataset("folder", tmp_path / "root", image_size=8)


def test_a_validation_split_is_held_out_of_the_training_images_stratified_and_seeded():
    plain = load_dataset("digits", seed=3)
    held = load_dataset("digits", seed=3, validation_per_class=5)
    assert held.validation is not None and plain.validation is None
    assert torch.bincount(held.validation.labels).tolist() == [5] * 10
    assert len(held.train) + len(held.validation) == len(plain.train)
    assert torch.equal(held.test.images, plain.test.images)  # the test split is untouched
    together = torch.cat([held.train.images, held.validation.images]).flatten(1)
    assert torch.unique(together, dim=0).shape[0] == torch.unique(plain.train.images.flatten(1), dim=0).shape[0]
    again = load_dataset("digits", seed=3, validation_per_class=5)
    assert torch.equal(again.validation.images, held.validation.images)
    other = load_dataset("digits", seed=4, validation_per_class=5)
    assert not torch.equal(other.validation.images, held.validation.images)


def test_a_validation_split_that_would_empty_a_class_is_refused():
    with pytest.raises(ValueError, match="validation_per_class=200 leaves no training image in class 0"):
        load_dataset("digits", validation_per_class=200)
    with pytest.raises(ValueError, match="validation_per_class must be an integer >= 0"):
        load_dataset("digits", validation_per_class=-1)


def test_the_validation_split_is_part_of_the_run_identity_only_when_used():
    base = resolve("smoke")
    assert base.replace(validation_per_class=0).run_name() == base.run_name()
    assert base.replace(validation_per_class=10).run_name() != base.run_name()
