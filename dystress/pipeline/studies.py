"""Studies as data: the runs a notebook compares, computed or loaded once each, and what their results give.

A ``Point`` is one run of a study: a ``label`` (the same for every seed of a setting, e.g. "SimCLR" or
"SimCLR-tau0.3"), a ``seed``, the ``recipe`` it follows, its ``config`` and its ``coordinates`` (the values that
place it in the study: {"tau": 0.3}, {"tau_min": 0.07, "tau_max": 0.2}, {"shift": -0.4, "scale": 0.7}, ...).
A ``Study`` is a list of points; ``run(force)`` calls compute-or-load once per distinct run (two labels may name
the same run) and returns ``Results``: per-seed values, their spread, differences paired by seed with the
sentence that states them, summary rows, tables and grids.

The builders state each notebook's experiment from its parameters on top of a profile (``PROFILES``, whose
``choices`` hold each profile's defaults: the methods, seeds and grids):

    comparison(profile, methods, ...)   methods under one recipe (notebooks 04, 05, 08)
    constant_taus(profile, taus, ...)   SimCLR at constant temperatures (06, 10)
    sweep(profile, taus, ...)           those and the DySTreSS grid (06)
    shifted(profile, pairs, ...)        DySTreSS's shifted function over [shift, scale], with references (06)
    long_tail(profile, ...)             SimCLR, DySTreSS and the Kukleva schedule on a long-tailed set (07)
    sentences(profile, methods, ...)    unsupervised SimCSE with each method's temperature, on STS (09)

Notebooks build studies and narrate their results; no notebook runs another.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from dystress import checks
from dystress.engine import sts
from dystress.engine.config import MAX_SEED, PROFILES, TrainConfig, resolve
from dystress.engine.data import DataSplits
from dystress.pipeline import recipes, runs, summary
from dystress.pipeline import statistics as stats
from dystress.pipeline.recipes import Settings

SEED_CHOICES = ("seeds", "sweep_seeds", "grid_seeds")


def _last(result: runs.RunResult, column: str) -> float | None:
    """The last epoch's value of a metrics.csv ``column`` (None where no epoch has one)."""
    return next((h[column] for h in reversed(result.history) if h.get(column) is not None), None)


def _sts(task: str) -> Callable[[runs.RunResult], float | None]:
    """The getter of an STS task's Spearman x 100 from a sentence run's summary."""
    return lambda r: r.summary.get("sts", {}).get(task)


