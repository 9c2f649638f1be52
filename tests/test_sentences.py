"""Sentence embeddings: the STS readers on files in SentEval's layouts, the corpus kept apart from the evaluation
sets, Spearman in the "all" setting, and unsupervised SimCSE through compute-or-load with the image losses."""

import math
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from dystress.engine import sts
from dystress.engine.config import resolve

ROOT = Path(__file__).resolve().parents[1]
ARCHIVE = ROOT.parent / "shared" / "data" / "sts.tar.xz"


def write_senteval(root: Path) -> Path:
    """A small SentEval data/downstream tree: two STS years, STS-B (rows of 7 and of 9 fields) and SICK."""
    downstream = root / "data" / "downstream"
    for year in sts.STS_YEARS:
        folder = downstream / "STS" / f"{year}-en-test"
        folder.mkdir(parents=True)
        (folder / "STS.input.news.txt").write_text(f"a cat sits .\tthe cat sat .\n{year} a dog runs .\ta tree .\n"
                                                   "a bird sings .\ta bird sings loudly .\n")
        (folder / "STS.gs.news.txt").write_text("4.0\n\n4.5\n")  # the blank score: an unscored pair
        (folder / "STS.input.forum.txt").write_text("red car .\tblue car .\n")
        (folder / "STS.gs.forum.txt").write_text("2.5\n")
        (folder / "STS.input.SMT.txt").write_text("")  # a set distributed without its gold file is left out
    stsb = downstream / "STS" / "STSBenchmark"
    stsb.mkdir(parents=True)
    rows = {"train": [("1.0", "a man eats .", "a woman sings ."), ("4.0", "a man eats .", "a cat sits .")],
            "dev": [("3.0", "the sky is blue .", "the sky is grey .")],
            "test": [("5.0", "a boy plays .", "a boy is playing .", "src1", "src2"), ("0.5", "rain .", "sun .")]}
    for split, lines in rows.items():
        (stsb / f"sts-{split}.csv").write_text("".join(
            "\t".join(["main-captions", "MSRvid", "2012test", f"{k:04d}", *line]) + "\n" for k, line in
            enumerate(lines)))
    sick = downstream / "SICK"
    sick.mkdir(parents=True)
    header = "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\n"
    (sick / "SICK_train.txt").write_text(header + "1\tA kid jumps\tA child leaps\t4.6\tENTAILMENT\n"
                                                  "2\ta boy plays .\tA dog barks\t1.2\tNEUTRAL\n")
    (sick / "SICK_test_annotated.txt").write_text(header + "9\tA man cooks\tA person cooks\t4.1\tENTAILMENT\n")
    return root


def test_the_readers_take_senteval_layouts_and_stsb_rows_of_nine_fields(tmp_path):
    root = write_senteval(tmp_path)
    assert sts.downstream_root(root) == root / "data" / "downstream" == sts.downstream_root(root / "data" /
                                                                                            "downstream")
    year = sts.read_sts_year(root / "data" / "downstream" / "STS" / "STS12-en-test")
    assert sorted(year) == ["forum", "news"]  # SMT has no gold file
    assert year["news"].first == ("a cat sits .", "a bird sings .") and year["news"].scores.tolist() == [4.0, 4.5]
    test = sts.read_stsb(root / "data" / "downstream" / "STS" / "STSBenchmark", "test")
    assert test.first == ("a boy plays .", "rain .") and test.second[0] == "a boy is playing ."
    assert test.scores.tolist() == [5.0, 0.5]
    tasks = sts.benchmarks(root)
    assert list(tasks) == list(sts.TASKS) and len(tasks["STS13"]) == 2
    assert tasks["SICKRelatedness"][0].first == ("A man cooks",)
    with pytest.raises(FileNotFoundError, match="no STS benchmarks under"):
        sts.downstream_root(tmp_path / "elsewhere")


def test_the_corpus_holds_no_sentence_of_an_evaluation_set(tmp_path):
    root = write_senteval(tmp_path)
    corpus = sts.training_sentences(root)
    # "a cat sits ." (STS-B train) is an STS12 sentence and "a boy plays ." (SICK train) one of STS-B's test split:
    # both are left out, and "a man eats ." is kept once
    assert corpus == ["a man eats .", "a woman sings .", "A kid jumps", "A child leaps", "A dog barks"]
    held_out = sts.held_out_sentences(root)
    assert {"the sky is blue .", "a cat sits .", "a boy plays ."} <= held_out and not set(corpus) & held_out


def test_the_demonstration_keeps_its_corpus_apart_from_its_pairs():
    tasks, development, corpus = sts.demonstration(pairs_per_task=30, corpus_size=200)
    pairs = [p for sets in tasks.values() for p in sets] + [development]
    assert list(tasks) == list(sts.TASKS) and all(len(p) == 30 for p in pairs)
    assert len(corpus) == 200 and not set(corpus) & set().union(*(p.sentences() for p in pairs))
    assert set(np.concatenate([p.scores for p in pairs]).tolist()) <= {0.0, 1.25, 2.5, 3.75, 5.0}


