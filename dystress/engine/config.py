"""Training configuration: one validated dataclass, three profiles, and the identity that names a run.

``resolve(profile, **overrides)`` starts from a profile and applies overrides; unknown keys and
ill-typed values are errors that name the key. The names are the notebook parameters' names. The loss's
own parameters are nested in ``loss_options`` (the loss class's ``Options``, solo-learn's ``method_kwargs``);
they are given flat (``tau_max=0.3``, ``--tau_max 0.3``) and land there, and a parameter of another loss
than the chosen one is an error.

Profiles:
    smoke   digits (embedded), small CNN, 5 epochs, batch 64, SGD momentum 0.9, crops of at least half
            the image (8x8 digits do not survive SimCLR's 8% crops), kNN k=20: seconds on a CPU
    small   CIFAR-10 (1,000 training images per class, full test set), small CNN, crops of at least 20 %,
            18 epochs, batch 64, SGD lr 0.3 momentum 0.9, kNN monitor every 3 epochs: about 4 minutes
            alone on 2 CPU cores, 7-9 minutes two at a time (CIFAR-100: 100 images per class)
    paper   CIFAR-10, ResNet-18 (CIFAR stem), 200 epochs, batch 128, SGD lr 0.2 momentum 0 wd 5e-4,
            cosine LR per epoch, DySTreSS tau in [0.07, 0.2], kNN k=200 t=0.1: the paper's recipe, on a GPU
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
import re
import typing
from dataclasses import dataclass

from dystress import checks
from dystress.engine.data import DATA_ROOT_PREFIX, check_dataset_arguments, data_path, portable_data_dir
from dystress.engine.models import MODELS
from dystress.mathematics.losses import LOSSES, LossOptions

METHODS = ("simclr", "moco")  # how negatives are formed: in the batch, or from a momentum encoder's queue
OPTIMIZERS = ("sgd", "lars")
DEVICES = ("auto", "cpu", "cuda")
NORMALIZATIONS = ("cifar", "data")  # the channel statistics images are normalised with
MAX_SEED = 2**31 - 1  # seeds derived from it (per process, per split) stay below 2**32, which every library accepts


@dataclass(frozen=True)
class TrainConfig:
    # data
    dataset: str = "cifar10"  # digits | digits-lt | cifar10 | cifar100 | cifar10-lt | cifar100-lt | folder
    data_dir: str = ""  # "" -> $DYSTRESS_DATA or data/
    image_size: int = 32  # side of the (square) images
    subset_per_class: int = 0  # train on this many images per class (0 = all)
    subset_total: int = 0  # or on this many images in total (0 = all)
    validation_per_class: int = 0  # hold this many training images per class out as a validation split (0: none)
    imbalance_ratio: float = 0.01  # long-tailed datasets: n_min / n_max
    test_fraction: float = 0.2  # held-out share for datasets without a test split
    download: bool = True  # let torchvision download CIFAR when it is missing
    crop_min_scale: float = 0.08  # smallest area fraction of RandomResizedCrop (SimCLR: 0.08)
    normalization: str = "cifar"  # cifar: CIFAR-10's channel mean and std | data: those of the training images
    # model
    model: str = "resnet18"  # resnet18 | small_cnn | cnn4
    out_dim: int = 128  # projection dimension
    # method and loss
    method: str = "simclr"  # simclr (in-batch negatives) | moco (momentum encoder + queue)
    queue_size: int = 4096  # moco: negatives kept in the queue
    moco_momentum: float = 0.99  # moco: key encoder EMA
    loss: str = "dystress"  # a registered loss (dystress.mathematics.losses.LOSSES)
    loss_options: LossOptions | None = None  # the loss's parameters (None: its defaults); given flat, e.g. tau_max
    # optimisation
    epochs: int = 200  # training epochs
    batch_size: int = 128  # images per step (two views each), over all processes
    optimizer: str = "sgd"  # sgd | lars
    lr: float = 0.2  # peak learning rate (cosine schedule over epochs)
    momentum: float = 0.0  # the paper's SGD has none
    weight_decay: float = 5e-4  # L2 weight decay
    warmup_epochs: int = 0  # linear warm-up before the cosine schedule
    # evaluation during training
    eval_every: int = 1  # kNN every this many epochs (and at the last one)
    knn_k: int = 200  # kNN neighbours
    knn_t: float = 0.1  # kNN temperature of the vote weights exp(s / t)
    # execution
    seed: int = 0  # seed of initialisation, data order, augmentation and splits
    device: str = "auto"  # auto | cpu | cuda
    amp: bool = True  # bf16 autocast on CUDA (the loss stays in fp32)
    channels_last: bool = True  # NHWC memory format on CUDA
    compile: bool = False  # torch.compile the model
    deterministic: bool = False  # deterministic algorithms (slower)

    def __post_init__(self) -> None:
        checks.one_of("loss", self.loss, tuple(LOSSES))
        if self.loss_options is None:
            object.__setattr__(self, "loss_options", LOSSES[self.loss].Options())
        validate(self)

    def to_dict(self) -> dict:
        """Every field; ``loss_options`` as a nested dict and a data_dir inside the data root as ``data:<path>``
        (the layout of config.json, the same in every clone)."""
        return dataclasses.asdict(self) | {"data_dir": portable_data_dir(self.data_dir)}

    def identity(self) -> dict:
        """What the run computes, and nothing else: the data, the model, the method and the loss with the
        parameters that are active for them, the optimisation, the evaluation protocol and the seed.

        Fields that only say where data is read from or how fast a run goes (data_dir except for a folder
        dataset, download, device, amp, channels_last, compile, deterministic) and parameters of methods or
        schedules that are not in use are left out (the loss says which of its options count, in
        ``Options.identity``), so changing them, or adding a new field, renames no run.
        """
        c = self
        data = {"dataset": c.dataset, "image_size": c.image_size, "subset_per_class": c.subset_per_class,
                "subset_total": c.subset_total, "crop_min_scale": float(c.crop_min_scale)}
        if c.dataset.endswith("-lt"):
            data["imbalance_ratio"] = float(c.imbalance_ratio)
        if c.validation_per_class:
            data["validation_per_class"] = c.validation_per_class
        if c.dataset in ("digits", "digits-lt", "folder"):
            data["test_fraction"] = float(c.test_fraction)
        if c.dataset == "folder":
            data["data_dir"] = _folder_key(c.data_dir)
        if c.normalization != "cifar":
            data["normalization"] = c.normalization
        method = {"name": c.method}
        if c.method == "moco":
            method |= {"queue_size": c.queue_size, "moco_momentum": float(c.moco_momentum)}
        optimisation = {"epochs": c.epochs, "batch_size": c.batch_size, "optimizer": c.optimizer, "lr": float(c.lr),
                        "momentum": float(c.momentum), "weight_decay": float(c.weight_decay),
                        "warmup_epochs": c.warmup_epochs}
        return {"data": data, "model": {"name": c.model, "out_dim": c.out_dim}, "method": method,
                "loss": {"name": c.loss} | c.loss_options.identity(), "optimisation": optimisation,
                "evaluation": {"eval_every": c.eval_every, "knn_k": c.knn_k, "knn_t": float(c.knn_t)}, "seed": c.seed}

    def run_hash(self) -> str:
        """12 hex digits naming what this configuration computes: the sha256 of ``identity()``."""
        return hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()[:12]

    def run_name(self) -> str:
        """``<loss>-<run hash>``: the name of the run's folder in runs/ and results/."""
        return f"{self.loss}-{self.run_hash()}"

    def replace(self, **overrides) -> "TrainConfig":
        """A copy with ``overrides`` (flat loss parameters included); changing the loss keeps the options the
        new loss shares with the old one."""
        return from_dict(self.to_dict() | overrides, carried_options=True)