# what a run's result gives per seed: metric -> (name, getter of a RunResult)
METRICS: dict[str, tuple[str, Callable[[runs.RunResult], float | None]]] = {
    "knn_top1": ("kNN top-1", lambda r: r.summary.get("knn", {}).get("top1")),
    "knn_top5": ("kNN top-5", lambda r: r.summary.get("knn", {}).get("top5")),
    "linear_top1": ("linear top-1", lambda r: r.summary.get("linear", {}).get("top1")),
    "knn1_mean_class": ("kNN@1 mean per class", lambda r: r.summary.get("long_tail", {}).get("knn1_mean_class")),
    "knn10_mean_class": ("kNN@10 mean per class", lambda r: r.summary.get("long_tail", {}).get("knn10_mean_class")),
    "neg_uniformity": ("-uniformity", lambda r: -r.summary["uniformity"]),
    "neg_inter_class_uniformity": ("-inter-class uniformity", lambda r: -r.summary["inter_class_uniformity"]
                                   if r.summary.get("inter_class_uniformity") is not None else None),
    "tolerance": ("tolerance", lambda r: r.summary.get("tolerance")),
    "emd_positive_same_class": ("EMD positives / same class",
                                lambda r: r.summary.get("emd", {}).get("same_instance_vs_same_class")),
    "emd_same_other_class": ("EMD same / other class",
                             lambda r: r.summary.get("emd", {}).get("same_class_vs_other_class")),
    "final_loss": ("final loss", lambda r: _last(r, "loss")),
    "tau_positive": ("positives' mean tau", lambda r: _last(r, "tau_pos_mean")),
    "tau_negative": ("negatives' mean tau", lambda r: _last(r, "tau_neg_mean")),
    "untrained_knn": ("untrained kNN top-1", lambda r: r.history[0]["knn_top1"] if r.history else None),
    "signal": ("kNN signal", lambda r: r.summary["knn"]["top1"] - r.history[0]["knn_top1"] if r.history
               and r.history[0].get("knn_top1") is not None else None),
    "train_seconds": ("train s", lambda r: r.manifest.get("train_seconds")),
    "positive": ("positive similarity", lambda r: r.summary.get("positive_vs_top10", {}).get("positive_mean")),
    "nearest_negative": ("nearest negative",
                         lambda r: r.summary.get("positive_vs_top10", {}).get("top1_negative_mean")),
    "top10_negatives": ("10 nearest negatives",
                        lambda r: r.summary.get("positive_vs_top10", {}).get("top10_negative_mean")),
    "sts_avg": ("STS average", _sts("avg")),
    **{f"sts_{task}": (task, _sts(task)) for task in sts.TASKS},
    "alignment": ("alignment", lambda r: r.summary.get("alignment")),
    "uniformity": ("uniformity", lambda r: r.summary.get("uniformity")),
}
POINTS = ("knn_top1", "knn_top5", "linear_top1", "knn1_mean_class", "knn10_mean_class", "untrained_knn", "signal",
          "sts_avg",
          *(f"sts_{task}" for task in sts.TASKS))  # metrics in percent: their differences are in points


def choice(profile: str, key: str):
    """What ``profile`` chooses for ``key`` (``Profile.choices``: "methods", "seeds", "taus", ...)."""
    checks.one_of("profile", profile, tuple(PROFILES))
    return PROFILES[profile].choices[key]


def check_seeds(seeds: Sequence[int]) -> list[int]:
    """``seeds`` if it lists at least one seed, each a valid seed, none twice; else a ValueError naming them."""
    if not seeds:
        raise ValueError("seeds must list at least one seed, got []")
    for seed in seeds:
        checks.integer("seed", seed, minimum=0, maximum=MAX_SEED)
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {list(seeds)}")
    return list(seeds)


def seed_list(profile: str, seeds: Sequence[int] | None = None, kind: str = "seeds") -> list[int]:
    """``seeds`` if given, else the profile's choice ``kind``: "seeds" (04, 05, 07), "sweep_seeds" (06's constant
    temperatures) or "grid_seeds" (06's DySTreSS grid and shifted functions)."""
    checks.one_of("kind", kind, SEED_CHOICES)
    return check_seeds(list(seeds) if seeds else list(choice(profile, kind)))


def base_config(profile: str, dataset: str = "", data_dir: str = "", epochs: int = 0, seed: int = 0,
                **overrides) -> TrainConfig:
    """The profile's training configuration for a notebook ("" and 0 mean: the profile's choice)."""
    checks.one_of("profile", profile, tuple(PROFILES))
    training = PROFILES[profile].settings(dataset or None)
    settings = {"dataset": dataset or training["dataset"], "epochs": epochs or training["epochs"], "seed": seed}
    if data_dir:
        settings["data_dir"] = data_dir
    return resolve(profile, **(settings | overrides))


@dataclass(frozen=True)
class Point:
    """One run of a study (see the module docstring)."""

    label: str
    seed: int
    recipe: str
    config: TrainConfig
    coordinates: dict = field(default_factory=dict)


