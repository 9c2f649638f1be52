"""The verdict: does DySTreSS help, at which scale, on which data, and how large a difference the runs could
have detected.

At every scale (a profile) and dataset, each comparison pairs a method with a baseline by seed (the same seed
gives both the same initialisation, subset and augmentations), on the paper's metric:

    DySTreSS [0.07, 0.2], DySTreSS*  against  SimCLR tau 0.2 (the paper's baseline)
                                     against  SimCLR at its best stored constant tau
                                     against  MACL, tau_0 0.2
    DySTreSS                         against  the Kukleva schedule (long-tailed sets)
    DySTreSS*, DySTreSS              against  SimCSE tau 0.05 and MACL (sentence embeddings, notebook 09)

The metric is kNN top-1 (the paper's 200-NN), and the mean per-class kNN@10 on a long-tailed set. The best
constant tau is the one of the profile's constant temperatures (its choice "taus", notebook 06's sweep) with the
highest mean kNN top-1 over the seeds stored for every tau: on the validation split where the runs hold one out
(``validation_per_class``), else on the same test images it is scored on, which favours SimCLR; its label says
which.

Only stored results are read (``runs.find_result``: results/, then the runs folder); nothing trains unless
``train`` is given, and a comparison without runs is "not run". The difference is b - a over the shared seeds
with its 95 % Student-t interval (``seeds.paired``); the smallest difference the comparison could have
detected is the interval's half-width, t_{0.975, n-1} s / sqrt(n).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dystress import checks
from dystress.atomic import write_text
from dystress.engine.config import PROFILES, TrainConfig
from dystress.paths import REPO_ROOT
from dystress.pipeline import published, recipes, runs, studies
from dystress.pipeline import statistics as over_seeds
from dystress.pipeline.recipes import Settings
from dystress.pipeline.studies import Study, base_config, choice, comparison, constant_taus

SEARCHED_SEEDS = tuple(range(10))  # the seeds looked for in the stored results
SCALES = tuple(PROFILES)  # from the smallest to the paper's
BALANCED_PAIRS = (("DySTreSS", "SimCLR"), ("DySTreSS*", "SimCLR"), ("DySTreSS", "SimCLR best tau"),
                  ("DySTreSS*", "SimCLR best tau"), ("DySTreSS", "MACL"), ("DySTreSS*", "MACL"))
LONG_TAIL_PAIRS = (("DySTreSS", "SimCLR"), ("DySTreSS", "Kukleva"))
SENTENCE_PAIRS = (("DySTreSS*", "SimCSE"), ("DySTreSS", "SimCSE"), ("DySTreSS*", "MACL"))

# the paper's differences (DySTreSS - baseline), from ``published``: (dataset, baseline) -> (difference, source)
CLAIMED = {
    ("cifar10", "SimCLR"): published.DYSTRESS[0], ("cifar10", "MACL"): published.DYSTRESS[0],
    ("cifar100", "SimCLR"): published.DYSTRESS[1], ("cifar100", "MACL"): published.DYSTRESS[1],
    ("cifar10-lt", "Kukleva"): published.DYSTRESS_LONG_TAIL[0],
    ("sts", "SimCSE"): published.SENTENCES[0],
}
CLAIMING_METHOD = {"sts": "DySTreSS*"}  # the paper's sentence runs use the shifted function: DySTreSS* here


def claimed_difference(dataset: str, method: str, baseline: str) -> tuple[float, str] | None:
    """The paper's DySTreSS - baseline on ``dataset`` and its source, or None (DySTreSS* has no CIFAR claim)."""
    row = CLAIMED.get((dataset, baseline))
    if row is None or method != CLAIMING_METHOD.get(dataset, "DySTreSS"):
        return None
    numbers = row.get("numbers", row)
    return round(numbers["DySTreSS"] - numbers[baseline], 2), f"{row['setting']}, {row['source']}"