def _folder_key(data_dir: str) -> str:
    """A folder dataset's data: ``data:<path>`` inside the data root, else its absolute path."""
    portable = portable_data_dir(data_dir)
    return portable if portable.startswith(DATA_ROOT_PREFIX) else data_path(data_dir).resolve().as_posix()


@functools.cache
def field_types() -> dict[str, object]:
    return typing.get_type_hints(TrainConfig)


def loss_parameters() -> dict[str, object]:
    """The flat parameters of every registered loss: name -> annotation (first declaration wins)."""
    found: dict[str, object] = {}
    for cls in LOSSES.values():
        for name, kind in typing.get_type_hints(cls.Options).items():
            found.setdefault(name, kind)
    return found


def _coerce(kind: object, value: object) -> object:
    return float(value) if kind is float and type(value) is int else value  # an int is accepted for a float


def from_dict(values: dict, strict: bool = True, carried_options: bool = False) -> TrainConfig:
    """Build a config from a dict: TrainConfig's fields, the chosen loss's parameters flat or nested under
    ``loss_options``. Unknown keys are an error; so is a parameter of another loss unless ``strict`` is False
    (config.json files written before the options were nested hold every loss's parameters). With
    ``carried_options``, nested options of another loss keep only those the chosen loss shares."""
    values = dict(values)
    types = field_types()
    loss = values.get("loss", TrainConfig.loss)
    checks.one_of("loss", loss, tuple(LOSSES))
    options_type = LOSSES[loss].Options
    option_types = typing.get_type_hints(options_type)
    nested = values.pop("loss_options", None) or {}
    if isinstance(nested, LossOptions):
        nested = dataclasses.asdict(nested)
    if not isinstance(nested, dict):
        raise ValueError(f"loss_options must be a dict of the loss's parameters, got {nested!r}")
    if carried_options:
        nested = {k: v for k, v in nested.items() if k in option_types}
    other_losses = set(loss_parameters()) - set(option_types)
    unknown, foreign = [], []
    for key in [k for k in values if k not in types]:
        if key in option_types:
            nested[key] = values.pop(key)
        elif key in other_losses:
            values.pop(key)
            foreign.append(key)
        else:
            unknown.append(key)
    unknown += [k for k in nested if k not in option_types]
    if unknown:
        known = [k for k in types if k != "loss_options"] + list(loss_parameters())
        raise ValueError(f"unknown config key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                         f"known keys: {', '.join(known)}")
    if foreign and strict:
        raise ValueError(f"{', '.join(foreign)} {'is not a parameter' if len(foreign) == 1 else 'are not parameters'}"
                         f" of loss {loss!r}; its parameters: {', '.join(option_types) or 'none'}")
    options = options_type(**{k: _coerce(option_types[k], v) for k, v in nested.items()})
    return TrainConfig(**{k: _coerce(types[k], v) for k, v in values.items()}, loss_options=options)


def validate(c: TrainConfig) -> None:
    """Every check that can be made before touching data; raises ValueError naming the key."""
    for key in field_types():
        if key != "loss_options":
            checks.matches(f"config key {key!r}", getattr(c, key), field_types()[key])
    if not isinstance(c.loss_options, LOSSES[c.loss].Options):
        raise ValueError(f"loss_options must be {LOSSES[c.loss].__name__}.Options for loss {c.loss!r}, got "
                         f"{type(c.loss_options).__name__}")
    check_dataset_arguments(c.dataset, c.image_size, c.subset_per_class, c.subset_total, c.imbalance_ratio,
                            c.test_fraction, c.validation_per_class)
    if c.dataset == "folder" and not c.data_dir:
        raise ValueError("dataset 'folder' needs data_dir")
    checks.number("crop_min_scale", c.crop_min_scale, above=0, at_most=1)
    checks.one_of("normalization", c.normalization, NORMALIZATIONS)
    checks.one_of("model", c.model, MODELS)
    checks.one_of("method", c.method, METHODS)
    checks.one_of("optimizer", c.optimizer, OPTIMIZERS)
    checks.one_of("device", c.device, DEVICES)
    if c.method == "moco":
        banked = [name for name, cls in LOSSES.items() if cls.supports_memory_bank]
        if c.loss not in banked:
            raise ValueError(f"method 'moco' supports the losses {', '.join(banked)}, not {c.loss!r}")
        checks.integer("queue_size", c.queue_size, minimum=1)
        checks.number("moco_momentum", c.moco_momentum, at_least=0, below=1)
    for key in ("epochs", "eval_every", "knn_k", "out_dim"):
        checks.integer(key, getattr(c, key), minimum=1)
    if c.batch_size < 2:
        raise ValueError(f"batch_size must be >= 2 (a contrastive loss needs negatives), got {c.batch_size}")
    checks.integer("warmup_epochs", c.warmup_epochs, minimum=0, maximum=c.epochs - 1)
    checks.number("lr", c.lr, above=0)
    checks.number("momentum", c.momentum, at_least=0)
    checks.number("weight_decay", c.weight_decay, at_least=0)
    checks.number("knn_t", c.knn_t, above=0)
    checks.integer("seed", c.seed, minimum=0, maximum=MAX_SEED)


PROFILES = {  # the run scales; each notebook and `dystress train` start from one of them
    "smoke": dict(dataset="digits", model="small_cnn", crop_min_scale=0.5, epochs=5, batch_size=64, lr=0.1,
                  momentum=0.9, eval_every=5, knn_k=20),
    "small": dict(dataset="cifar10", model="small_cnn", subset_per_class=1000, crop_min_scale=0.2, epochs=18,
                  batch_size=64, lr=0.3, momentum=0.9, eval_every=3),  # chosen by benchmarks/small_recipe.py
    "paper": dict(dataset="cifar10", model="resnet18", epochs=200, batch_size=128, lr=0.2, momentum=0.0,
                  weight_decay=5e-4, loss="dystress", tau_min=0.07, tau_max=0.2, eval_every=5),
}

# a profile's settings that depend on the dataset, applied over the profile's when that dataset is chosen:
# `small` CIFAR-100 keeps small CIFAR-10's 10,000 training images (100 per class), its long tail is the
# standard CIFAR-100-LT, drawn from all 500 images per class (10,847 images at ratio 0.01), and a user's
# folder is used whole
DATASET_SETTINGS = {
    "small": {"cifar100": dict(subset_per_class=100), "cifar100-lt": dict(subset_per_class=0),
              "folder": dict(subset_per_class=0)},
}


def resolve(profile: str = "smoke", **overrides) -> TrainConfig:
    """The profile's configuration with ``overrides`` applied (validated). A loss parameter the profile sets
    is dropped when ``overrides`` choose a loss without it; one given in ``overrides`` must belong to the loss.
    The settings ``DATASET_SETTINGS`` gives the profile for the chosen dataset apply before ``overrides``."""
    checks.one_of("profile", profile, tuple(PROFILES))
    settings = PROFILES[profile]
    dataset = overrides.get("dataset", settings.get("dataset", TrainConfig.dataset))
    settings = settings | DATASET_SETTINGS.get(profile, {}).get(dataset, {})
    loss = overrides.get("loss", settings.get("loss", TrainConfig.loss))
    checks.one_of("loss", loss, tuple(LOSSES))
    own = typing.get_type_hints(LOSSES[loss].Options)
    kept = {k: v for k, v in settings.items() if k in field_types() or k in own}
    return from_dict(kept | overrides)


def field_help() -> dict[str, str]:
    """The comment after each field of TrainConfig and of every registered loss's options, for --help texts."""
    helps: dict[str, str] = {}
    for cls in (TrainConfig, *(loss.Options for loss in LOSSES.values())):
        for klass in reversed(cls.__mro__):
            if dataclasses.is_dataclass(klass):
                source = inspect.getsource(klass)
                helps |= {m.group(1): m.group(2).strip()
                          for m in re.finditer(r"^\s+(\w+): [^=]+= .*?#\s*(.*)$", source, re.M)}
    return helps
