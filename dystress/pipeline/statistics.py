"""Statistics over seeds: the spread of one method's numbers, the paired comparison of two methods, and the
summary rows aggregated per method.

    spread(values)       mean, sample standard deviation (ddof = 1) and n of one method's per-seed values
    paired(a, b)         b - a over the seeds both share: mean and standard deviation of the differences, n,
                         the 95 % interval of the mean difference from Student's t with n - 1 degrees of
                         freedom, how many seeds b wins, and a verdict: "higher", "lower" or "within seed
                         noise" (the interval contains 0, or fewer than 2 shared seeds)
    paired_rows(rows, a, b)  the same between two labels of a list of summary rows (one per run)
    Paired.sentence(b, a, quantity)  the one sentence that compares b with a, written from those statistics
    verdicts(lines)      such sentences as a Markdown list, for a notebook to display
    grouped(pairs, lead) one sentence sorting many comparisons by their verdict (which are higher, lower, within
                         seed noise, and which of the last go the same way in every seed)
    course(pairs, b, a)  one sentence following one comparison along training: the steps where its verdict holds
    apart(a, b)          whether every mean of one group of settings lies above (or below) every mean of another
    aggregate(rows)      summary rows (one per run) -> one row per (notebook, run label) with "mean", "std"
                         and "n" for every number

A method's numbers are compared only through these, so that every number a notebook prints carries its n.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["METRICS", "Spread", "spread", "Paired", "paired", "paired_rows", "verdicts", "grouped", "course", "apart",
           "aggregate",
           "format_aggregate", "text_table"]
METRICS = ("knn_top1", "linear_top1", "knn10_mean_class", "neg_uniformity", "tolerance", "final_loss",
           "train_seconds")  # the numbers of a summary row that are aggregated over seeds


@dataclass(frozen=True)
class Spread:
    """mean and sample standard deviation (nan for n = 1) of ``values``, one per seed."""

    mean: float
    std: float
    n: int
    values: tuple[float, ...]

    def format(self, digits: int = 2) -> str:
        """``"42.16 ± 0.31 (n=3)"``; a single seed prints ``"42.16 (n=1)"``."""
        if self.n == 1:
            return f"{self.mean:.{digits}f} (n=1)"
        return f"{self.mean:.{digits}f} ± {self.std:.{digits}f} (n={self.n})"

    def __str__(self) -> str:
        return self.format()


def spread(values: Sequence[float]) -> Spread:
    """The spread of one method's per-seed ``values`` (at least one, all finite)."""
    data = np.asarray(list(values), dtype=np.float64)
    if data.ndim != 1 or data.size == 0:
        raise ValueError(f"values must be a non-empty list of numbers, got {list(values)!r}")
    if not np.isfinite(data).all():
        raise ValueError(f"values must be finite, got {data.tolist()}")
    std = float(data.std(ddof=1)) if data.size > 1 else math.nan
    return Spread(float(data.mean()), std, int(data.size), tuple(data.tolist()))


@dataclass(frozen=True)
class Paired:
    """b - a over the shared seeds (see the module docstring)."""

    mean: float
    std: float
    n: int
    low: float
    high: float
    wins: int  # seeds where b > a
    seeds: tuple[int, ...]
    losses: int = 0  # seeds where b < a

    @property
    def verdict(self) -> str:
        if self.n < 2 or self.low <= 0 <= self.high:
            return "within seed noise"
        return "higher" if self.mean > 0 else "lower"

    def format(self, digits: int = 2) -> str:
        if self.n < 2:
            return f"{self.mean:+.{digits}f} (n={self.n}: within seed noise)"
        return (f"{self.mean:+.{digits}f} ± {self.std:.{digits}f}, 95% interval [{self.low:+.{digits}f}, "
                f"{self.high:+.{digits}f}], higher in {self.wins} of {self.n} seeds (n={self.n}): {self.verdict}")

    def __str__(self) -> str:
        return self.format()

    def sentence(self, b: str, a: str, quantity: str, digits: int = 2, unit: str = "points") -> str:
        """The sentence that compares ``b`` with ``a`` in ``quantity``, written from these statistics alone, e.g.
        "DySTreSS is lower than SimCLR in kNN top-1: -0.77 points, 95 % interval [-1.57, +0.03], higher in 0 of
        3 seeds (n = 3)." The relation is the verdict's: "higher than", "lower than" or "within seed noise of"
        (the interval contains 0); one shared seed gives no interval and is said to be no comparison."""
        difference = f"{self.mean:+.{digits}f}" + (f" {unit}" if unit else "")
        if self.n < 2:
            return (f"{b} against {a} in {quantity}: {difference} on seed {self.seeds[0]} alone, no interval "
                    f"(n = 1): not a comparison.")
        relation = {"higher": "higher than", "lower": "lower than", "within seed noise": "within seed noise of"}
        return (f"{b} is {relation[self.verdict]} {a} in {quantity}: {difference}, 95 % interval "
                f"[{self.low:+.{digits}f}, {self.high:+.{digits}f}], higher in {self.wins} of {self.n} seeds "
                f"(n = {self.n}).")