@dataclass(frozen=True)
class Comparison:
    """One method against one baseline at one scale and dataset. ``difference`` is None when the two share no
    stored seed; ``method_values`` and ``baseline_values`` are {seed: metric} of what is stored."""

    scale: str
    dataset: str
    method: str
    baseline: str
    metric: str
    method_values: dict[int, float]
    baseline_values: dict[int, float]
    images_seen: int
    baseline_label: str
    claim: tuple[float, str] | None = None
    difference: over_seeds.Paired | None = field(default=None)

    @property
    def detectable(self) -> float | None:
        """The half-width of the 95 % interval: the smallest difference these seeds could tell from 0."""
        if self.difference is None or self.difference.n < 2:
            return None
        return self.difference.high - self.difference.mean

    @property
    def outcome(self) -> str:
        """"not run", "n = 1", or the paired verdict: "higher", "lower", "within seed noise"."""
        if self.difference is None:
            return "not run"
        if self.difference.n < 2:
            return "n = 1"
        return self.difference.verdict

    def against_claim(self) -> str:
        """What these seeds say of the paper's claimed difference."""
        if self.claim is None:
            return "no claim"
        if self.difference is None:
            return "not tested here"
        if self.difference.n < 2:
            return "not tested (n = 1)"
        claim, low, high = self.claim[0], self.difference.low, self.difference.high
        if self.outcome == "higher":
            return "holds" if low <= claim <= high or low > claim else "higher, below the claimed size"
        if low <= claim <= high:
            return "undecided: the interval holds both 0 and the claim"
        return "not reproduced at this scale: the interval excludes the claim"

    def sentence(self) -> str:
        """The generated comparison sentence (``seeds.Paired.sentence``), or what is missing."""
        where = f"{self.dataset}, {self.scale}"
        if self.difference is None:
            return f"{self.method} against {self.baseline_label} ({where}): not run."
        return self.difference.sentence(self.method, f"{self.baseline_label} ({where})", METRIC_NAMES[self.metric])


METRIC_NAMES = {"knn_top1": "kNN top-1", "knn10_mean_class": "kNN@10 mean per class", "sts_avg": "STS average"}


def metric_of(result: runs.RunResult, metric: str) -> float:
    """kNN top-1, the long-tailed kNN@10 mean per class (percent), or the STS average (Spearman x 100) of a stored
    result."""
    if metric == "knn_top1":
        return float(result.summary["knn"]["top1"])
    if metric == "sts_avg":
        return float(result.summary["sts"]["avg"])
    return float(result.summary["long_tail"]["knn10_mean_class"])


def stored(config: TrainConfig, seeds: tuple[int, ...], committed_only: bool = False) -> dict[int, runs.RunResult]:
    """{seed: result} of ``config`` at each of ``seeds`` that is stored (in results/ alone with
    ``committed_only``)."""
    found = {}
    for seed in seeds:
        result = runs.find_result(config.replace(seed=seed), committed_only=committed_only)
        if result is not None:
            found[seed] = result
    return found


def best_constant_tau(profile: str, dataset: str, seeds: tuple[int, ...] = SEARCHED_SEEDS,
                      committed_only: bool = False) -> tuple[float, dict[int, runs.RunResult], str] | None:
    """The constant tau of the profile's "taus" chosen by ``choose_tau`` from the stored runs, its results and the
    split it was chosen on (None when no seed has every tau)."""
    by_tau = constant_tau_results(profile, dataset, seeds, committed_only)
    chosen = choose_tau(by_tau)
    return None if chosen is None else (chosen[0], by_tau[chosen[0]], chosen[1])


def constant_tau_results(profile: str, dataset: str, seeds: tuple[int, ...] = SEARCHED_SEEDS,
                         committed_only: bool = False) -> dict[float, dict[int, runs.RunResult]]:
    """{tau: {seed: result}} of SimCLR at every tau of the profile's "taus" (``stored``)."""
    base = base_config(profile, dataset=dataset)
    return {tau: stored(recipes.configure(base, "SimCLR", Settings(temperature=tau)), seeds, committed_only)
            for tau in choice(profile, "taus")}