@dataclass
class Study:
    """The runs a notebook compares: ``points``, and the notebook (``name``) whose summary rows they make."""

    name: str
    points: list[Point]

    def __add__(self, other: "Study") -> "Study":
        return Study(self.name, self.points + other.points)

    @property
    def labels(self) -> list[str]:
        return list(dict.fromkeys(p.label for p in self.points))

    def seeds(self, label: str | None = None) -> list[int]:
        return list(dict.fromkeys(p.seed for p in self.points if label is None or p.label == label))

    def replace(self, label: str, **overrides) -> "Study":
        """The study with ``overrides`` applied to the configuration of every point of ``label``."""
        return Study(self.name, [dataclasses.replace(p, config=p.config.replace(**overrides)) if p.label == label
                                 else p for p in self.points])

    def where(self, **coordinates) -> list[Point]:
        """The points whose coordinates hold every given value (``recipe`` included)."""
        def matches(p: Point) -> bool:
            return all((p.recipe if k == "recipe" else p.coordinates.get(k)) == v for k, v in coordinates.items())
        return [p for p in self.points if matches(p)]

    def run_names(self) -> list[str]:
        """The distinct runs the study needs, in order."""
        return list(dict.fromkeys(p.config.run_name() for p in self.points))

    def run(self, force: bool = False, train: bool = True, data: DataSplits | None = None,
            progress: bool = True) -> "Results":
        """Compute or load every distinct run once (``runs.compute_or_load``); with ``train`` False only stored
        results are read and the points without one are left out."""
        found: dict[str, runs.RunResult | None] = {}
        for point in self.points:
            name = point.config.run_name()
            if name not in found:
                found[name] = (runs.compute_or_load(point.config, data=data, force=force, progress=progress)
                               if train else runs.find_result(point.config))
        by_point = {(p.label, p.seed): found[p.config.run_name()] for p in self.points}
        return Results(self, {key: result for key, result in by_point.items() if result is not None})


def metric_name(metric: str) -> str:
    checks.one_of("metric", metric, tuple(METRICS))
    return METRICS[metric][0]


