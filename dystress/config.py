"""Training configuration: one validated dataclass, three profiles, and the hash that names a run.

``resolve(profile, **overrides)`` starts from a profile and applies overrides; unknown keys and
ill-typed values are errors that name the key. The names are the notebook parameters' names.

Profiles:
    smoke   digits (embedded), small CNN, 15 epochs, batch 64, SGD momentum 0.9, crops of at least half
            the image (8x8 digits do not survive SimCLR's 8% crops), kNN k=20: under a minute on a CPU
    small   CIFAR-10 (500 training images per class, full test set), small CNN, 20 epochs, batch 128,
            SGD lr 0.1 momentum 0.9: about 4 minutes on 2 CPU cores
    paper   CIFAR-10, ResNet-18 (CIFAR stem), 200 epochs, batch 128, SGD lr 0.2 momentum 0 wd 5e-4,
            cosine LR per epoch, DySTreSS tau in [0.07, 0.2], kNN k=200 t=0.1: the paper's recipe, on a GPU
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import typing
from dataclasses import dataclass
from pathlib import Path

from .data import check_dataset_arguments
from .losses import LOSSES
from .models import MODELS
from .params import PROFILES, type_name, type_ok
from .temperature import PROFILES as TAU_PROFILES
from .temperature import TemperatureProfile, check_temperature_range

METHODS = ("simclr", "moco")
OPTIMIZERS = ("sgd", "lars")
TAU_SCHEDULES = ("none", "kukleva")
DEVICES = ("auto", "cpu", "cuda")
MAX_SEED = 2**31 - 1  # seeds derived from it (per process, per split) stay below 2**32, which every library accepts


@dataclass(frozen=True)
class TrainConfig:
    # data
    dataset: str = "cifar10"  # digits | digits-lt | cifar10 | cifar100 | cifar10-lt | cifar100-lt | folder
    data_dir: str = ""  # "" -> $DYSTRESS_DATA or data/
    image_size: int = 32  # side of the (square) images
    subset_per_class: int = 0  # train on this many images per class (0 = all)
    subset_total: int = 0  # or on this many images in total (0 = all)
    imbalance_ratio: float = 0.01  # long-tailed datasets: n_min / n_max
    test_fraction: float = 0.2  # held-out share for datasets without a test split
    download: bool = True  # let torchvision download CIFAR when it is missing
    crop_min_scale: float = 0.08  # smallest area fraction of RandomResizedCrop (SimCLR: 0.08)
    # model
    model: str = "resnet18"  # resnet18 | small_cnn
    out_dim: int = 128  # projection dimension
    # method and loss
    method: str = "simclr"  # simclr (in-batch negatives) | moco (momentum encoder + queue)
    loss: str = "dystress"  # ntxent | dystress | dcl | hard | macl | isogclr
    temperature: float = 0.2  # constant temperature (ntxent, dcl, hard; MACL's tau_0)
    tau_min: float = 0.07  # DySTreSS lower temperature
    tau_max: float = 0.2  # DySTreSS upper temperature
    tau_profile: str = "cosine"  # DySTreSS profile: cosine | shifted_cosine | linear | exponential | constant
    tau_shift: float | None = None  # shifted_cosine offset (DySTreSS*: -0.4)
    tau_scale: float | None = None  # shifted_cosine scale (DySTreSS*: 0.7)
    detach_tau: bool = True  # compute tau(s) from detached similarities (official code)
    dynamic_tau: bool = False  # dcl / hard: use the DySTreSS profile instead of the constant temperature
    tau_schedule: str = "none"  # none | kukleva: per-epoch temperature for ntxent / dcl / hard
    schedule_tau_min: float = 0.1  # Kukleva schedule minimum
    schedule_tau_max: float = 1.0  # Kukleva schedule maximum
    schedule_t_max: int = 200  # Kukleva half period in epochs
    dcl_weighted: bool = False  # DCLW weighting
    dcl_sigma: float = 0.5  # DCLW sigma
    hard_quantile: float = 0.0819  # hard loss: fraction of the hardest negatives kept
    macl_alpha: float = 0.5  # MACL alpha
    macl_a0: float = 0.0  # MACL A_0
    isogclr_tau_init: float = 0.1  # iSogCLR initial temperature
    isogclr_tau_min: float = 0.05  # iSogCLR lowest temperature
    isogclr_tau_max: float = 1.0  # iSogCLR highest temperature
    isogclr_rho: float = 0.4  # iSogCLR DRO radius
    isogclr_gamma: float = 0.8  # iSogCLR moving-average rate
    isogclr_eta: float = 0.03  # iSogCLR temperature learning rate
    isogclr_beta_u: float = 0.5  # iSogCLR temperature momentum
    queue_size: int = 4096  # moco: negatives kept in the queue
    moco_momentum: float = 0.99  # moco: key encoder EMA
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
        validate(self)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def identity(self) -> dict:
        """What the run computes, and nothing else: the data, the model, the method and the loss with the
        parameters that are active for them, the optimisation, the evaluation protocol and the seed.

        Fields that only say where data is read from or how fast a run goes (data_dir except for a folder
        dataset, download, device, amp, channels_last, compile, deterministic) and parameters of losses,
        methods or schedules that are not in use are left out, so changing them, or adding a new field,
        renames no run.
        """
        c = self
        data = {"dataset": c.dataset, "image_size": c.image_size, "subset_per_class": c.subset_per_class,
                "subset_total": c.subset_total, "crop_min_scale": float(c.crop_min_scale)}
        if c.dataset.endswith("-lt"):
            data["imbalance_ratio"] = float(c.imbalance_ratio)
        if c.dataset in ("digits", "digits-lt", "folder"):
            data["test_fraction"] = float(c.test_fraction)
        if c.dataset == "folder":
            data["data_dir"] = _folder_key(c.data_dir)
        method = {"name": c.method}
        if c.method == "moco":
            method |= {"queue_size": c.queue_size, "moco_momentum": float(c.moco_momentum)}
        return {
            "data": data,
            "model": {"name": c.model, "out_dim": c.out_dim},
            "method": method,
            "loss": {"name": c.loss} | _loss_identity(c),
            "optimisation": {"epochs": c.epochs, "batch_size": c.batch_size, "optimizer": c.optimizer, "lr": float(c.lr),
                             "momentum": float(c.momentum), "weight_decay": float(c.weight_decay),
                             "warmup_epochs": c.warmup_epochs},
            "evaluation": {"eval_every": c.eval_every, "knn_k": c.knn_k, "knn_t": float(c.knn_t)},
            "seed": c.seed,
        }

    def run_hash(self) -> str:
        """12 hex digits naming what this configuration computes: the sha256 of ``identity()``."""
        return hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()[:12]

    def run_name(self) -> str:
        """``<loss>-<run hash>``: the name of the run's folder in runs/ and results/."""
        return f"{self.loss}-{self.run_hash()}"

    def replace(self, **overrides) -> "TrainConfig":
        return from_dict(self.to_dict() | overrides)

    def dystress_profile(self) -> TemperatureProfile:
        """tau(s) of the DySTreSS settings (``tau_profile`` in [tau_min, tau_max]; shift and scale when shifted)."""
        shifted = self.tau_profile == "shifted_cosine"
        return TemperatureProfile(self.tau_profile, self.tau_min, self.tau_max, self.tau_shift if shifted else None,
                                  self.tau_scale if shifted else None)