def choose_tau(by_tau: dict[float, dict[int, runs.RunResult]]) -> tuple[float, str] | None:
    """(tau, "validation" or "test"): the tau with the highest mean kNN top-1 over the seeds every tau holds, on
    the validation split when every one of those runs has one (``validation_per_class``), else on the test
    images; None when no seed holds every tau."""
    shared = set.intersection(*(set(found) for found in by_tau.values()))
    if not shared:
        return None
    on_validation = all("validation" in found[s].summary for found in by_tau.values() for s in shared)

    def knn(result: runs.RunResult) -> float:
        return float(result.summary["validation"]["knn"]["top1"]) if on_validation else metric_of(result, "knn_top1")

    score = {tau: sum(knn(found[s]) for s in shared) / len(shared) for tau, found in by_tau.items()}
    return max(score, key=score.get), "validation" if on_validation else "test"


def study(profile: str) -> Study:
    """The runs the verdict compares at ``profile``, on the profile's seeds: for each of its datasets the
    methods of the pairs above, on a balanced set SimCLR at each of the profile's constant temperatures, and
    notebook 09's sentence runs."""
    runs_of = Study("10_verdict", [])
    for dataset in choice(profile, "datasets"):
        long_tail = dataset.endswith("-lt")
        pairs = LONG_TAIL_PAIRS if long_tail else BALANCED_PAIRS
        names = list(dict.fromkeys(name for pair in pairs for name in pair if name != "SimCLR best tau"))
        runs_of += comparison(profile, names, dataset=dataset, name="10_verdict")
        if not long_tail:
            runs_of += constant_taus(profile, seeds=choice(profile, "seeds"), dataset=dataset, name="10_verdict")
    return runs_of + studies.sentences(profile, name="10_verdict")


def comparisons(scales: tuple[str, ...] = SCALES, train: bool = False,
                committed_only: bool = False) -> list[Comparison]:
    """Every comparison of the module docstring at each of ``scales``, from the stored results (results/ alone
    with ``committed_only``; ``train``: compute the missing runs at the profile's seeds first, which at the
    ``paper`` scale needs a GPU)."""
    for scale in scales:
        checks.one_of("scales", scale, tuple(PROFILES))
    rows = []
    for scale in scales:
        if train:
            study(scale).run(progress=False)
        seeds = SEARCHED_SEEDS  # every stored seed counts, whichever notebook stored it
        for dataset in choice(scale, "datasets"):
            long_tail = dataset.endswith("-lt")
            base = base_config(scale, dataset=dataset)
            metric = "knn10_mean_class" if long_tail else "knn_top1"
            pairs = LONG_TAIL_PAIRS if long_tail else BALANCED_PAIRS
            names = {name for pair in pairs for name in pair if name != "SimCLR best tau"}
            results = {name: stored(recipes.configure(base, name), seeds, committed_only)
                       for name in sorted(names)}
            labels = {name: name for name in names} | {"SimCLR": "SimCLR tau 0.2"}
            if "MACL" in results and results["MACL"]:
                labels["MACL"] = f"MACL (tau_0 0.2, effective {effective_temperature(results['MACL']):.3f})"
            if not long_tail:
                best = best_constant_tau(scale, dataset, seeds, committed_only)
                results["SimCLR best tau"] = best[1] if best else {}
                labels["SimCLR best tau"] = (f"SimCLR tau {best[0]:g} (best kNN on {best[2]})" if best
                                             else "SimCLR at its best tau")
            train_images = _train_images(results)
            for method, baseline in pairs:
                a = {s: metric_of(r, metric) for s, r in results[baseline].items()}
                b = {s: metric_of(r, metric) for s, r in results[method].items()}
                difference = over_seeds.paired(a, b) if set(a) & set(b) else None
                rows.append(Comparison(scale, dataset, method, baseline, metric, b, a,
                                       base.epochs * train_images if train_images else 0, labels[baseline],
                                       claimed_difference(dataset, method, baseline), difference))
        rows += sentence_comparisons(scale, seeds, committed_only)
    return rows