def verdicts(sentences: Sequence[str]) -> str:
    """``sentences`` (from ``Paired.sentence``) as a Markdown bullet list; a notebook displays it with
    ``IPython.display.Markdown``, so the comparison reads as text and is never typed beside its numbers."""
    if not sentences:
        raise ValueError("sentences must hold at least one sentence")
    return "\n".join(f"* {s}" for s in sentences)


def _same_n(pairs: Sequence[Paired]) -> int | None:
    counts = {p.n for p in pairs}
    return counts.pop() if len(counts) == 1 else None


def grouped(pairs: Mapping[str, Paired], lead: str, digits: int = 2) -> str:
    """One sentence that sorts the comparisons ``pairs`` ({name: b - a}) by their verdict, e.g.
    "Against SimCLR in kNN top-1 (n = 3 each): higher: iSogCLR (+1.33); lower: Hard (-15.92); within seed noise:
    DySTreSS (-0.77), MACL (+0.31); of these, lower in every seed: DySTreSS." Each name carries its mean
    difference (and its n where the ns differ); a comparison of one seed is listed as no comparison."""
    if not pairs:
        raise ValueError("pairs must hold at least one comparison")
    n = _same_n(list(pairs.values()))

    def item(name: str, p: Paired) -> str:
        return f"{name} ({p.mean:+.{digits}f}" + ("" if n is not None else f", n = {p.n}") + ")"

    parts = []
    for verdict in ("higher", "lower", "within seed noise"):
        chosen = [item(k, p) for k, p in pairs.items() if p.n >= 2 and p.verdict == verdict]
        if chosen:
            parts.append(f"{verdict}: {', '.join(chosen)}")
    noise = {k: p for k, p in pairs.items() if p.n >= 2 and p.verdict == "within seed noise"}
    for direction, same in (("higher", lambda p: p.wins == p.n), ("lower", lambda p: p.losses == p.n)):
        chosen = [k for k, p in noise.items() if same(p)]
        if chosen:
            parts.append(f"of these, {direction} in every seed: {', '.join(chosen)}")
    single = [k for k, p in pairs.items() if p.n < 2]
    if single:
        parts.append(f"one seed, no comparison: {', '.join(single)}")
    return f"{lead}" + (f" (n = {n} each)" if n is not None else "") + ": " + "; ".join(parts) + "."


def course(pairs: Mapping[float, Paired], b: str, a: str, quantity: str, step: str = "epoch",
           digits: int = 2) -> str:
    """One sentence that follows ``b`` against ``a`` in ``quantity`` along ``pairs`` ({step: b - a}, e.g. per
    evaluated epoch): the consecutive steps that share a verdict, then the last step's difference, e.g.
    "DySTreSS against SimCLR in tolerance, by epoch (n = 3 each): within seed noise at epochs 0 to 6, lower at
    epochs 9 to 18; at epoch 18: -0.05, 95 % interval [-0.05, -0.04], higher in 0 of 3 seeds." """
    if not pairs:
        raise ValueError("pairs must hold at least one step")
    steps = sorted(pairs)
    runs: list[tuple[str, list[float]]] = []
    for at in steps:
        verdict = pairs[at].verdict
        if runs and runs[-1][0] == verdict:
            runs[-1][1].append(at)
        else:
            runs.append((verdict, [at]))

    def where(points: list[float]) -> str:
        if len(points) == 1:
            return f"at {step} {points[0]:g}"
        return f"at {step}s {points[0]:g} to {points[-1]:g}"

    n = _same_n(list(pairs.values()))
    last = pairs[steps[-1]]
    interval = ("no interval" if last.n < 2 else
                f"95 % interval [{last.low:+.{digits}f}, {last.high:+.{digits}f}], "
                f"higher in {last.wins} of {last.n} seeds")
    return (f"{b} against {a} in {quantity}, by {step}" + (f" (n = {n} each)" if n is not None else "") + ": "
            + ", ".join(f"{verdict} {where(points)}" for verdict, points in runs)
            + f"; at {step} {steps[-1]:g}: {last.mean:+.{digits}f}, {interval}.")