@dataclass
class Results:
    """The stored results of a study's points: {(label, seed): RunResult}."""

    study: Study
    found: dict[tuple[str, int], runs.RunResult]

    def __getitem__(self, key: tuple[str, int]) -> runs.RunResult:
        return self.found[key]

    @property
    def labels(self) -> list[str]:
        return [label for label in self.study.labels if any(k[0] == label for k in self.found)]

    def seeds(self, label: str | None = None) -> list[int]:
        return [s for s in self.study.seeds(label) if any((lab, s) in self.found for lab in
                                                           ([label] if label else self.labels))]

    def of(self, label: str) -> list[runs.RunResult]:
        """The results of ``label``, one per seed in order."""
        return [self.found[(label, s)] for s in self.study.seeds(label) if (label, s) in self.found]

    def distinct_seeds(self, label: str) -> list[int]:
        """The seeds of ``label`` whose runs differ (the first seed of each run: the encoder as shipped, for one,
        is the same run for every seed)."""
        first: dict[str, int] = {}
        for seed in self.seeds(label):
            first.setdefault(self.found[(label, seed)].folder, seed)
        return list(first.values())

    def values(self, label: str, metric: str) -> dict[int, float]:
        """{seed: metric} of ``label`` (seeds whose result lacks the metric are left out)."""
        get = METRICS[metric][1] if metric in METRICS else _unknown(metric)
        values = {s: get(self.found[(label, s)]) for s in self.study.seeds(label) if (label, s) in self.found}
        return {s: float(v) for s, v in values.items() if v is not None}

    def spread(self, label: str, metric: str) -> stats.Spread:
        return stats.spread(list(self.values(label, metric).values()))

    def paired(self, a: str, b: str, metric: str) -> stats.Paired:
        """b - a over the seeds both labels hold (``statistics.paired``)."""
        return stats.paired(self.values(a, metric), self.values(b, metric))

    def sentence(self, a: str, b: str, metric: str, names: dict[str, str] | None = None, digits: int = 2) -> str:
        """The generated sentence comparing ``b`` with ``a`` in ``metric`` (``Paired.sentence``); ``names``
        gives labels a reader's name."""
        names = names or {}
        unit = "points" if metric in POINTS else ""
        return self.paired(a, b, metric).sentence(names.get(b, b), names.get(a, a), metric_name(metric), digits,
                                                  unit=unit)

    def against(self, reference: str, labels: Iterable[str], metric: str, names: dict[str, str] | None = None,
                digits: int = 2) -> str:
        """The sentences of each of ``labels`` against ``reference``, as a Markdown list."""
        return stats.verdicts([self.sentence(reference, label, metric, names, digits) for label in labels
                               if label != reference])

    def rows(self, labels: Iterable[str] | None = None) -> list[dict]:
        """One summary row per stored (label, seed): the run's numbers (``summary_row``) and its coordinates."""
        chosen = set(labels) if labels is not None else None
        return [summary_row(self.study.name, p.label, self.found[(p.label, p.seed)]) | p.coordinates
                for p in self.study.points if (p.label, p.seed) in self.found and (chosen is None or p.label in chosen)]

    def table(self, columns: Sequence[tuple[str, int]], labels: Iterable[str] | None = None,
              header: str = "method") -> str:
        """A Markdown table: a row per label with n and "mean ± std" of each (metric, digits) of ``columns``."""
        shown = list(labels) if labels is not None else self.labels
        lines = ["| " + " | ".join([header, "n"] + [metric_name(m) for m, _ in columns]) + " |",
                 "|" + "---|" * (len(columns) + 2)]
        for label in shown:
            distinct = self.distinct_seeds(label)
            cells = [_mean_std([v for s, v in self.values(label, metric).items() if s in distinct], digits)
                     for metric, digits in columns]
            lines.append("| " + " | ".join([label, str(len(distinct))] + cells) + " |")
        return "\n".join(lines)

    def measures(self, metrics: Sequence[tuple[str, int]], labels: Iterable[str] | None = None) -> str:
        """A Markdown table with a row per (metric, digits) of ``metrics`` and a column per label (its n in the
        header): "mean ± std" over the label's distinct seeds, the transpose of ``table`` for many measures."""
        shown = list(labels) if labels is not None else self.labels
        distinct = {label: self.distinct_seeds(label) for label in shown}
        lines = ["| measure | " + " | ".join(f"{label} (n={len(distinct[label])})" for label in shown) + " |",
                 "|" + "---|" * (len(shown) + 1)]
        for metric, digits in metrics:
            cells = [_mean_std([v for s, v in self.values(label, metric).items() if s in distinct[label]], digits)
                     for label in shown]
            lines.append("| " + " | ".join([metric_name(metric)] + cells) + " |")
        return "\n".join(lines)

    def grid(self, rows: str, columns: str, metric: str, labels: Iterable[str] | None = None):
        """(row values, column values, mean (R, C), std (R, C)) of ``metric`` over the points placed by the
        coordinates ``rows`` and ``columns`` (NaN where a cell has no point, std NaN for one seed)."""
        chosen = [p for p in self.study.points if (labels is None or p.label in labels)
                  and rows in p.coordinates and columns in p.coordinates]
        row_values = sorted({p.coordinates[rows] for p in chosen})
        column_values = sorted({p.coordinates[columns] for p in chosen})
        mean = np.full((len(row_values), len(column_values)), np.nan)
        std = np.full_like(mean, np.nan)
        for label in dict.fromkeys(p.label for p in chosen):
            point = next(p for p in chosen if p.label == label)
            values = list(self.values(label, metric).values())
            if values:
                at = row_values.index(point.coordinates[rows]), column_values.index(point.coordinates[columns])
                mean[at] = float(np.mean(values))
                std[at] = float(np.std(values, ddof=1)) if len(values) > 1 else np.nan
        return row_values, column_values, mean, std

    def record(self, labels: Iterable[str] | None = None) -> None:
        """Show the summary rows of ``labels`` (None: all) as the notebook's summary output
        (``summary.record``), which ``dystress run`` gathers into its summary table."""
        summary.record(self.rows(labels))

    def provenance(self) -> str:
        """One line saying where the runs came from (``runs.provenance`` over the distinct runs)."""
        distinct = {r.folder: r for r in self.found.values()}
        return runs.provenance(distinct.values())