def sentence_comparisons(scale: str, seeds: tuple[int, ...], committed_only: bool = False) -> list[Comparison]:
    """``SENTENCE_PAIRS`` on the profile's sentence data (notebook 09's runs, its temperatures), in the STS
    average; "examples seen" is the training sentences of the run times its epochs."""
    dataset = choice(scale, "sentences")
    base = base_config(scale, dataset=dataset)
    names = sorted({name for pair in SENTENCE_PAIRS for name in pair})
    results = {name: stored(recipes.configure(base, name, studies.SENTENCE_SETTINGS), seeds, committed_only)
               for name in names}
    sentences = next((r.summary.get("num_train_sentences", 0) for found in results.values() for r in found.values()),
                     0)
    labels = {"SimCSE": "SimCSE tau 0.05", "MACL": "MACL (tau_0 0.05, alpha 2, A_0 0.8)"}
    rows = []
    for method, baseline in SENTENCE_PAIRS:
        a = {s: metric_of(r, "sts_avg") for s, r in results[baseline].items()}
        b = {s: metric_of(r, "sts_avg") for s, r in results[method].items()}
        rows.append(Comparison(scale, dataset, method, baseline, "sts_avg", b, a, base.epochs * sentences,
                               labels[baseline], claimed_difference(dataset, method, baseline),
                               over_seeds.paired(a, b) if set(a) & set(b) else None))
    return rows


def effective_temperature(found: dict[int, runs.RunResult]) -> float:
    """The mean temperature of the last epoch, over the stored seeds: MACL's tau_A = tau_0 (1 + alpha (A -
    A_0)) as it ends training, read from each run's metrics (``tau_pos_mean``)."""
    values = [result.history[-1]["tau_pos_mean"] for result in found.values()]
    return sum(values) / len(values)


def _train_images(results: dict[str, dict[int, runs.RunResult]]) -> int:
    """The number of training images of the stored runs (0 when none is stored)."""
    for found in results.values():
        for result in found.values():
            counts = result.arrays.get("train_class_counts")
            if counts is not None:
                return int(counts.sum())
            return int(result.summary.get("num_train_points") or 0)
    return 0


def _cell(values: dict[int, float]) -> str:
    if not values:
        return "-"
    return over_seeds.spread(list(values.values())).format()


