"""Semantic textual similarity: the STS benchmarks as SentEval lays them out, a training corpus kept apart from
them, and the embedded demonstration set.

SentEval's ``data/downstream/`` layout (``data_dir`` may be that folder or any folder above it that holds one):

    STS/STS12-en-test ... STS16-en-test/   STS.input.<set>.txt (two tab-separated sentences a line) and
                                           STS.gs.<set>.txt (the gold score, 0-5; a blank line: an unscored pair)
    STS/STSBenchmark/sts-{train,dev,test}.csv   genre, file, year, id, score, sentence 1, sentence 2, and on some
                                                rows two source fields more (9 fields instead of 7)
    SICK/SICK_{train,trial,test_annotated}.txt  a header, then pair_ID, sentence_A, sentence_B, relatedness_score
                                                (1-5), ...

The evaluation is SimCSE's: the Spearman correlation (x 100) of the cosine similarity of the two sentences'
embeddings with the gold scores, in SentEval's "all" setting for STS12-16 (the pairs of every set of a year
pooled), on the test split of STS-B and of SICK-R, and the average of those seven.

The training corpus for unsupervised SimCSE, without a network: the sentences of STS-B's and SICK's training
splits, with every sentence of an evaluation set (the seven tasks and STS-B's dev split) removed
(``training_sentences``); a user's text file of sentences (one a line, e.g. wiki1m) replaces it.

``demonstration()`` builds a small STS task and corpus from templates (subject, verb, object, place), whose gold
score is the share of the four slots two sentences have in common: an offline stand-in that exercises every step
on a fresh machine, not a benchmark.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

STS_YEARS = ("STS12", "STS13", "STS14", "STS15", "STS16")
TASKS = (*STS_YEARS, "STSBenchmark", "SICKRelatedness")  # the seven of SimCSE's table, in its order


@dataclass(frozen=True)
class Pairs:
    """Scored sentence pairs: ``first`` and ``second`` (n sentences each) and their gold ``scores`` (n,)."""

    first: tuple[str, ...]
    second: tuple[str, ...]
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.first)

    def head(self, n: int) -> "Pairs":
        """The first ``n`` pairs (all when ``n`` is 0)."""
        return self if not n or n >= len(self) else Pairs(self.first[:n], self.second[:n], self.scores[:n])

    def sentences(self) -> set[str]:
        return set(self.first) | set(self.second)


def _pairs(rows: list[tuple[str, str, float]], where: Path) -> Pairs:
    if not rows:
        raise ValueError(f"{where} holds no scored sentence pair")
    first, second, scores = zip(*rows)
    return Pairs(tuple(first), tuple(second), np.asarray(scores, dtype=np.float64))


def downstream_root(data_dir: str | Path) -> Path:
    """The folder that holds SentEval's ``STS/`` and ``SICK/``: ``data_dir`` itself or the first of
    ``senteval/downstream``, ``sts/senteval/downstream``, ``data/downstream`` and ``downstream`` below it."""
    root = Path(data_dir)
    for candidate in (root, root / "senteval" / "downstream", root / "sts" / "senteval" / "downstream",
                      root / "data" / "downstream", root / "downstream"):
        if (candidate / "STS").is_dir():
            return candidate
    raise FileNotFoundError(
        f"no STS benchmarks under {root}: give data_dir the folder of SentEval's data/downstream (STS/STS12-en-test "
        f"... STS/STSBenchmark, SICK/), as SentEval's get_transfer_data.bash writes it, or use the dataset 'sts-demo'")


def read_sts_year(folder: Path) -> dict[str, Pairs]:
    """{set: Pairs} of one STS year's folder (e.g. STS12-en-test): each STS.input.<set>.txt with its
    STS.gs.<set>.txt, pairs without a gold score left out."""
    found = {}
    for inputs in sorted(folder.glob("STS.input.*.txt")):
        name = inputs.name[len("STS.input."):-len(".txt")]
        gold = folder / f"STS.gs.{name}.txt"
        if not gold.exists():
            continue
        lines = inputs.read_text(encoding="utf-8").splitlines()
        scores = gold.read_text(encoding="utf-8").splitlines()
        if len(lines) != len(scores):
            raise ValueError(f"{inputs} has {len(lines)} lines but {gold} {len(scores)}")
        rows = []
        for line, score in zip(lines, scores):
            parts = line.split("\t")
            if score.strip() and len(parts) >= 2:
                rows.append((parts[0].strip(), parts[1].strip(), float(score)))
        found[name] = _pairs(rows, inputs)
    if not found:
        raise FileNotFoundError(f"{folder} holds no STS.input.<set>.txt with its STS.gs.<set>.txt")
    return found


def read_stsb(folder: Path, split: str) -> Pairs:
    """STS-B's ``sts-<split>.csv``: the score is field 5, the sentences fields 6 and 7 (rows of 9 fields too)."""
    path = folder / f"sts-{split}.csv"
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split("\t")
        if len(fields) < 7:
            raise ValueError(f"{path}, line {number}: {len(fields)} tab-separated fields, expected 7 or more")
        rows.append((fields[5].strip(), fields[6].strip(), float(fields[4])))
    return _pairs(rows, path)


