"""Evaluation of a trained encoder: features, kNN, a linear probe and the analysis bundle.

Protocol (fixed in advance, never tuned on the test set):
    kNN          weighted vote over the k = 200 nearest training features, weights exp(s / 0.1)
                 (InstDisc; the official DySTreSS monitor); top-1 and top-5 in %
    long tail    kNN@1 and kNN@10 (k = 1 and k = 10), mean per-class accuracy in %
    linear       a linear classifier on frozen backbone features, standardised with the training
                 set's mean and standard deviation: Adam, lr 1e-3, weight decay 1e-6, batch 512,
                 100 epochs, no augmentation (the official probe trains with augmentation; this one
                 is deterministic and takes seconds)

Accuracy is measured on the backbone features; uniformity, tolerance, alignment and the similarity
analyses on the normalised projections, the space where the loss (and its temperature) acts, as Wang &
Liu measure them. ``evaluation_bundle`` gathers everything the evaluation notebook plots into a small JSON summary and
compact arrays (similarity histograms, positive and top-10 negative similarities and a 2-D t-SNE of at
most ``max_points`` test points): no model weights, well under 1 MB.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dystress.engine import run_folder
from dystress.engine.augment import CIFAR_MEAN, CIFAR_STD, SimCLRAugment, normalize
from dystress.engine.config import TrainConfig
from dystress.engine.data import DataSplits
from dystress.engine.devices import select_device
from dystress.engine.models import build_model
from dystress.mathematics import metrics

LINEAR_PROBE = {"optimizer": "adam", "lr": 1e-3, "weight_decay": 1e-6, "batch_size": 512, "epochs": 100}


@torch.no_grad()
def encode(model: nn.Module, images: Tensor, batch_size: int = 512, augment: SimCLRAugment | None = None,
           generator: torch.Generator | None = None, autocast: bool = False,
           stats: tuple[tuple[float, ...], tuple[float, ...]] = (CIFAR_MEAN, CIFAR_STD)) -> tuple[Tensor, Tensor]:
    """(features (N, f), embeddings (N, out_dim)): normalised backbone features, which kNN and linear probes
    evaluate, and normalised projections, the space the loss shapes; float32, on the images' device.

    images: uint8 (N, H, W, 3); eval mode. With ``augment`` each image is augmented once (for view
    statistics), drawing from ``generator`` (a generator on the images' device) or the global RNG; without, it
    is only normalised with ``stats`` (per-channel mean, std: those the model was trained with).
    """
    was_training = model.training
    model.eval()
    core = getattr(model, "module", model)
    features, embeddings = [], []
    for start in range(0, images.shape[0], batch_size):
        batch = images[start : start + batch_size]
        x = augment(batch, generator) if augment is not None else normalize(batch, *stats)
        with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=autocast):
            h, z = core(x)
        features.append(h.float())
        embeddings.append(z.float())
    model.train(was_training)
    return torch.cat(features), torch.cat(embeddings)


def long_tail_knn(train_x: Tensor, train_y: Tensor, test_x: Tensor, test_y: Tensor, t: float = 0.1,
                  num_classes: int | None = None) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """kNN@1 and kNN@10 (k = 1, 10; InstDisc weighting): mean per-class accuracy (%) and per-class arrays."""
    summary, arrays = {}, {}
    for k in (1, 10):
        scores = metrics.knn_scores(train_x, train_y, test_x, k=min(k, train_x.shape[0]), t=t, num_classes=num_classes)
        per_class = metrics.per_class_accuracy(scores.argmax(dim=1), test_y, num_classes)
        summary[f"knn{k}_mean_class"] = per_class.nanmean().item()
        arrays[f"knn{k}_per_class"] = per_class.cpu().numpy().astype(np.float32)
    return summary, arrays


def linear_probe(train_x: Tensor, train_y: Tensor, test_x: Tensor, test_y: Tensor, num_classes: int,
                 seed: int = 0) -> dict[str, float]:
    """Top-1 / top-5 (%) of a linear classifier on frozen, standardised features (schedule: ``LINEAR_PROBE``)."""
    g = torch.Generator().manual_seed(seed)
    device = train_x.device
    mean, std = train_x.float().mean(dim=0), train_x.float().std(dim=0).clamp(min=1e-6)
    train_x, test_x = (train_x.float() - mean) / std, (test_x.float() - mean) / std
    head = nn.Linear(train_x.shape[1], num_classes).to(device)
    with torch.no_grad():
        bound = 1 / math.sqrt(train_x.shape[1])
        head.weight.copy_(torch.rand(head.weight.shape, generator=g) * 2 * bound - bound)
        head.bias.zero_()
    optimiser = torch.optim.Adam(head.parameters(), lr=LINEAR_PROBE["lr"], weight_decay=LINEAR_PROBE["weight_decay"])
    n, batch = train_x.shape[0], LINEAR_PROBE["batch_size"]
    for _ in range(LINEAR_PROBE["epochs"]):
        order = torch.randperm(n, generator=g).to(device)
        for start in range(0, n, batch):
            index = order[start : start + batch]
            loss = F.cross_entropy(head(train_x[index]), train_y[index])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
    with torch.no_grad():
        return metrics.top1_top5(head(test_x), test_y)


def _subsample(n: int, m: int, seed: int) -> Tensor:
    if n <= m:
        return torch.arange(n)
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:m].sort().values


def embedding_uniformity(embeddings: Tensor, seed: int, max_points: int = 10_000) -> float:
    """Uniformity of the embeddings (N, d), of a seeded subsample of ``max_points`` when N is larger: the one
    way the training history and the evaluation bundle measure it."""
    sample = _subsample(embeddings.shape[0], max_points, seed).to(embeddings.device)
    return metrics.uniformity(embeddings[sample])


def knn_summary(train_features: Tensor, train_labels: Tensor, features: Tensor, embeddings: Tensor, labels: Tensor,
                knn_k: int, knn_t: float, num_classes: int, seed: int) -> dict:
    """What both the per-epoch monitor and the bundle report of labelled data: {"knn": {top1, top5, k, t},
    "uniformity", "tolerance"}; k is capped at the number of training points."""
    k = min(knn_k, train_features.shape[0])
    knn = metrics.knn_accuracy(train_features, train_labels, features, labels, k=k, t=knn_t, num_classes=num_classes)
    return {"knn": knn | {"k": k, "t": knn_t}, "uniformity": embedding_uniformity(embeddings, seed),
            "tolerance": metrics.tolerance(embeddings, labels)}


def validation_knn(model: nn.Module, data: DataSplits, train_features: Tensor, knn_k: int, knn_t: float,
                   autocast: bool, stats: tuple[tuple[float, ...], tuple[float, ...]]) -> dict:
    """kNN top-1 / top-5 of the validation images against the remaining training images, the test protocol on
    data that choices may look at: {"knn": {top1, top5, k, t}, "num_points"}."""
    device = train_features.device
    features = encode(model, data.validation.images.to(device), autocast=autocast, stats=stats)[0]
    k = min(knn_k, train_features.shape[0])
    knn = metrics.knn_accuracy(train_features, data.train.labels.to(device), features,
                               data.validation.labels.to(device), k=k, t=knn_t, num_classes=len(data.train.classes))
    return {"knn": knn | {"k": k, "t": knn_t}, "num_points": int(features.shape[0])}


def evaluation_bundle(model: nn.Module, data: DataSplits, knn_k: int = 200, knn_t: float = 0.1,
                      max_points: int = 2000, linear: bool = True, tsne: bool = True, seed: int = 0,
                      autocast: bool = False,
                      stats: tuple[tuple[float, ...], tuple[float, ...]] = (CIFAR_MEAN, CIFAR_STD)
                      ) -> tuple[dict, dict[str, np.ndarray]]:
    """Evaluate ``model`` on ``data``; returns (summary: JSON-ready dict, arrays: name -> ndarray). Images are
    normalised with ``stats`` (per-channel mean, std), those the model was trained with.

    Label-free quantities (uniformity, alignment of two views, same-instance / other-instance similarity
    histograms) are always computed on the test split (or the training split when there is none);
    kNN, linear probe, tolerance and class-conditional histograms need labels and are skipped otherwise,
    with the reason recorded in ``summary["skipped"]``.
    """
    device = next(model.parameters()).device
    evaluated = data.test if data.test is not None else data.train
    labelled = data.train.labels is not None and evaluated.labels is not None
    images = evaluated.images.to(device)
    summary: dict = {"split": "test" if data.test is not None else "train", "num_points": int(images.shape[0]),
                     "classes": list(data.train.classes),
                     "skipped": []}
    if labelled and len(data.train.classes) < 2:
        labelled = False
        summary["skipped"].append(f"kNN, linear probe, tolerance and class histograms: accuracy needs at least two "
                                  f"classes, the data has one ({data.train.classes[0]!r})")
    arrays: dict[str, np.ndarray] = {}
    features, embeddings = encode(model, images, autocast=autocast, stats=stats)
    augment = SimCLRAugment(size=images.shape[1], mean=stats[0], std=stats[1])
    generator = torch.Generator(device=device).manual_seed(seed)
    view0 = encode(model, images, augment=augment, generator=generator, autocast=autocast)[1]
    view1 = encode(model, images, augment=augment, generator=generator, autocast=autocast)[1]
    summary["uniformity"] = embedding_uniformity(embeddings, seed)
    summary["alignment"] = metrics.alignment(view0, view1)
    labels = evaluated.labels.to(device) if labelled else None
    if labelled:
        train_features = encode(model, data.train.images.to(device), autocast=autocast, stats=stats)[0]
        train_labels = data.train.labels.to(device)
        num_classes = len(data.train.classes)
        summary |= knn_summary(train_features, train_labels, features, embeddings, labels, knn_k, knn_t, num_classes,
                               seed)
        summary["long_tail"], per_class = long_tail_knn(train_features, train_labels, features, labels, knn_t,
                                                        num_classes)
        arrays |= per_class
        arrays["train_class_counts"] = torch.bincount(data.train.labels, minlength=num_classes).numpy()
        if data.validation is not None:
            summary["validation"] = validation_knn(model, data, train_features, knn_k, knn_t, autocast, stats)
        if linear:
            summary["linear"] = linear_probe(train_features, train_labels, features, labels, num_classes, seed)
        summary["inter_class_uniformity"] = metrics.inter_class_uniformity(embeddings, labels)
    elif not summary["skipped"]:
        summary["skipped"].append("kNN, linear probe, tolerance and class histograms: the data has no labels")
    hist = metrics.similarity_histograms(view0, view1, labels, bins=100)
    arrays["hist_edges"] = hist.pop("edges").numpy()
    for name, counts in hist.items():
        arrays[f"hist_{name}"] = counts.numpy()
    emd_pairs = [("same_instance", "same_class"), ("same_class", "other_class"), ("same_instance", "other_class")] \
        if labelled else [("same_instance", "other_instance")]
    summary["emd"] = {f"{a}_vs_{b}": metrics.earth_movers_distance(hist[a], hist[b], torch.from_numpy(
        arrays["hist_edges"])) for a, b in emd_pairs}
    summary["similarity_means"] = {name: float((counts.numpy() * _centres(arrays["hist_edges"])).sum() / counts.sum())
                                   for name, counts in hist.items()}
    points = _subsample(features.shape[0], max_points, seed)
    positive, negatives = metrics.positive_negative_similarities(view0[points.to(device)], view1[points.to(device)],
                                                                 k=min(10, len(points) - 1))
    arrays["positive_similarity"] = positive.cpu().numpy().astype(np.float32)
    arrays["top_negative_similarity"] = negatives.cpu().numpy().astype(np.float32)
    summary["positive_vs_top10"] = {"positive_mean": positive.mean().item(), "top1_negative_mean":
                                    negatives[:, 0].mean().item(), "top10_negative_mean": negatives.mean().item()}
    if tsne and len(points) >= 10:
        from sklearn.manifold import TSNE

        embedded = TSNE(n_components=2, init="pca", random_state=seed, perplexity=min(30.0, (len(points) - 1) / 3),
                        ).fit_transform(features[points.to(device)].cpu().numpy())
        arrays["tsne"] = embedded.astype(np.float32)
        labels_shown = evaluated.labels[points].numpy() if labelled else np.zeros(len(points))
        arrays["tsne_labels"] = labels_shown.astype(np.int16)
    return summary, arrays


def negatives_histogram(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """The similarity histogram of every negative pair of a bundle (cross-view pairs of two different images):
    ``hist_same_class + hist_other_class`` when the data is labelled, else ``hist_other_instance``; (bins,)."""
    if "hist_other_class" in arrays:
        return arrays["hist_same_class"] + arrays["hist_other_class"]
    return arrays["hist_other_instance"]


def _centres(edges: np.ndarray) -> np.ndarray:
    return 0.5 * (edges[1:] + edges[:-1])


@dataclass
class Monitor:
    """The per-epoch evaluation of a training run: the training images as the kNN bank, the labelled test split;
    calling it measures ``knn_monitor`` on the model as it is."""

    train_labels: Tensor
    test_images: Tensor
    test_labels: Tensor
    num_classes: int

    def __call__(self, model: nn.Module, train_images: Tensor, config: TrainConfig, autocast: bool,
                 stats: tuple[tuple[float, ...], tuple[float, ...]]) -> dict:
        return knn_monitor(model, train_images, self.train_labels, self.test_images, self.test_labels, config,
                           self.num_classes, autocast, stats=stats)


def knn_monitor(model: nn.Module, images: Tensor, train_labels: Tensor, test_images: Tensor, test_labels: Tensor,
                config: TrainConfig, num_classes: int, autocast: bool,
                stats: tuple[tuple[float, ...], tuple[float, ...]] = (CIFAR_MEAN, CIFAR_STD)) -> dict:
    """Weighted kNN of the test images against the training images on backbone features (no augmentation),
    uniformity and tolerance of the test projections, measured as the evaluation bundle measures them; the
    local and global structure of the features: 1-NN accuracy (the class of the single nearest training
    feature) and the inter-class uniformity of the test projections' class centroids; and how long that took.
    Images are normalised with ``stats``, the run's per-channel (mean, std)."""
    t0 = time.perf_counter()
    bank = encode(model, images, autocast=autocast, stats=stats)[0]
    queries, embeddings = encode(model, test_images, autocast=autocast, stats=stats)
    summary = knn_summary(bank, train_labels, queries, embeddings, test_labels, config.knn_k, config.knn_t,
                          num_classes, config.seed)
    nearest = metrics.knn_accuracy(bank, train_labels, queries, test_labels, k=1, t=config.knn_t,
                                   num_classes=num_classes)["top1"]
    return {"knn_top1": summary["knn"]["top1"], "knn_top5": summary["knn"]["top5"],
            "uniformity": summary["uniformity"], "tolerance": summary["tolerance"], "knn1_top1": nearest,
            "inter_class_uniformity": metrics.inter_class_uniformity(embeddings, test_labels),
            "eval_seconds": time.perf_counter() - t0}


def load_model(run_dir: str | Path, device: str | torch.device | None = "cpu") -> tuple[nn.Module, TrainConfig, int]:
    """The trained model of a run folder (from its checkpoint, weights only), its configuration and the epoch
    the checkpoint ends; ``device`` None: the device the configuration names."""
    run_dir = Path(run_dir)
    config = run_folder.read_config(run_dir)
    state = run_folder.load_checkpoint(run_dir / run_folder.CHECKPOINT, config)
    model = build_model(config.model, config.out_dim)
    model.load_state_dict(state["model"])
    epoch = int(state["history"][-1]["epoch"]) if state["history"] else 0
    return model.to(select_device(config.device) if device is None else device).eval(), config, epoch