def _unknown(metric: str):
    raise ValueError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")


def _mean_std(values: list[float], digits: int) -> str:
    if not values:
        return "-"
    s = stats.spread(values)
    return f"{s.mean:.{digits}f}" if s.n == 1 else f"{s.mean:.{digits}f} ± {s.std:.{digits}f}"


def summary_row(notebook: str, label: str, result: runs.RunResult) -> dict:
    """One row of ``dystress run``'s summary table from a ``runs.RunResult``."""
    c = result.config
    row = {"notebook": notebook, "run": label, "seed": c.seed, "dataset": c.dataset, "model": c.model,
           "loss": c.loss, "temperature": c.loss_options.describe_temperature(), "epochs": c.epochs}
    row |= {metric: METRICS[metric][1](result) for metric in ("knn_top1", "linear_top1", "knn10_mean_class",
                                                               "neg_uniformity", "tolerance", "final_loss")}
    return row | {"source": result.source, "device": result.manifest.get("device"),
                  "train_seconds": result.manifest.get("train_seconds")}


def comparison(profile: str, methods: Sequence[str] | None = None, settings: Settings = Settings(),
               seeds: Sequence[int] | None = None, name: str = "04_pretraining", data_dir: str = "",
               dataset: str = "", epochs: int = 0, **overrides) -> Study:
    """Each of ``methods`` (None or empty: the profile's) under the profile's recipe, on each of ``seeds``."""
    chosen = recipes.check_methods(list(methods)) if methods else list(choice(profile, "methods"))
    points = []
    for seed in seed_list(profile, seeds):
        base = base_config(profile, dataset=dataset, data_dir=data_dir, epochs=epochs, seed=seed, **overrides)
        points += [Point(method, seed, method, recipes.configure(base, method, settings), {"method": method})
                   for method in chosen]
    return Study(name, points)


def constant_taus(profile: str, taus: Sequence[float] | None = None, seeds: Sequence[int] | None = None,
                  name: str = "06_temperature_sweep", recipe: str = "SimCLR", **base) -> Study:
    """``recipe`` at each constant tau ("SimCLR-tau0.3", coordinate ``tau``) on the sweep seeds (None or empty:
    the profile's choices "taus" and "sweep_seeds")."""
    points = []
    for seed in seed_list(profile, seeds, "sweep_seeds"):
        config = base_config(profile, seed=seed, **base)
        points += [Point(f"{recipe}-tau{tau:g}", seed, recipe,
                         recipes.configure(config, recipe, Settings(temperature=tau)), {"tau": tau})
                   for tau in (taus or choice(profile, "taus"))]
    return Study(name, points)


def sweep(profile: str, taus: Sequence[float] | None = None, tau_mins: Sequence[float] | None = None,
          tau_maxs: Sequence[float] | None = None, seeds: Sequence[int] | None = None,
          grid_seeds: Sequence[int] | None = None, name: str = "06_temperature_sweep", **base) -> Study:
    """``constant_taus`` on the sweep seeds, then DySTreSS at each (tau_min <= tau_max) pair ("DySTreSS-0.07-0.2",
    coordinates ``tau_min``, ``tau_max``) on the grid seeds; None or empty: the profile's choices."""
    tau_mins = list(tau_mins or choice(profile, "tau_mins"))
    tau_maxs = list(tau_maxs or choice(profile, "tau_maxs"))
    points = []
    for seed in seed_list(profile, grid_seeds, "grid_seeds"):
        config = base_config(profile, seed=seed, **base)
        points += [Point(f"DySTreSS-{lo:g}-{hi:g}", seed, "DySTreSS",
                         recipes.configure(config, "DySTreSS", Settings(tau_min=lo, tau_max=hi)),
                         {"tau_min": lo, "tau_max": hi})
                   for lo in tau_mins for hi in tau_maxs if lo <= hi]
    return constant_taus(profile, taus, seeds, name, **base) + Study(name, points)