def _profile_identity(c: TrainConfig) -> dict:
    profile = c.dystress_profile()
    shape = {"profile": c.tau_profile, "tau_min": float(c.tau_min), "tau_max": float(c.tau_max),
             "detach_tau": c.detach_tau}
    if profile.shift is not None:
        shape |= {"tau_shift": float(profile.shift), "tau_scale": float(profile.scale)}
    return shape


def _temperature_identity(c: TrainConfig) -> dict:
    """The temperature of ntxent, dcl and hard: constant, a per-epoch schedule, or the DySTreSS profile."""
    if c.tau_schedule == "kukleva":
        return {"schedule": {"name": "kukleva", "tau_min": float(c.schedule_tau_min),
                             "tau_max": float(c.schedule_tau_max), "t_max": c.schedule_t_max}}
    if c.dynamic_tau:
        return {"dynamic": _profile_identity(c)}
    return {"temperature": float(c.temperature)}


def _loss_identity(c: TrainConfig) -> dict:
    """The parameters of ``c.loss`` that are in use."""
    if c.loss == "dystress":
        return _profile_identity(c)
    if c.loss == "ntxent":
        return _temperature_identity(c)
    if c.loss == "dcl":
        weights = {"weighted": True, "sigma": float(c.dcl_sigma)} if c.dcl_weighted else {"weighted": False}
        return _temperature_identity(c) | weights
    if c.loss == "hard":
        return _temperature_identity(c) | {"quantile": float(c.hard_quantile)}
    if c.loss == "macl":
        return {"temperature": float(c.temperature), "alpha": float(c.macl_alpha), "a0": float(c.macl_a0)}
    return {"tau_init": float(c.isogclr_tau_init), "tau_min": float(c.isogclr_tau_min),
            "tau_max": float(c.isogclr_tau_max), "rho": float(c.isogclr_rho), "gamma": float(c.isogclr_gamma),
            "eta": float(c.isogclr_eta), "beta_u": float(c.isogclr_beta_u)}


