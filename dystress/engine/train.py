"""Contrastive pretraining: build everything from a TrainConfig, train epoch by epoch, resume after a stop.

One epoch: a random order of the training images (the last incomplete batch is dropped); for each
batch, two augmented views on the device, one forward pass per view, the loss, backward, the optimiser
step. The learning rate follows a cosine over epochs (after an optional linear warm-up) and is set at
the start of each epoch, as the official code's per-epoch scheduler; a temperature schedule is evaluated
before every step at the step's fractional epoch (``loss_fn.set_progress``), and the metrics' temperature
column is its mean over the epoch's steps. Nothing inside an epoch waits for the device: the loss and the
temperature statistics are summed on the device and read once per epoch.

The parts: ``build`` (model, loss, optimiser, data on the device), ``restore`` (a checkpoint),
``prepare_step_model`` (compile, DDP), ``train_epoch`` and ``save``; ``train`` drives them. After every
epoch checkpoint.pt (model, optimiser, loss state, RNG states and the metrics so far) and metrics.csv are
replaced atomically and the manifest's segment is brought up to date (``dystress.engine.run_folder``).
Running the same configuration on the same folder resumes after the last completed epoch, and ends with
the same metrics as an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch import Tensor, nn

from dystress import checks
from dystress.atomic import replacing, write_text
from dystress.engine import run_folder
from dystress.engine.augment import SimCLRAugment
from dystress.engine.config import TrainConfig, load_data, normalization_statistics
from dystress.engine.data import DataSplits
from dystress.engine.devices import select_device
from dystress.engine.evaluate import Monitor
from dystress.engine.models import TwoViews, build_model
from dystress.engine.run_folder import COLUMNS, history_csv
from dystress.mathematics.losses import LOSSES, ContrastiveLoss, ContrastiveOutput


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""




def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed torch's CPU and CUDA generators; optionally ask for deterministic algorithms."""
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    elif torch.cuda.is_available():
        torch.backends.cudnn.benchmark = True


def build_loss(c: TrainConfig, num_samples: int, distributed: bool = False) -> ContrastiveLoss:
    """The loss named by ``c.loss``, built by its class from ``c.loss_options`` (a MoCo queue with method moco)."""
    queue = c.queue_size if c.negatives == "queue" else 0
    return LOSSES[c.loss].from_options(c.loss_options, num_samples=num_samples, queue_size=queue,
                                       gather_distributed=distributed)


def learning_rate(c: TrainConfig, epoch: int) -> float:
    """Linear warm-up over ``warmup_epochs``, then lr * (1 + cos(pi e / E)) / 2 over the remaining epochs."""
    if epoch < c.warmup_epochs:
        return c.lr * (epoch + 1) / c.warmup_epochs
    progress = (epoch - c.warmup_epochs) / (c.epochs - c.warmup_epochs)
    return 0.5 * c.lr * (1 + math.cos(math.pi * progress))


class LARS(torch.optim.Optimizer):
    """SGD with momentum and LARS trust ratios (You et al. 2017) for groups with ``lars=True``.

    For such a weight w with gradient g: d = g + wd w, d <- d * eta ||w|| / ||d|| (when both norms are
    positive); then momentum buffer b <- m b + d and w <- w - lr b. Written without host synchronisation.
    """

    def __init__(self, params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0, eta: float = 0.02):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, eta=eta, lars=True))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                d = p.grad
                if group["lars"]:
                    d = d.add(p, alpha=group["weight_decay"])
                    w_norm, d_norm = p.norm(), d.norm()
                    trust = torch.where((w_norm > 0) & (d_norm > 0), group["eta"] * w_norm / d_norm,
                                        torch.ones_like(w_norm))
                    d = d * trust
                buffer = self.state[p].get("momentum")
                if buffer is None:
                    buffer = self.state[p]["momentum"] = torch.zeros_like(p)
                buffer.mul_(group["momentum"]).add_(d)
                p.add_(buffer, alpha=-group["lr"])