def shifted(profile: str, pairs: Sequence[Sequence[float]] | None = None, settings: Settings = Settings(),
            seeds: Sequence[int] | None = None, name: str = "06_temperature_sweep", **base) -> Study:
    """DySTreSS with the shifted cosine function in [tau_min, tau_max] at each [shift, scale] of ``pairs``
    ("shift-0.4-scale0.7", coordinates ``shift`` and ``scale``), and its references "SimCLR" (constant
    ``settings.temperature``) and "DySTreSS" (the cosine function), on the grid seeds (None or empty: the
    profile's choices).

    tau(s) = tau_min + (tau_max - tau_min) (1 + cos(pi (s + shift) / scale)) / 2 for s <= -shift, tau_max above,
    so tau_min sits at s = -shift - scale; [-0.4, 0.7] is notebook 04's DySTreSS*.
    """
    chosen = [list(pair) for pair in (pairs or choice(profile, "shifted"))]
    for pair in chosen:
        if len(pair) != 2:
            raise ValueError(f"pairs must hold [shift, scale] pairs, got {pair!r}")
        checks.number("shift", pair[0])
        checks.number("scale", pair[1], above=0.0)
    points = []
    for seed in seed_list(profile, seeds, "grid_seeds"):
        config = base_config(profile, seed=seed, **base)
        points += [Point(reference, seed, reference, recipes.configure(config, reference, settings))
                   for reference in ("SimCLR", "DySTreSS")]
        for shift, scale in chosen:
            shaped = config.replace(loss="dystress", tau_min=settings.tau_min, tau_max=settings.tau_max,
                                    tau_shape="shifted_cosine", tau_shift=shift, tau_scale=scale)
            points.append(Point(f"shift{shift:g}-scale{scale:g}", seed, "DySTreSS", shaped,
                                {"shift": shift, "scale": scale}))
    return Study(name, points)


def long_tail(profile: str, dataset: str = "", imbalance_ratio: float = 0.0, settings: Settings = Settings(),
              seeds: Sequence[int] | None = None, name: str = "07_long_tail", **base) -> Study:
    """SimCLR, DySTreSS and the Kukleva schedule on the profile's long-tailed set (notebook 07)."""
    return comparison(profile, ["SimCLR", "DySTreSS", "Kukleva"], settings, seeds, name,
                      dataset=dataset or choice(profile, "long_tail"),
                      imbalance_ratio=imbalance_ratio or choice(profile, "imbalance_ratio"), **base)


SENTENCE_SETTINGS = Settings(temperature=0.05, tau_min=0.04, tau_max=0.05, alpha=2.0, a0=0.8)  # the official code's
SENTENCE_METHODS = ("SimCSE", "DySTreSS*", "DySTreSS", "MACL")  # the methods of the official code's SimCSE runs


def sentences(profile: str, methods: Sequence[str] | None = None, settings: Settings = SENTENCE_SETTINGS,
              seeds: Sequence[int] | None = None, name: str = "09_sentence_embeddings", **base) -> Study:
    """Unsupervised SimCSE on the profile's sentence data (its choice "sentences"): the encoder as shipped (label
    "as shipped", a run of 0 epochs, the same run for every seed) and each of ``methods`` (None or empty:
    ``SENTENCE_METHODS``) on each seed, with the temperatures of the official code's SimCSE runs
    (``SENTENCE_SETTINGS``)."""
    chosen = recipes.check_methods(list(methods)) if methods else list(SENTENCE_METHODS)
    base = {"dataset": choice(profile, "sentences")} | base
    points = []
    for seed in seed_list(profile, seeds):
        config = base_config(profile, seed=seed, **base)
        points.append(Point("as shipped", seed, "SimCSE",
                            recipes.configure(config, "SimCSE", settings).replace(epochs=0), {"method": "as shipped"}))
        points += [Point(method, seed, method, recipes.configure(config, method, settings), {"method": method})
                   for method in chosen]
    return Study(name, points)