def _folder_key(data_dir: str) -> str:
    from .data import default_data_dir

    path = Path(data_dir).resolve()
    try:
        return "data:" + path.relative_to(default_data_dir().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


@functools.cache
def field_types() -> dict[str, object]:
    return typing.get_type_hints(TrainConfig)


def from_dict(values: dict) -> TrainConfig:
    """Build a config from a dict, rejecting unknown keys (and, in ``validate``, values of the wrong type)."""
    types = field_types()
    unknown = sorted(set(values) - set(types))
    if unknown:
        raise ValueError(f"unknown config key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                         f"known keys: {', '.join(types)}")
    as_float = lambda k, v: types[k] is float and type(v) is int  # noqa: E731  (an int is accepted for a float)
    return TrainConfig(**{k: float(v) if as_float(k, v) else v for k, v in values.items()})


def _one_of(key: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{key} must be one of {', '.join(allowed)}; got {value!r}")


def _positive(key: str, value: float, allow_zero: bool = False) -> None:
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{key} must be {'>= 0' if allow_zero else '> 0'} and finite, got {value!r}")


def validate(c: TrainConfig) -> None:
    """Every check that can be made before touching data; raises ValueError naming the key."""
    for key, value in c.to_dict().items():
        expected = field_types()[key]
        if not type_ok(value, expected):
            raise ValueError(f"config key {key!r} must be of type {type_name(expected)}, got {value!r} "
                             f"({type(value).__name__})")
    check_dataset_arguments(c.dataset, c.image_size, c.subset_per_class, c.subset_total, c.imbalance_ratio,
                            c.test_fraction)
    if c.dataset == "folder" and not c.data_dir:
        raise ValueError("dataset 'folder' needs data_dir")
    if not 0 < c.crop_min_scale <= 1:
        raise ValueError(f"crop_min_scale must lie in (0, 1], got {c.crop_min_scale}")
    _one_of("model", c.model, MODELS)
    _one_of("method", c.method, METHODS)
    _one_of("loss", c.loss, tuple(LOSSES))
    _one_of("tau_profile", c.tau_profile, TAU_PROFILES)
    _one_of("tau_schedule", c.tau_schedule, TAU_SCHEDULES)
    _one_of("optimizer", c.optimizer, OPTIMIZERS)
    _one_of("device", c.device, DEVICES)
    _positive("temperature", c.temperature)
    c.dystress_profile()
    if c.tau_profile != "shifted_cosine" and (c.tau_shift is not None or c.tau_scale is not None):
        raise ValueError("tau_shift and tau_scale apply only to tau_profile 'shifted_cosine'")
    if c.dynamic_tau and c.loss not in ("dcl", "hard"):
        raise ValueError(f"dynamic_tau applies to the losses dcl and hard, not {c.loss!r} (use loss 'dystress')")
    if c.tau_schedule != "none":
        if c.loss not in ("ntxent", "dcl", "hard") or c.dynamic_tau:
            raise ValueError("tau_schedule applies to a constant temperature: losses ntxent, dcl or hard "
                             "without dynamic_tau")
        check_temperature_range(c.schedule_tau_min, c.schedule_tau_max)
        _positive("schedule_t_max", c.schedule_t_max)
    _positive("dcl_sigma", c.dcl_sigma)
    if not 0 < c.hard_quantile <= 1:
        raise ValueError(f"hard_quantile must lie in (0, 1], got {c.hard_quantile}")
    check_temperature_range(c.isogclr_tau_min, c.isogclr_tau_max)
    if c.method == "moco":
        if c.loss not in ("ntxent", "dystress"):
            raise ValueError(f"method 'moco' supports the losses ntxent and dystress, not {c.loss!r}")
        if c.queue_size < 1:
            raise ValueError(f"queue_size must be >= 1 for method 'moco', got {c.queue_size}")
        if not 0 <= c.moco_momentum < 1:
            raise ValueError(f"moco_momentum must lie in [0, 1), got {c.moco_momentum}")
    for key in ("epochs", "batch_size", "eval_every", "knn_k", "out_dim"):
        if getattr(c, key) < 1:
            raise ValueError(f"{key} must be >= 1, got {getattr(c, key)}")
    if c.batch_size < 2:
        raise ValueError(f"batch_size must be >= 2 (a contrastive loss needs negatives), got {c.batch_size}")
    if c.warmup_epochs < 0 or c.warmup_epochs >= c.epochs:
        raise ValueError(f"warmup_epochs must lie in [0, epochs), got {c.warmup_epochs}")
    _positive("lr", c.lr)
    _positive("momentum", c.momentum, allow_zero=True)
    _positive("weight_decay", c.weight_decay, allow_zero=True)
    _positive("knn_t", c.knn_t)
    if not 0 <= c.seed <= MAX_SEED:
        raise ValueError(f"seed must lie in [0, {MAX_SEED}], got {c.seed}")


PROFILE_SETTINGS = {
    "smoke": dict(dataset="digits", model="small_cnn", crop_min_scale=0.5, epochs=15, batch_size=64, lr=0.1,
                  momentum=0.9, eval_every=5, knn_k=20),
    "small": dict(dataset="cifar10", model="small_cnn", subset_per_class=500, epochs=20, batch_size=128, lr=0.1,
                  momentum=0.9, eval_every=5),
    "paper": dict(dataset="cifar10", model="resnet18", epochs=200, batch_size=128, lr=0.2, momentum=0.0,
                  weight_decay=5e-4, loss="dystress", tau_min=0.07, tau_max=0.2, eval_every=5),
}


def resolve(profile: str = "smoke", **overrides) -> TrainConfig:
    """The profile's configuration with ``overrides`` applied (validated)."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}; got {profile!r}")
    return from_dict(PROFILE_SETTINGS[profile] | overrides)


def field_help() -> dict[str, str]:
    """The comment after each field of TrainConfig, for --help texts."""
    import inspect
    import re

    source = inspect.getsource(TrainConfig)
    return {m.group(1): m.group(2).strip() for m in re.finditer(r"^\s+(\w+): [^=]+= .*?#\s*(.*)$", source, re.M)}