def read_sick(folder: Path, split: str) -> Pairs:
    """SICK's ``SICK_<split>.txt`` (train, trial, test_annotated): sentence_A, sentence_B, relatedness_score."""
    path = folder / f"SICK_{split}.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    a, b, score = (header.index(name) for name in ("sentence_A", "sentence_B", "relatedness_score"))
    rows = [(f[a].strip(), f[b].strip(), float(f[score])) for f in (line.split("\t") for line in lines[1:]) if f[0]]
    return _pairs(rows, path)


def benchmarks(data_dir: str | Path) -> dict[str, list[Pairs]]:
    """{task: its sets} for the seven tasks of ``TASKS``: a year's sets (pooled by the "all" setting), STS-B's
    test split, SICK-R's test split."""
    root = downstream_root(data_dir)
    tasks = {year: list(read_sts_year(root / "STS" / f"{year}-en-test").values()) for year in STS_YEARS}
    tasks["STSBenchmark"] = [read_stsb(root / "STS" / "STSBenchmark", "test")]
    tasks["SICKRelatedness"] = [read_sick(root / "SICK", "test_annotated")]
    return tasks


def development(data_dir: str | Path) -> Pairs:
    """STS-B's dev split: what SimCSE monitors during training, and what a temperature may be chosen on."""
    return read_stsb(downstream_root(data_dir) / "STS" / "STSBenchmark", "dev")


def held_out_sentences(data_dir: str | Path) -> set[str]:
    """Every sentence of an evaluation set: the seven tasks and STS-B's dev split."""
    evaluation = [pairs for sets in benchmarks(data_dir).values() for pairs in sets] + [development(data_dir)]
    return set().union(*(pairs.sentences() for pairs in evaluation))


def training_sentences(data_dir: str | Path) -> list[str]:
    """The unlabelled training corpus: the distinct sentences of STS-B's and SICK's training splits in file
    order, less every sentence of an evaluation set (``held_out_sentences``)."""
    root = downstream_root(data_dir)
    held_out = held_out_sentences(root)
    train = [read_stsb(root / "STS" / "STSBenchmark", "train"), read_sick(root / "SICK", "train")]
    ordered = dict.fromkeys(s for pairs in train for s in itertools.chain(*zip(pairs.first, pairs.second)))
    return [s for s in ordered if s and s not in held_out]


def read_corpus(path: str | Path) -> list[str]:
    """A text file of sentences, one a line (wiki1m's layout); blank lines are left out."""
    sentences = [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines()]
    sentences = [s for s in sentences if s]
    if not sentences:
        raise ValueError(f"corpus {path} holds no sentence")
    return sentences


SUBJECTS = ("a man", "a woman", "a child", "an old dog", "a young cat", "a farmer", "a doctor", "a student")
VERBS = ("carries", "paints", "washes", "throws", "repairs", "watches", "buys", "hides")
OBJECTS = ("a red ball", "a wooden chair", "a blue bicycle", "a small boat", "a heavy box", "a green kite",
           "an old guitar", "a paper map")
PLACES = ("in the park", "on the beach", "in the kitchen", "near the river", "at the market", "in the garden",
          "on the street", "in the snow")


def demonstration(pairs_per_task: int = 60, corpus_size: int = 512, seed: int = 0) -> tuple[
        dict[str, list[Pairs]], Pairs, list[str]]:
    """(tasks, development pairs, training corpus) of the embedded demonstration: sentences "<subject> <verb>
    <object> <place>." from fixed word lists; a pair's gold score is 5 x the share of the four slots the two
    sentences share. Every task (named as ``TASKS``) holds its own pairs; no training sentence is in a pair."""
    rng = random.Random(seed)

    def sentence(slots: tuple[int, int, int, int]) -> str:
        return f"{SUBJECTS[slots[0]]} {VERBS[slots[1]]} {OBJECTS[slots[2]]} {PLACES[slots[3]]}."

    def draw() -> tuple[int, int, int, int]:
        return tuple(rng.randrange(8) for _ in range(4))

    used: set[str] = set()

    def task(n: int) -> Pairs:
        rows = []
        while len(rows) < n:
            a = draw()
            shared = rng.randrange(5)
            kept = set(rng.sample(range(4), shared))
            b = tuple(a[k] if k in kept else (a[k] + 1 + rng.randrange(7)) % 8 for k in range(4))
            rows.append((sentence(a), sentence(b), 5.0 * shared / 4))
            used.update(rows[-1][:2])
        return _pairs(rows, Path("demonstration"))

    tasks = {name: [task(pairs_per_task)] for name in TASKS}
    dev = task(pairs_per_task)
    corpus: list[str] = []
    for slots in rng.sample(list(itertools.product(range(8), repeat=4)), 4096):
        if sentence(slots) not in used:
            corpus.append(sentence(slots))
        if len(corpus) == corpus_size:
            break
    return tasks, dev, corpus
