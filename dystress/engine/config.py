"""Training configuration: one validated dataclass, three profiles, and the identity that names a run.

``resolve(profile, **overrides)`` starts from a profile and applies overrides; unknown keys and
ill-typed values are errors that name the key. The names are the notebook parameters' names. The loss's
own parameters are nested in ``loss_options`` (the loss class's ``Options``, solo-learn's ``method_kwargs``);
they are given flat (``tau_max=0.3``, ``--tau_max 0.3``) and land there, and a parameter of another loss
than the chosen one is an error.

Profiles (``PROFILES``: each the training settings of its runs, those of particular datasets, and what the
notebooks' studies choose at that scale):
    smoke   digits (embedded), small CNN, 5 epochs, batch 64, SGD momentum 0.9, crops of at least half
            the image (8x8 digits do not survive SimCLR's 8% crops), kNN k=20: seconds on a CPU; sentences: the
            embedded demonstration set (``sts-demo``)
    small   CIFAR-10 (1,000 training images per class, full test set), small CNN, crops of at least 20 %,
            18 epochs, batch 64, SGD lr 0.3 momentum 0.9, kNN monitor every 3 epochs: about 4 minutes
            alone on 2 CPU cores, 7-9 minutes two at a time (CIFAR-100: 100 images per class); sentences: the
            STS benchmarks with all-MiniLM-L6-v2
    paper   CIFAR-10, ResNet-18 (CIFAR stem), 200 epochs, batch 128, SGD lr 0.2 momentum 0 wd 5e-4,
            cosine LR per epoch, DySTreSS tau in [0.07, 0.2], kNN k=200 t=0.1: the paper's recipe, on a GPU;
            sentences from BERT (bert-base-uncased, downloads)

Sentence configurations (``SENTENCE_DATASETS``) train an ``encoder`` by unsupervised SimCSE
(``dystress.engine.sentences``) with SimCSE's recipe (``SENTENCES``); their identity holds what they compute:
the data, the encoder, the loss, the optimisation and the seed.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import typing
import warnings
from dataclasses import dataclass

from dystress import checks
from dystress.engine.augment import CIFAR_MEAN, CIFAR_STD, channel_statistics
from dystress.engine.data import (
    DATA_ROOT_PREFIX,
    DataSplits,
    check_dataset_arguments,
    data_path,
    load_dataset,
    portable_data_dir,
)
from dystress.engine.models import MODELS
from dystress.mathematics.losses import LOSSES, LossOptions, option_types
from dystress.options import help_of, option

NEGATIVES = ("batch", "queue")  # where negatives come from: the batch (SimCLR), or a momentum encoder's queue (MoCo)
OPTIMIZERS = ("sgd", "lars", "adamw")
SENTENCE_DATASETS = ("sts", "sts-demo")  # sentence embeddings (dystress.engine.sentences): the benchmarks, the demo
DEVICES = ("auto", "cpu", "cuda")
NORMALIZATIONS = ("cifar", "data")  # the channel statistics images are normalised with
MAX_SEED = 2**31 - 1  # seeds derived from it (per process, per split) stay below 2**32, which every library accepts


@dataclass(frozen=True)
class TrainConfig:
    # data
    dataset: str = option("cifar10", "digits | digits-lt | cifar10 | cifar100 | cifar10-lt | cifar100-lt | folder | "
                                     "sts | sts-demo (sentences)")
    data_dir: str = option("", "where the dataset is (empty: $DYSTRESS_DATA or data/)")
    image_size: int = option(32, "side of the (square) images")
    subset_per_class: int = option(0, "train on this many images per class (0 = all)")
    subset_total: int = option(0, "or on this many images in total (0 = all)")
    validation_per_class: int = option(0, "hold this many training images per class out for validation (0: none)")
    imbalance_ratio: float = option(0.01, "long-tailed datasets: n_min / n_max")
    test_fraction: float = option(0.2, "held-out share for datasets without a test split")
    download: bool = option(True, "let torchvision download CIFAR when it is missing")
    crop_min_scale: float = option(0.08, "smallest area fraction of RandomResizedCrop (SimCLR: 0.08)")
    normalization: str = option("cifar", "cifar: CIFAR-10's channel mean and std | data: those of the training images")
    # model
    model: str = option("resnet18", "resnet18 | small_cnn | cnn4")
    out_dim: int = option(128, "projection dimension")
    encoder: str = option("all-MiniLM-L6-v2", "sentences: the packaged all-MiniLM-L6-v2, or a Hugging Face model "
                                               "(downloads)")
    max_length: int = option(32, "sentences: tokens kept of each sentence")
    corpus: str = option("", "sentences: a text file of training sentences, one a line (empty: STS-B's and SICK's "
                             "training sentences)")
    eval_pairs: int = option(0, "sentences: evaluate on the first this many pairs of each set (0: all)")
    # method and loss
    negatives: str = option("batch", "batch: the other images of the batch (SimCLR) | queue: a MoCo queue")
    queue_size: int = option(4096, "queue: negatives kept in the queue")
    moco_momentum: float = option(0.99, "queue: the momentum of the key encoder (EMA)")
    loss: str = option("dystress", "a registered loss (dystress.mathematics.losses.LOSSES)")
    loss_options: LossOptions | None = option(None, "the loss's parameters (None: its defaults); given flat")
    # optimisation
    epochs: int = option(200, "training epochs")
    batch_size: int = option(128, "images per step (two views each), over all processes")
    optimizer: str = option("sgd", "sgd | lars | adamw")
    lr: float = option(0.2, "peak learning rate (cosine schedule over epochs)")
    momentum: float = option(0.0, "the paper's SGD has none")
    weight_decay: float = option(5e-4, "L2 weight decay")
    warmup_epochs: int = option(0, "linear warm-up before the cosine schedule")
    # evaluation during training
    eval_every: int = option(1, "kNN every this many epochs (and at the last one)")
    knn_k: int = option(200, "kNN neighbours")
    knn_t: float = option(0.1, "kNN temperature of the vote weights exp(s / t)")
    # execution
    seed: int = option(0, "seed of initialisation, data order, augmentation and splits")
    device: str = option("auto", "auto | cpu | cuda")
    amp: bool = option(True, "bf16 autocast on CUDA (the loss stays in fp32)")
    channels_last: bool = option(True, "NHWC memory format on CUDA")
    compile: bool = option(False, "torch.compile the model")
    deterministic: bool = option(False, "deterministic algorithms (slower)")

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
        if c.dataset in SENTENCE_DATASETS:
            return self._sentence_identity()
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
        method = {"name": "simclr" if c.negatives == "batch" else "moco"}  # the identity's words since the first runs
        if c.negatives == "queue":
            method |= {"queue_size": c.queue_size, "moco_momentum": float(c.moco_momentum)}
        optimisation = {"epochs": c.epochs, "batch_size": c.batch_size, "optimizer": c.optimizer, "lr": float(c.lr),
                        "momentum": float(c.momentum), "weight_decay": float(c.weight_decay),
                        "warmup_epochs": c.warmup_epochs}
        return {"data": data, "model": {"name": c.model, "out_dim": c.out_dim}, "method": method,
                "loss": {"name": c.loss} | c.loss_options.identity(), "optimisation": optimisation,
                "evaluation": {"eval_every": c.eval_every, "knn_k": c.knn_k, "knn_t": float(c.knn_t)}, "seed": c.seed}

    def _sentence_identity(self) -> dict:
        """A sentence run's identity: its data (and corpus), encoder, loss, optimisation and evaluation."""
        c = self
        data = {"dataset": c.dataset}
        if c.dataset == "sts":
            data["corpus"] = _folder_key(c.corpus) if c.corpus else "sts-b and sick training sentences"
        if c.eval_pairs:
            data["eval_pairs"] = c.eval_pairs
        model = {"encoder": c.encoder, "max_length": c.max_length}
        if c.epochs == 0:  # the encoder as shipped: no loss, optimisation or seed acts on it
            return {"data": data, "model": model, "optimisation": {"epochs": 0}}
        optimisation = {"epochs": c.epochs, "batch_size": c.batch_size, "optimizer": c.optimizer, "lr": float(c.lr),
                        "weight_decay": float(c.weight_decay)}
        return {"data": data, "model": model, "loss": {"name": c.loss} | c.loss_options.identity(),
                "optimisation": optimisation, "seed": c.seed}

    def run_hash(self) -> str:
        """12 hex digits naming what this configuration computes: the sha256 of ``identity()``."""
        return hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()[:12]

    def run_name(self) -> str:
        """``<loss>-<run hash>``: the name of the run's folder in runs/ and results/ (``shipped-<hash>`` for a
        sentence encoder as shipped, a run of 0 epochs)."""
        shipped = self.dataset in SENTENCE_DATASETS and self.epochs == 0
        return f"{'shipped' if shipped else self.loss}-{self.run_hash()}"

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
        for name, kind in option_types(cls.Options).items():
            found.setdefault(name, kind)
    return found