def test_a_sentence_run_names_its_data_encoder_loss_and_seed_and_the_shipped_run_only_data_and_encoder():
    a = resolve("small", dataset="sts", loss="ntxent", temperature=0.05)
    assert (a.optimizer, a.lr, a.batch_size, a.epochs, a.max_length) == ("adamw", 3e-5, 64, 1, 32)
    assert a.run_hash() != a.replace(temperature=0.1).run_hash() != a.replace(seed=1).run_hash()
    assert a.run_hash() != a.replace(encoder="bert-base-uncased").run_hash()
    assert a.run_hash() == a.replace(model="cnn4", crop_min_scale=0.5).run_hash()  # image settings do not count
    shipped = a.replace(epochs=0)
    assert shipped.run_name().startswith("shipped-")
    assert shipped.run_hash() == a.replace(epochs=0, seed=3, loss="dystress").run_hash()
    with pytest.raises(ValueError, match="optimizer must be one of adamw"):
        resolve("small", dataset="sts", optimizer="sgd")
    with pytest.raises(ValueError, match="negatives must be one of batch"):
        resolve("small", dataset="sts", negatives="queue", loss="ntxent")
    assert resolve("paper", dataset="sts", loss="ntxent").encoder == "bert-base-uncased"
    from dystress.pipeline import studies

    # the study takes SimCSE's one epoch and batch 64, not the profile's image recipe
    assert {(p.config.epochs, p.config.batch_size) for p in studies.sentences("small").points} == {(0, 64), (1, 64)}


def test_spearman_pools_the_sets_of_a_task():
    from dystress.engine import sentences

    class Words:  # an "encoder" whose embedding of a sentence is fixed by its first word
        training, device = False, torch.device("cpu")
        vectors = {"a": [1.0, 0.0], "b": [0.6, 0.8], "c": [0.0, 1.0]}

        def __call__(self, features):
            return {"sentence_embedding": torch.tensor([self.vectors[s.split()[0]] for s in features["text"]])}

        def preprocess(self, sentences):
            return {"text": sentences}

        def eval(self):
            return self

        def train(self, mode=True):
            return self

    pairs = [sts.Pairs(("a x", "a y"), ("a z", "b z"), np.array([5.0, 3.0])),
             sts.Pairs(("a w",), ("c w",), np.array([1.0]))]
    cosines = [1.0, 0.6, 0.0]
    expected = 100 * stats.spearmanr(cosines, [5.0, 3.0, 1.0]).statistic
    assert math.isclose(sentences.spearman(Words(), pairs, 8), expected) and math.isclose(expected, 100.0)


sentence_transformers = pytest.importorskip("sentence_transformers", reason="the text extra is not installed")


@pytest.fixture
def private_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("DYSTRESS_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("DYSTRESS_RESULTS", str(tmp_path / "results"))
    return tmp_path


def test_simcse_with_each_loss_trains_evaluates_and_loads_on_the_demonstration(private_runs):
    from dystress.pipeline import runs, studies

    torch.set_num_threads(2)
    study = studies.sentences("smoke", ["SimCSE", "DySTreSS*"], seeds=[0])
    results = study.run(progress=False)
    shipped, simcse = results["as shipped", 0], results["SimCSE", 0]
    assert shipped.folder.name.startswith("shipped-") and shipped.history[-1]["epoch"] == 0
    assert set(simcse.summary["sts"]) == set(sts.TASKS) | {"avg"}
    assert -100 <= simcse.summary["sts"]["avg"] <= 100 and simcse.summary["sts"]["avg"] != shipped.summary["sts"]["avg"]
    assert simcse.history[0]["sts_dev"] == pytest.approx(shipped.history[0]["sts_dev"])  # the same start
    assert simcse.history[-1]["tau_pos_mean"] == pytest.approx(0.05)  # SimCSE's constant temperature
    star = results["DySTreSS*", 0].history[-1]
    assert 0.04 - 1e-9 <= star["tau_neg_mean"] <= 0.05 + 1e-9
    again = studies.sentences("smoke", ["SimCSE"], seeds=[0]).run(train=False)
    assert again["SimCSE", 0].source == "runs" and again["SimCSE", 0].summary == simcse.summary
    runs.publish(simcse.folder)  # published and checked as an image run's result is
    assert runs.find_result(simcse.config).source == "results"


@pytest.mark.skipif(not ARCHIVE.exists(), reason="the STS archive ../shared/data/sts.tar.xz is absent")
def test_the_real_benchmarks_have_their_published_sizes_and_a_corpus_apart_from_them(tmp_path):
    with tarfile.open(ARCHIVE, "r:xz") as archive:
        archive.extractall(tmp_path, filter="data")
    tasks = sts.benchmarks(tmp_path)
    assert {task: sum(len(p) for p in sets) for task, sets in tasks.items()} == {
        "STS12": 3108, "STS13": 1500, "STS14": 3750, "STS15": 3000, "STS16": 1186, "STSBenchmark": 1379,
        "SICKRelatedness": 4927}
    assert len(sts.development(tmp_path)) == 1500
    corpus = sts.training_sentences(tmp_path)
    assert len(corpus) == len(set(corpus)) > 2000 and not set(corpus) & sts.held_out_sentences(tmp_path)