def build_optimizer(c: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    """SGD (the paper: momentum 0, weight decay on every parameter) or LARS (weights only; biases and
    BatchNorm parameters without weight decay or trust ratio, as in solo-learn and SimCLR)."""
    if c.optimizer == "sgd":
        fused = {"fused": True} if next(model.parameters()).is_cuda else {}
        return torch.optim.SGD(model.parameters(), lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay, **fused)
    weights = [p for p in model.parameters() if p.ndim > 1]
    others = [p for p in model.parameters() if p.ndim <= 1]
    return LARS([{"params": weights}, {"params": others, "lars": False, "weight_decay": 0.0}], lr=c.lr,
                momentum=c.momentum or 0.9, weight_decay=c.weight_decay)


def temperature_statistics(out: ContrastiveOutput) -> tuple[Tensor, Tensor, Tensor]:
    """The temperatures a loss used: sums (positive sum, count, negative sum, count), lows and highs
    (minimum, maximum of positives, of negatives); device tensors, no host synchronisation."""
    t = out.temperature.detach()
    pos, mask = t.gather(1, out.positive_index[:, None]), out.negative_mask
    sums = torch.stack([pos.sum(), torch.tensor(pos.numel(), device=t.device, dtype=t.dtype),
                        torch.where(mask, t, 0).sum(), mask.sum().to(t.dtype)])
    lows = torch.stack([pos.min(), torch.where(mask, t, math.inf).min()])
    highs = torch.stack([pos.max(), torch.where(mask, t, -math.inf).max()])
    return sums, lows, highs


QUANTILES = (0.1, 0.5, 0.9)  # of the temperatures of the epoch's last batch, per kind of pair


def temperature_quantiles(out: ContrastiveOutput) -> dict[str, float | None]:
    """The 10th, 50th and 90th percentiles of the temperatures of one batch's positive pairs and of its negative
    pairs: {"tau_pos_q10", ..., "tau_neg_q90"} (negatives None when the loss has none)."""
    t = out.temperature.detach().float()
    pos = t.gather(1, out.positive_index[:, None]).flatten()
    neg = t[out.negative_mask]
    levels = torch.tensor(QUANTILES, device=t.device)
    row = dict(zip((f"tau_pos_q{round(100 * q)}" for q in QUANTILES), torch.quantile(pos, levels).tolist()))
    values = torch.quantile(neg, levels).tolist() if neg.numel() else [None] * len(QUANTILES)
    return row | dict(zip((f"tau_neg_q{round(100 * q)}" for q in QUANTILES), values))


def contrastive_loss(views_model: nn.Module, key_model: nn.Module | None, loss_fn: nn.Module, v0: Tensor, v1: Tensor,
                     index: Tensor, autocast: bool) -> ContrastiveOutput:
    """Forward both views (one pass each; the key encoder for v1 with MoCo) and evaluate the loss in fp32 (or fp64)."""
    with torch.autocast(device_type=v0.device.type, dtype=torch.bfloat16, enabled=autocast):
        if key_model is None:
            z0, z1 = views_model(v0, v1)
        else:
            z0 = views_model(v0)[1]
            with torch.no_grad():
                z1 = key_model(v1)[1]
    at_least_fp32 = lambda z: z.float() if z.dtype in (torch.float16, torch.bfloat16) else z  # noqa: E731
    return loss_fn(at_least_fp32(z0), at_least_fp32(z1), index, return_details=True)


@torch.no_grad()
def momentum_update(key_model: nn.Module, model: nn.Module, momentum: float) -> None:
    """key <- m key + (1 - m) query, parameter by parameter."""
    keys, queries = list(key_model.parameters()), list(model.parameters())
    torch._foreach_lerp_(keys, queries, 1 - momentum)




def _distributed_context(device_name: str) -> tuple[int, int, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, select_device(device_name)
    use_cuda = device_name != "cpu" and torch.cuda.is_available()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device("cuda", local) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    return dist.get_rank(), dist.get_world_size(), device


@dataclass
class Training:
    """What one training run holds between epochs (built by ``build``, restored by ``restore``)."""

    config: TrainConfig
    device: torch.device
    rank: int
    world: int
    model: nn.Module  # the encoder with its projection head; what checkpoints store
    key_model: nn.Module | None  # MoCo's momentum encoder
    step_model: nn.Module  # what a step calls: both views at once (or MoCo's query), compiled / DDP-wrapped
    loss_fn: nn.Module
    optimizer: torch.optim.Optimizer
    order: torch.Generator  # draws each epoch's order of the training images
    augment: SimCLRAugment
    images: Tensor  # the training images on the device, uint8 (N, H, W, 3)
    monitor: Monitor | None  # the labelled data of the per-epoch kNN; None for unlabelled data
    history: list[dict]

    @property
    def autocast(self) -> bool:
        return self.device.type == "cuda" and self.config.amp

    @property
    def channels_last(self) -> bool:
        return self.device.type == "cuda" and self.config.channels_last

    def evaluate(self) -> dict:
        """The per-epoch kNN monitor on the model as it is (``evaluate.knn_monitor``)."""
        return self.monitor(self.model, self.images, self.config, self.autocast,
                            (self.augment.mean, self.augment.std))




def build(config: TrainConfig, data: DataSplits, device: torch.device, rank: int = 0, world: int = 1) -> Training:
    """Model, momentum encoder, loss, optimiser, augmentation and device data of a fresh run (seeded)."""
    seed_everything(config.seed, config.deterministic)
    order = torch.Generator().manual_seed(config.seed)
    model = build_model(config.model, config.out_dim).to(device)
    if device.type == "cuda" and config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    key_model = copy.deepcopy(model).requires_grad_(False) if config.negatives == "queue" else None
    loss_fn = build_loss(config, len(data.train), distributed=world > 1).to(device)
    optimizer = build_optimizer(config, model)
    labelled = data.train.labels is not None and data.test is not None and data.test.labels is not None
    monitor = None
    if labelled and len(data.train.classes) >= 2:
        monitor = Monitor(data.train.labels.to(device), data.test.images.to(device), data.test.labels.to(device),
                          len(data.train.classes))
    stats = normalization_statistics(config, data)
    augment = SimCLRAugment(size=config.image_size, scale=(config.crop_min_scale, 1.0), mean=stats[0], std=stats[1])
    return Training(config, device, rank, world, model, key_model, model, loss_fn, optimizer, order, augment,
                    data.train.images.to(device), monitor, [])


def restore(training: Training, state: dict) -> None:
    """Load a checkpoint's weights, optimiser and loss state, metrics and random states into ``training``."""
    training.model.load_state_dict(state["model"])
    if training.key_model is not None:
        training.key_model.load_state_dict(state["key_model"])
    training.loss_fn.load_state_dict(state["loss"])
    training.optimizer.load_state_dict(state["optimizer"])
    training.history = list(state["history"])
    torch.set_rng_state(state["rng"]["cpu"])
    training.order.set_state(state["rng"]["order"])
    if training.device.type == "cuda" and state["rng"]["cuda"] is not None:
        torch.cuda.set_rng_state(state["rng"]["cuda"], training.device)


def repair_metrics(run_dir: Path, history: list[dict]) -> None:
    """metrics.csv is the checkpoint's history written out after every epoch; one that no longer is (cut short,
    edited) is written again from the checkpoint, which holds every row."""
    path, expected = run_dir / run_folder.METRICS, history_csv(history)
    if not path.exists() or path.read_text() != expected:
        write_text(path, expected)


def prepare_step_model(training: Training) -> None:
    """What a step calls: both views through one module (or MoCo's query encoder), compiled when asked, and
    under torchrun with synchronised BatchNorm (CUDA) and DDP; each process draws its own augmentations."""
    config, model = training.config, training.model
    cuda = training.device.type == "cuda"
    if training.world > 1:
        torch.manual_seed(config.seed + 1000 * training.rank + len(training.history))
        if cuda:
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    step_model = TwoViews(model) if training.key_model is None else model
    if config.compile:
        step_model = torch.compile(step_model)
    if training.world > 1:
        step_model = nn.parallel.DistributedDataParallel(step_model, device_ids=[training.device] if cuda else None)
    training.step_model = step_model


def train_epoch(training: Training, epoch: int, bar) -> dict:
    """One epoch (0-based ``epoch``): the learning rate of the epoch, every full batch (each after the loss's
    ``set_progress(epoch + step / steps)``), and the epoch's metrics row (loss, temperatures used, seconds);
    raises ``TrainingDiverged`` on a non-finite loss."""
    config, device, model = training.config, training.device, training.model
    lr = learning_rate(config, epoch)
    for group in training.optimizer.param_groups:
        group["lr"] = lr
    model.train()
    t0 = time.perf_counter()
    n_train, per_rank = training.images.shape[0], config.batch_size // training.world
    steps = n_train // config.batch_size
    permutation = torch.randperm(n_train, generator=training.order).to(device)
    loss_sum, tau_sums = torch.zeros((), device=device), torch.zeros(4, device=device)
    tau_lows, tau_highs = torch.full((2,), math.inf, device=device), torch.full((2,), -math.inf, device=device)
    scheduled_sum = 0.0
    for step in range(steps):
        training.loss_fn.set_progress(epoch + step / steps)
        scheduled_sum += training.loss_fn.scheduled_temperature or 0.0
        start = step * config.batch_size + training.rank * per_rank
        index = permutation[start : start + per_rank]
        batch = training.images[index]
        v0, v1 = training.augment(batch), training.augment(batch)
        if training.channels_last:
            v0 = v0.contiguous(memory_format=torch.channels_last)
            v1 = v1.contiguous(memory_format=torch.channels_last)
        out = contrastive_loss(training.step_model, training.key_model, training.loss_fn, v0, v1, index,
                               training.autocast)
        training.optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        training.optimizer.step()
        if training.key_model is not None:
            momentum_update(training.key_model, model, config.moco_momentum)
        loss_sum += out.loss.detach()
        sums, lows, highs = temperature_statistics(out)
        tau_sums += sums
        tau_lows, tau_highs = torch.minimum(tau_lows, lows), torch.maximum(tau_highs, highs)
        bar.update(1)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    train_seconds = time.perf_counter() - t0
    mean_loss = (loss_sum / steps).item()
    if not math.isfinite(mean_loss):
        raise TrainingDiverged(f"non-finite loss ({mean_loss}) in epoch {epoch + 1}")
    (pos_sum, pos_count, neg_sum, neg_count), lows, highs = tau_sums.tolist(), tau_lows.tolist(), tau_highs.tolist()
    return {"epoch": epoch + 1, "loss": mean_loss, "lr": lr,
            "temperature": scheduled_sum / steps if training.loss_fn.scheduled_temperature is not None else None,
            "tau_pos_mean": pos_sum / pos_count, "tau_pos_min": lows[0], "tau_pos_max": highs[0],
            "tau_neg_mean": neg_sum / neg_count if neg_count else None,
            "tau_neg_min": lows[1] if neg_count else None, "tau_neg_max": highs[1] if neg_count else None,
            **temperature_quantiles(out),
            "knn_top1": None, "knn_top5": None, "train_seconds": train_seconds, "eval_seconds": 0.0,
            "images_per_s": steps * config.batch_size / train_seconds}


def save(training: Training, run_dir: Path) -> None:
    """checkpoint.pt and metrics.csv after an epoch, each replaced atomically."""
    state = {
        "config_hash": training.config.run_hash(),
        "config": training.config.to_dict(),
        "model": training.model.state_dict(),
        "key_model": training.key_model.state_dict() if training.key_model is not None else None,
        "loss": training.loss_fn.state_dict(),
        "optimizer": training.optimizer.state_dict(),
        "history": training.history,
        "rng": {"cpu": torch.get_rng_state(), "order": training.order.get_state(),
                "cuda": torch.cuda.get_rng_state(training.device) if training.device.type == "cuda" else None},
    }
    with replacing(run_dir / run_folder.CHECKPOINT) as tmp:
        try:
            torch.save(state, tmp)
        except RuntimeError as error:  # torch reports a failed write as its own RuntimeError ("inline_container")
            full = shutil.disk_usage(run_dir).free < 64 << 20
            raise OSError(errno.ENOSPC if full else errno.EIO, "No space left on device" if full else
                          f"could not write the checkpoint ({error})", str(run_dir / run_folder.CHECKPOINT)) from None
    write_text(run_dir / run_folder.METRICS, history_csv(training.history))


def _check_stop_after(stop_after: object) -> None:
    if stop_after is not None:
        checks.integer("stop_after", stop_after, minimum=1)


def train(config: TrainConfig, run_dir: str | Path, data: DataSplits | None = None, progress: bool = True,
          stop_after: int | None = None) -> list[dict]:
    """Train (or resume) the run of ``config`` in ``run_dir``; returns the per-epoch metrics.

    Everything that can be wrong with the inputs (data, batch size, the folder, an existing checkpoint) is
    checked before the run folder is created or changed; the folder is only adopted when it is new, empty or
    this run's own (``run_folder``), and its lock keeps a second process out. ``stop_after`` ends the call
    after that many epochs (the run can be resumed), for tests and time-boxed sessions. Under torchrun every
    process trains on its share of each batch, the loss gathers the embeddings of all processes, and
    process 0 writes.
    """
    _check_stop_after(stop_after)
    run_dir = Path(run_dir)
    rank, world, device = _distributed_context(config.device)
    if data is None:
        data = load_data(config)
    n_train = len(data.train)
    if config.batch_size > n_train:
        raise ValueError(f"batch_size={config.batch_size} exceeds the {n_train} training images of {data.name}")
    if config.batch_size % world:
        raise ValueError(f"batch_size={config.batch_size} must be divisible by the {world} processes")
    if LOSSES[config.loss].per_sample_state and world > 1:
        raise ValueError(f"loss {config.loss!r} keeps per-sample state and runs in a single process")
    run_folder.check_adoptable(run_dir, config)
    with run_folder.locked(run_dir) if rank == 0 else contextlib.nullcontext():
        run_folder.check_adoptable(run_dir, config)
        checkpoint_path = run_dir / run_folder.CHECKPOINT
        state = run_folder.load_checkpoint(checkpoint_path, config) if checkpoint_path.exists() else None
        training = build(config, data, device, rank, world)
        if state is not None:
            restore(training, state)
            if rank == 0:
                repair_metrics(run_dir, training.history)
        prepare_step_model(training)
        return _train_epochs(training, run_dir, stop_after, progress)


def _train_epochs(training: Training, run_dir: Path, stop_after: int | None, progress: bool) -> list[dict]:
    config, history, writer = training.config, training.history, training.rank == 0
    start_epoch = history[-1]["epoch"] if history else 0
    last = config.epochs if stop_after is None else min(config.epochs, start_epoch + stop_after)
    if last <= start_epoch:
        return history
    if writer:
        run_folder.write_config(run_dir, config)
        run_folder.invalidate_bundle(run_dir)
        segment = run_folder.new_segment(config, training.device, start_epoch, training.world)
    if training.monitor is not None and not history:
        history.append(dict.fromkeys(COLUMNS) | {"epoch": 0} | training.evaluate())  # the untrained model
    steps = len(training.images) // config.batch_size
    bar = _progress(total=(last - start_epoch) * steps, enabled=progress and writer)
    for epoch in range(start_epoch, last):
        try:
            row = train_epoch(training, epoch, bar)
        except TrainingDiverged as error:
            bar.close()
            kept = f"the last good checkpoint (epoch {history[-1]['epoch']}) is kept in {run_dir}" \
                if history and (run_dir / run_folder.CHECKPOINT).exists() else "no checkpoint was written"
            raise TrainingDiverged(f"{error}; {kept}. Lower the learning rate or raise the temperature.") from None
        if training.monitor is not None and ((epoch + 1) % config.eval_every == 0 or epoch + 1 == config.epochs):
            row.update(training.evaluate())
        history.append(row)
        bar.set_postfix(epoch=epoch + 1, loss=f"{row['loss']:.3f}",
                        knn=f"{row['knn_top1']:.1f}" if row["knn_top1"] is not None else "-")
        if writer:
            save(training, run_dir)
            run_folder.record_segment(run_dir, config, segment, epoch + 1, row["train_seconds"])
    bar.close()
    return history


def _progress(total: int, enabled: bool):
    """A tqdm bar (quiet under TQDM_DISABLE=1) that is only updated on the host, never waited on."""
    from tqdm import tqdm  # the text bar: works in terminals and notebooks alike, without widgets

    return tqdm(total=total, unit="step", dynamic_ncols=True, leave=False, mininterval=2.0,
                **({} if enabled else {"disable": True}))