def _coerce(kind: object, value: object) -> object:
    return float(value) if kind is float and type(value) is int else value  # an int is accepted for a float


# names given up, each read for one more release: old name -> (new name, {old value: new value})
RENAMED = {"method": ("negatives", {"simclr": "batch", "moco": "queue"}), "tau_profile": ("tau_shape", {}),
           "dcl_weighted": ("weighted", {}), "dcl_sigma": ("sigma", {}), "hard_quantile": ("quantile", {}),
           "macl_alpha": ("alpha", {}), "macl_a0": ("a0", {}), "simple_weight": ("weight", {})}


def renamed(values: dict, warn: bool = True) -> dict:
    """``values`` with every name of ``RENAMED`` replaced by its new name (and value), saying so in a
    ``FutureWarning`` unless ``warn`` is False (a stored file)."""
    out = dict(values)
    for old, (new, new_values) in RENAMED.items():
        if old in out:
            value = out.pop(old)
            if warn:
                warnings.warn(f"{old} is now {new}; the old name is read for one more release", FutureWarning,
                              stacklevel=3)
            out.setdefault(new, new_values.get(value, value) if isinstance(value, str) else value)
    return out


def from_dict(values: dict, strict: bool = True, carried_options: bool = False) -> TrainConfig:
    """Build a config from a dict: TrainConfig's fields, the chosen loss's parameters flat or nested under
    ``loss_options``. Unknown keys are an error; so is a parameter of another loss unless ``strict`` is False
    (config.json files written before the options were nested hold every loss's parameters, and older names,
    ``RENAMED``, which a stored file gives without a warning). With ``carried_options``, nested options of
    another loss keep only those the chosen loss shares."""
    values = renamed(values, warn=strict)
    if isinstance(values.get("loss_options"), dict):
        values["loss_options"] = renamed(values["loss_options"], warn=strict)
    types = field_types()
    loss = values.get("loss", TrainConfig.loss)
    checks.one_of("loss", loss, tuple(LOSSES))
    options_type = LOSSES[loss].Options
    declared = option_types(options_type)
    nested = values.pop("loss_options", None) or {}
    if isinstance(nested, LossOptions):
        nested = dataclasses.asdict(nested)
    if not isinstance(nested, dict):
        raise ValueError(f"loss_options must be a dict of the loss's parameters, got {nested!r}")
    if carried_options:
        nested = {k: v for k, v in nested.items() if k in declared}
    other_losses = set(loss_parameters()) - set(declared)
    unknown, foreign = [], []
    for key in [k for k in values if k not in types]:
        if key in declared:
            nested[key] = values.pop(key)
        elif key in other_losses:
            values.pop(key)
            foreign.append(key)
        else:
            unknown.append(key)
    unknown += [k for k in nested if k not in declared]
    if unknown:
        known = [k for k in types if k != "loss_options"] + list(loss_parameters())
        raise ValueError(f"unknown config key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                         f"known keys: {', '.join(known)}")
    if foreign and strict:
        raise ValueError(f"{', '.join(foreign)} {'is not a parameter' if len(foreign) == 1 else 'are not parameters'}"
                         f" of loss {loss!r}; its parameters: {', '.join(declared) or 'none'}")
    options = options_type(**{k: _coerce(declared[k], v) for k, v in nested.items()})
    return TrainConfig(**{k: _coerce(types[k], v) for k, v in values.items()}, loss_options=options)


def validate(c: TrainConfig) -> None:
    """Every check that can be made before touching data; raises ValueError naming the key."""
    for key in field_types():
        if key != "loss_options":
            checks.matches(f"config key {key!r}", getattr(c, key), field_types()[key])
    if not isinstance(c.loss_options, LOSSES[c.loss].Options):
        raise ValueError(f"loss_options must be {LOSSES[c.loss].__name__}.Options for loss {c.loss!r}, got "
                         f"{type(c.loss_options).__name__}")
    if c.dataset in SENTENCE_DATASETS:
        validate_sentences(c)
        return
    check_dataset_arguments(c.dataset, c.image_size, c.subset_per_class, c.subset_total, c.imbalance_ratio,
                            c.test_fraction, c.validation_per_class)
    if c.dataset == "folder" and not c.data_dir:
        raise ValueError("dataset 'folder' needs data_dir")
    checks.number("crop_min_scale", c.crop_min_scale, above=0, at_most=1)
    checks.one_of("normalization", c.normalization, NORMALIZATIONS)
    checks.one_of("model", c.model, MODELS)
    checks.one_of("negatives", c.negatives, NEGATIVES)
    checks.one_of("optimizer", c.optimizer, OPTIMIZERS)
    checks.one_of("device", c.device, DEVICES)
    if c.negatives == "queue":
        banked = [name for name, cls in LOSSES.items() if cls.supports_memory_bank]
        if c.loss not in banked:
            raise ValueError(f"negatives 'queue' supports the losses {', '.join(banked)}, not {c.loss!r}")
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


@dataclass(frozen=True)
class Profile:
    """A run scale: the training settings every run of it starts from (over ``TrainConfig``'s defaults), the
    settings that depend on the dataset chosen (applied over those), and what the notebooks' studies choose at
    this scale (``choices``, read by ``dystress.pipeline.studies``: the methods compared, the seeds, the grids)."""

    training: dict
    by_dataset: dict = dataclasses.field(default_factory=dict)
    choices: dict = dataclasses.field(default_factory=dict)

    def settings(self, dataset: str | None = None) -> dict:
        """The training settings, with those of ``dataset`` (None: the profile's own dataset) over them."""
        dataset = dataset or self.training.get("dataset", TrainConfig.dataset)
        return self.training | self.by_dataset.get(dataset, {})


NINE = ("SimCLR", "DySTreSS", "DySTreSS*", "MACL", "DCL", "DCLW", "Hard", "Kukleva", "iSogCLR")
SHIFTED_CROSS = ((-0.6, 0.7), (-0.4, 0.7), (-0.2, 0.7), (0.0, 0.7), (-0.4, 0.5), (-0.4, 1.0))  # [shift, scale]
CONSTANT_TAUS = (0.07, 0.2, 0.3, 0.7, 1.0)  # Wang & Liu's temperatures, and the official 0.2
# notebook 06's ablations: the paper's shapes of tau(s), the gradient through tau(s), and Wang & Liu's tau -> inf
ABLATIONS = ("DySTreSS-linear", "DySTreSS-exponential", "DySTreSS-grad", "Simple")

def validate_sentences(c: TrainConfig) -> None:
    """The checks of a sentence configuration (``SENTENCE_DATASETS``): in-batch negatives, AdamW."""
    checks.one_of("negatives", c.negatives, ("batch",))
    checks.one_of("optimizer", c.optimizer, ("adamw",))
    if LOSSES[c.loss].per_sample_state:
        raise ValueError(f"loss {c.loss!r} keeps per-sample state; sentence runs take the in-batch losses")
    checks.integer("epochs", c.epochs, minimum=0)  # 0: the encoder as shipped
    checks.integer("max_length", c.max_length, minimum=1)
    checks.integer("eval_pairs", c.eval_pairs, minimum=0)
    if c.batch_size < 2:
        raise ValueError(f"batch_size must be >= 2 (a contrastive loss needs negatives), got {c.batch_size}")
    checks.number("lr", c.lr, above=0)
    checks.number("weight_decay", c.weight_decay, at_least=0)
    checks.one_of("device", c.device, DEVICES)
    checks.integer("seed", c.seed, minimum=0, maximum=MAX_SEED)
    if not c.encoder:
        raise ValueError("encoder must name a sentence encoder, e.g. all-MiniLM-L6-v2 or bert-base-uncased")


# unsupervised SimCSE's recipe (Gao et al.; the official DySTreSS code's SimCSE runs): AdamW at 3e-5 without weight
# decay, batch 64, one epoch, sentences of at most 32 tokens
SENTENCES = dict(optimizer="adamw", lr=3e-5, weight_decay=0.0, batch_size=64, epochs=1, max_length=32, momentum=0.0)

PROFILES = {  # the run scales; each notebook and `dystress train` start from one of them
    "smoke": Profile(
        training=dict(dataset="digits", model="small_cnn", crop_min_scale=0.5, epochs=5, batch_size=64, lr=0.1,
                      momentum=0.9, eval_every=5, knn_k=20),
        by_dataset={"sts-demo": SENTENCES},
        choices=dict(methods=("SimCLR", "DySTreSS", "MACL", "DCL", "Hard", "Kukleva"), seeds=(0,),
                     sweep_seeds=(0,), grid_seeds=(0,), taus=CONSTANT_TAUS, tau_mins=(0.05, 0.07, 0.1),
                     tau_maxs=(0.2,), shifted=((-0.4, 0.7), (0.0, 0.7)), long_tail="digits-lt",
                     imbalance_ratio=0.1, datasets=("digits",), sentences="sts-demo", sentence_taus=(0.05, 1.0),
                     ablations=("DySTreSS-linear", "Simple"), queue_methods=("MoCo", "Hard-MoCo")),
    ),
    "small": Profile(  # chosen by benchmarks/small_recipe.py
        training=dict(dataset="cifar10", model="small_cnn", subset_per_class=1000, crop_min_scale=0.2, epochs=18,
                      batch_size=64, lr=0.3, momentum=0.9, eval_every=3),
        # small CIFAR-100 keeps small CIFAR-10's 10,000 training images (100 per class), its long tail is the
        # standard CIFAR-100-LT, drawn from all 500 images per class (10,847 images at ratio 0.01), and a user's
        # folder is used whole
        by_dataset={"cifar100": dict(subset_per_class=100), "cifar100-lt": dict(subset_per_class=0),
                    "folder": dict(subset_per_class=0), "sts": SENTENCES},
        choices=dict(methods=NINE, seeds=(0, 1, 2), sweep_seeds=(0, 1, 2), grid_seeds=(0, 1, 2),
                     taus=CONSTANT_TAUS, tau_mins=(0.05, 0.07, 0.1), tau_maxs=(0.2, 0.5, 1.0), shifted=SHIFTED_CROSS,
                     long_tail="cifar10-lt", imbalance_ratio=0.01, datasets=("cifar10", "cifar100", "cifar10-lt"),
                     sentences="sts", sentence_taus=(0.01, 0.05, 0.1, 1.0), ablations=ABLATIONS,
                     queue_methods=("MoCo", "Hard-MoCo")),
    ),
    "paper": Profile(
        training=dict(dataset="cifar10", model="resnet18", epochs=200, batch_size=128, lr=0.2, momentum=0.0,
                      weight_decay=5e-4, loss="dystress", tau_min=0.07, tau_max=0.2, eval_every=5),
        # sentences at the paper's scale: SimCSE's start, BERT, and its corpus, wiki1m (a file: `corpus`)
        by_dataset={"sts": SENTENCES | dict(encoder="bert-base-uncased")},
        choices=dict(methods=("SimCLR", "DySTreSS"), seeds=(0, 1, 2), sweep_seeds=(0, 1, 2), grid_seeds=(0, 1, 2),
                     taus=CONSTANT_TAUS, tau_mins=(0.05, 0.07, 0.1), tau_maxs=(0.2,), shifted=SHIFTED_CROSS,
                     long_tail="cifar10-lt", imbalance_ratio=0.01, datasets=("cifar10", "cifar100", "cifar10-lt"),
                     sentences="sts", sentence_taus=(0.01, 0.05, 0.1, 1.0), ablations=ABLATIONS,
                     queue_methods=("MoCo", "Hard-MoCo")),
    ),
}


def resolve(profile: str = "smoke", **overrides) -> TrainConfig:
    """The profile's configuration with ``overrides`` applied (validated). A loss parameter the profile sets
    is dropped when ``overrides`` choose a loss without it; one given in ``overrides`` must belong to the loss.
    The profile's settings for the chosen dataset (``Profile.by_dataset``) apply before ``overrides``."""
    checks.one_of("profile", profile, tuple(PROFILES))
    settings = PROFILES[profile].settings(overrides.get("dataset"))
    loss = overrides.get("loss", settings.get("loss", TrainConfig.loss))
    checks.one_of("loss", loss, tuple(LOSSES))
    own = option_types(LOSSES[loss].Options)
    kept = {k: v for k, v in settings.items() if k in field_types() or k in own}
    return from_dict(kept | overrides)


def field_help() -> dict[str, str]:
    """The help of each field of TrainConfig and of every registered loss's options (their ``option`` metadata),
    for --help texts."""
    helps: dict[str, str] = {}
    for cls in (TrainConfig, *(loss.Options for loss in LOSSES.values())):
        helps |= {name: text for name, text in help_of(cls).items() if name not in helps}
    return helps



def normalization_statistics(c: TrainConfig, data: DataSplits) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The per-channel (mean, std) a run normalises its images with: CIFAR-10's, or its training images'."""
    if c.normalization == "data":
        return channel_statistics(data.train.images)
    return CIFAR_MEAN, CIFAR_STD


def load_data(c: TrainConfig) -> DataSplits:
    """The dataset a configuration trains and is evaluated on."""
    return load_dataset(c.dataset, c.data_dir, c.image_size, c.subset_per_class, c.subset_total, c.imbalance_ratio,
                        c.test_fraction, c.download, c.seed, c.validation_per_class)