def markdown_table(rows: list[Comparison]) -> str:
    """The comparisons as a Markdown table: both sides' mean ± std (n), the paired difference with its 95 %
    interval, seeds won, the detectable difference, the paper's claim and what the seeds say of it."""
    head = ("| scale | data | method | baseline | method | baseline | difference [95 % interval] | seeds won | "
            "detectable | paper's difference | against the claim |\n|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for row in rows:
        d = row.difference
        if d is None:
            difference, won = "not run", "-"
        elif d.n < 2:
            difference, won = f"{d.mean:+.2f} (n = 1)", f"{d.wins} of 1"
        else:
            difference, won = f"{d.mean:+.2f} [{d.low:+.2f}, {d.high:+.2f}]", f"{d.wins} of {d.n}"
        detectable = f"±{row.detectable:.2f}" if row.detectable is not None else "-"
        claim = f"{row.claim[0]:+.2f} ({row.claim[1]})" if row.claim else "-"
        lines.append(f"| {row.scale} | {row.dataset} | {row.method} | {row.baseline_label} | "
                     f"{_cell(row.method_values)} | {_cell(row.baseline_values)} | {difference} | {won} | "
                     f"{detectable} | {claim} | {row.against_claim()} |")
    return "\n".join(lines)


def find(rows: list[Comparison], scale: str, dataset: str, method: str, baseline: str) -> Comparison | None:
    return next((r for r in rows if (r.scale, r.dataset, r.method, r.baseline) == (scale, dataset, method, baseline)),
                None)


def largest_tested(rows: list[Comparison], dataset: str, method: str, baseline: str) -> Comparison | None:
    """The comparison at the largest scale that has at least two paired seeds, else the smallest scale's row."""
    candidates = [r for r in rows if (r.dataset, r.method, r.baseline) == (dataset, method, baseline)]
    tested = [r for r in candidates if r.difference is not None and r.difference.n >= 2]
    if tested:
        return max(tested, key=lambda r: SCALES.index(r.scale))
    return candidates[0] if candidates else None


def claims(rows: list[Comparison]) -> list[dict]:
    """The paper's comparative claims with what the largest tested scale says of each: {"claim", "verdict",
    "number", "where"}. A claim without a paired run reads "not tested here"."""
    wanted = [
        ("DySTreSS: above SimCLR (tau 0.2) on CIFAR-10, 200-NN", "cifar10", "DySTreSS", "SimCLR", "04, 10"),
        ("DySTreSS: above MACL on CIFAR-10, 200-NN", "cifar10", "DySTreSS", "MACL", "04, 10"),
        ("DySTreSS: above SimCLR (tau 0.2) on CIFAR-100, 200-NN", "cifar100", "DySTreSS", "SimCLR", "10"),
        ("DySTreSS: above MACL on CIFAR-100, 200-NN", "cifar100", "DySTreSS", "MACL", "10"),
        ("DySTreSS: above the Kukleva schedule on CIFAR-10-LT", "cifar10-lt", "DySTreSS", "Kukleva", "07, 10"),
        ("DySTreSS (shifted, DySTreSS* here): above SimCSE on STS, 7-task average", "sts", "DySTreSS*", "SimCSE",
         "09, 10"),
    ]
    table = []
    for claim, dataset, method, baseline, where in wanted:
        row = largest_tested(rows, dataset, method, baseline)
        if row is None or row.difference is None or row.difference.n < 2:
            table.append({"claim": claim, "verdict": "not tested here", "number": "-", "where": where})
            continue
        d = row.difference
        number = (f"{d.mean:+.2f} [{d.low:+.2f}, {d.high:+.2f}], n = {d.n}, {row.scale} "
                  f"(paper: {row.claim[0]:+.2f})" if row.claim else f"{d.mean:+.2f}")
        scale_note = f" (`{row.scale}`; the paper's scale is not run)" if row.scale != "paper" else ""
        table.append({"claim": claim, "verdict": row.against_claim() + scale_note, "number": number, "where": where})
    return table


def constant_tau_sweep(profile: str, dataset: str = "cifar10", seeds: tuple[int, ...] = SEARCHED_SEEDS,
                       committed_only: bool = False) -> dict:
    """{tau: {"linear", "neg_uniformity", "tolerance": Spread}} of SimCLR at every tau of the profile's "taus",
    over the seeds stored for all of them ({} when none is)."""
    by_tau = constant_tau_results(profile, dataset, seeds, committed_only=committed_only)
    shared = sorted(set.intersection(*(set(found) for found in by_tau.values())))
    if not shared:
        return {}
    pick = {"linear": lambda r: r.summary["linear"]["top1"], "neg_uniformity": lambda r: -r.summary["uniformity"],
            "tolerance": lambda r: r.summary["tolerance"]}
    return {tau: {name: over_seeds.spread([get(found[s]) for s in shared]) for name, get in pick.items()}
            for tau, found in by_tau.items()}


REVERSE_U = "Wang & Liu: linear accuracy is a reverse U in tau (top at 0.3 on CIFAR-10)"
DILEMMA = "Wang & Liu: -uniformity falls and tolerance rises as tau rises"


def wang_liu_claims(profile: str = "small", dataset: str = "cifar10", committed_only: bool = False) -> list[dict]:
    """Wang & Liu's temperature claims against the stored constant-temperature sweep at ``profile``."""
    sweep = constant_tau_sweep(profile, dataset, committed_only=committed_only)
    if not sweep:
        return [{"claim": claim, "verdict": "not tested here", "number": "-", "where": "06"}
                for claim in (REVERSE_U, DILEMMA)]
    taus = sorted(sweep)
    linear = {tau: sweep[tau]["linear"] for tau in taus}
    top = max(linear, key=lambda tau: linear[tau].mean)
    interior = taus[0] < top < taus[-1]
    n = linear[top].n
    rising = [(lo, hi) for lo, hi in zip(taus, taus[1:])
              if sweep[hi]["neg_uniformity"].mean < sweep[lo]["neg_uniformity"].mean
              and sweep[hi]["tolerance"].mean > sweep[lo]["tolerance"].mean]
    steps = len(taus) - 1
    from_tau = next((lo for lo in taus[:-1] if all((a, b) in rising for a, b in zip(taus, taus[1:]) if a >= lo)), None)
    if len(rising) == steps:
        trend = "holds at every step"
    elif from_tau is not None:
        trend = f"holds from tau {from_tau:g} upwards, not below"
    else:
        trend = "does not hold"
    return [
        {"claim": REVERSE_U,
         "verdict": ("holds" if interior else "does not hold") + f", top at tau {top:g} ({profile})",
         "number": f"{linear[top].format()} at tau {top:g}", "where": "06"},
        {"claim": DILEMMA,
         "verdict": f"{trend} ({profile}; means over n = {n})",
         "number": ", ".join(f"tau {t:g}: {sweep[t]['neg_uniformity'].mean:.3f} / {sweep[t]['tolerance'].mean:.3f}"
                             for t in taus), "where": "06"},
    ]


def claims_markdown(table: list[dict]) -> str:
    """``claims(...)`` as a Markdown table."""
    lines = ["| claim (paper) | what the runs here show | difference [95 % interval] | notebook |",
             "|---|---|---|---|"]
    lines += [f"| {c['claim']} | {c['verdict']} | {c['number']} | {c['where']} |" for c in table]
    return "\n".join(lines)


def verdicts_markdown(rows: list[Comparison]) -> str:
    """Every comparison's sentence (``Comparison.sentence``) as a Markdown bullet list."""
    return over_seeds.verdicts([row.sentence() for row in rows])


def tally(rows: list[Comparison]) -> str:
    """One generated sentence that counts the outcomes of the comparisons with at least two paired seeds."""
    tested = [r for r in rows if r.outcome in ("higher", "lower", "within seed noise")]
    if not tested:
        return "No comparison has two paired seeds yet."
    count = {outcome: sum(r.outcome == outcome for r in tested) for outcome in ("higher", "lower", "within seed noise")}
    scales = sorted({r.scale for r in tested}, key=SCALES.index)
    return (f"Of the {len(tested)} comparisons with at least two paired seeds (scales {', '.join(scales)}), the "
            f"method is higher than its baseline in {count['higher']}, lower in {count['lower']} and within seed "
            f"noise in {count['within seed noise']}; the paper's scale has "
            f"{'no' if 'paper' not in scales else 'its'} paired runs.")


def by_comparison(rows: list[Comparison]) -> dict[str, list[Comparison]]:
    """The rows grouped by "method - baseline, dataset", in order, for the figure against scale."""
    groups: dict[str, list[Comparison]] = {}
    for row in rows:
        groups.setdefault(f"{row.method} - {row.baseline_label}, {row.dataset}", []).append(row)
    return groups


README_START = "<!-- verdict: generated by dystress.pipeline.verdict.update_readme() from results/ -->"
README_END = "<!-- verdict: end -->"


def readme_block() -> str:
    """The claims table of notebook 10 from the committed results (results/ alone), between the README's
    markers."""
    rows = comparisons(committed_only=True)
    table = claims_markdown(claims(rows) + wang_liu_claims(committed_only=True))
    return "\n".join([README_START, table, "", tally(rows), README_END])


def update_readme(path: str | None = None) -> bool:
    """Rewrite the README's verdict block (between its markers) from the stored results; True if it changed."""
    readme = Path(path) if path else REPO_ROOT / "README.md"
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        raise ValueError(f"{readme} has no verdict block: it needs the lines {README_START!r} and {README_END!r}")
    start, end = text.index(README_START), text.index(README_END) + len(README_END)
    updated = text[:start] + readme_block() + text[end:]
    if updated != text:
        write_text(readme, updated)
    return updated != text