def apart(a: Mapping[str, Spread], b: Mapping[str, Spread], a_name: str, b_name: str, quantity: str,
          digits: int = 3) -> str:
    """One sentence saying whether the means of two groups of settings ({name: spread over seeds}) are apart in
    ``quantity``: "Every DySTreSS point is lower than every constant temperature in tolerance (means 0.072 to
    0.113 against 0.125 to 0.236; largest std 0.007; n = 3 each).", or that their ranges overlap. It compares means over seeds, not
    paired seeds: a gap between the ranges smaller than the spreads is still said, with the spreads beside it."""
    if not a or not b:
        raise ValueError("a and b must each hold at least one setting")
    low_a, high_a = min(s.mean for s in a.values()), max(s.mean for s in a.values())
    low_b, high_b = min(s.mean for s in b.values()), max(s.mean for s in b.values())
    every = (*a.values(), *b.values())
    counts = {s.n for s in every}
    n = f"n = {counts.pop()} each" if len(counts) == 1 else "n = " + ", ".join(str(s.n) for s in every)
    largest_std = max((s.std for s in every if s.n > 1), default=math.nan)
    means = (f"means {low_a:.{digits}f} to {high_a:.{digits}f} against {low_b:.{digits}f} to {high_b:.{digits}f}; "
             f"largest std {largest_std:.{digits}f}; {n}")
    if high_a < low_b:
        return f"Every {a_name} is lower than every {b_name} in {quantity} ({means})."
    if low_a > high_b:
        return f"Every {a_name} is higher than every {b_name} in {quantity} ({means})."
    return f"The {a_name}s and the {b_name}s overlap in {quantity} ({means})."


def paired(a: Mapping[int, float], b: Mapping[int, float]) -> Paired:
    """b - a over the seeds that both ``a`` and ``b`` ({seed: value}) hold."""
    seeds = tuple(sorted(set(a) & set(b)))
    if not seeds:
        raise ValueError(f"the two methods share no seed (seeds {sorted(a)} against {sorted(b)})")
    differences = np.array([b[s] - a[s] for s in seeds], dtype=np.float64)
    n, mean = len(seeds), float(differences.mean())
    if n == 1:
        return Paired(mean, math.nan, 1, -math.inf, math.inf, int(differences[0] > 0), seeds, int(differences[0] < 0))
    std = float(differences.std(ddof=1))
    half = float(stats.t.ppf(0.975, n - 1)) * std / math.sqrt(n)
    return Paired(mean, std, n, mean - half, mean + half, int((differences > 0).sum()), seeds,
                  int((differences < 0).sum()))


def paired_rows(rows: list[dict], a: str, b: str, metric: str, label: str = "run") -> Paired:
    """``paired`` of ``metric`` between the summary rows whose ``label`` is ``a`` and those whose ``label`` is ``b``
    (one row per seed each; rows without the metric are left out)."""
    def by_seed(name: str) -> dict[int, float]:
        chosen = [row for row in rows if row[label] == name and row.get(metric) is not None]
        values = {row["seed"]: row[metric] for row in chosen}
        if len(values) != len(chosen):
            raise ValueError(f"{label} {name!r} has more than one row for a seed: {sorted(r['seed'] for r in chosen)}")
        return values

    return paired(by_seed(a), by_seed(b))


def aggregate(rows: list[dict], label: str = "run") -> list[dict]:
    """One row per (notebook, ``label``) from per-run summary rows (each with a ``seed``), in first-seen order:
    the fields shared by every seed's row, ``seeds``, and for each of ``METRICS`` present a dict
    {"mean", "std", "n"} (std None for one seed)."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row.get("notebook"), row[label]), []).append(row)
    out = []
    for members in groups.values():
        shared = {k: v for k, v in members[0].items()
                  if k not in METRICS and k != "seed" and all(m.get(k) == v for m in members)}
        shared["seeds"] = sorted(m.get("seed") for m in members)
        for metric in METRICS:
            values = [m[metric] for m in members if m.get(metric) is not None]
            if values:
                s = spread(values)
                shared[metric] = {"mean": s.mean, "std": None if s.n == 1 else s.std, "n": s.n}
        out.append(shared)
    return out


def format_aggregate(value: dict | None, fmt: str = "{:.2f}") -> str:
    """An ``aggregate`` number {"mean", "std", "n"} as "mean ± std" with ``fmt`` ("-" for None, the mean alone
    for one seed)."""
    if value is None:
        return "-"
    return fmt.format(value["mean"]) + ("" if value["std"] is None else " ± " + fmt.format(value["std"]))


def text_table(rows: list[dict], columns: list[tuple[str, str, int]], label: str = "run") -> str:
    """A fixed-width table of ``aggregate`` rows: the label, n, then "mean ± std" for each (key, title, digits)
    of ``columns`` ("-" where a row lacks the number, the mean alone for one seed)."""
    body = [[row[label], str(len(row["seeds"]))] + [format_aggregate(row.get(key), f"{{:.{digits}f}}")
                                                      for key, _, digits in columns] for row in rows]
    header = ["method", "n"] + [title for _, title, _ in columns]
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    lines = ["  ".join(text.ljust(w) if i == 0 else text.rjust(w) for i, (text, w) in enumerate(zip(r, widths)))
             for r in [header] + body]
    return "\n".join(lines)
