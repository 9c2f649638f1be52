"""Studies: the points each notebook asks for, run once each, and what their results give."""

import json
from pathlib import Path

import numpy as np
import pytest

from dystress.pipeline import recipes, runs, studies, verdict
from dystress.pipeline.recipes import Settings
from dystress.pipeline.studies import Point, Results, Study

GOLDEN = Path(__file__).with_name("golden_run_names.json")


def notebook_studies(profile: str) -> dict[str, Study]:
    """The studies each notebook builds from its default parameters (08 reads the user's folder: left out)."""
    return {
        "04_pretraining": studies.comparison(profile) + studies.comparison(profile,
                                                                           studies.choice(profile, "queue_methods")),
        "05_evaluation": studies.comparison(profile, ["SimCLR", "DySTreSS"], name="05_evaluation"),
        "06_temperature_sweep": studies.sweep(profile) + studies.shifted(profile) + studies.comparison(
            profile, studies.choice(profile, "ablations"), seeds=studies.choice(profile, "grid_seeds")),
        "07_long_tail": studies.long_tail(profile),
        "10_verdict": verdict.study(profile),
    }


def added_studies(profile: str) -> dict[str, Study]:
    """The studies the notebooks gained after the golden names were written: 04's hard loss on a queue, 06's
    ablations, 09's sentence runs (which 10 compares too)."""
    return {"04_pretraining": studies.comparison(profile, studies.choice(profile, "queue_methods")),
            "06_temperature_sweep": studies.comparison(profile, studies.choice(profile, "ablations")),
            "10_verdict": studies.sentences(profile)}


@pytest.mark.parametrize("profile", ["smoke", "small", "paper"])
def test_the_studies_name_the_runs_they_named_before_they_were_studies(profile):
    """Golden: every run the notebooks' defaults asked for when this file was written is asked for still, under
    the same name, so no committed result is recomputed by accident; what a notebook asks for beyond those is the
    studies added since, by name."""
    golden = json.loads(GOLDEN.read_text())[profile]
    added = added_studies(profile)
    for notebook, study in notebook_studies(profile).items():
        extra = set(added[notebook].run_names()) if notebook in added else set()
        assert set(study.run_names()) == set(golden[notebook]) | extra, notebook
        assert not extra & set(golden[notebook]), notebook


def test_a_comparison_is_every_method_on_every_seed():
    study = studies.comparison("smoke", ["SimCLR", "DySTreSS"], Settings(temperature=0.3), seeds=[0, 4])
    assert [(p.label, p.seed) for p in study.points] == [("SimCLR", 0), ("DySTreSS", 0), ("SimCLR", 4),
                                                         ("DySTreSS", 4)]
    assert study.points[0].config.loss_options.temperature == 0.3 and study.points[2].config.seed == 4
    assert study.labels == ["SimCLR", "DySTreSS"] and study.seeds() == [0, 4]
    assert [p.label for p in studies.comparison("smoke").points] == list(studies.choice("smoke", "methods"))


def test_seed_lists():
    assert studies.seed_list("small") == [0, 1, 2] and studies.seed_list("paper") == [0, 1, 2]
    assert studies.seed_list("smoke", kind="sweep_seeds") == [0] == studies.seed_list("smoke", kind="grid_seeds")
    with pytest.raises(ValueError, match="kind must be one of seeds, sweep_seeds, grid_seeds"):
        studies.seed_list("small", kind="seed")
    assert studies.seed_list("smoke", [3, 1]) == [3, 1]
    with pytest.raises(ValueError, match="seeds must be distinct"):
        studies.seed_list("smoke", [1, 1])
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        studies.seed_list("smoke", [-1])
    with pytest.raises(ValueError, match=r"seeds must list at least one seed, got \[\]"):
        studies.check_seeds([])


def test_the_sweep_takes_its_own_seeds_for_the_constant_temperatures_and_the_grid():
    study = studies.sweep("smoke", [0.2], [0.07, 0.3], [0.2, 0.5], seeds=[0, 1], grid_seeds=[5])
    assert [(p.label, p.seed) for p in study.points] == [
        ("SimCLR-tau0.2", 0), ("SimCLR-tau0.2", 1), ("DySTreSS-0.07-0.2", 5), ("DySTreSS-0.07-0.5", 5),
        ("DySTreSS-0.3-0.5", 5)]  # (0.3, 0.2) is not a range
    assert study.points[2].coordinates == {"tau_min": 0.07, "tau_max": 0.2}
    assert study.points[0].coordinates == {"tau": 0.2}
    assert [p.label for p in studies.sweep("small", [], [0.07], grid_seeds=[0]).where(recipe="DySTreSS")] == \
        ["DySTreSS-0.07-0.2", "DySTreSS-0.07-0.5", "DySTreSS-0.07-1"]  # the profile's tau_maxs
    with pytest.raises(ValueError, match="profile must be one of"):
        studies.sweep("tiny")


def test_shifted_points_are_dystress_star_with_the_pair_swept_and_carry_their_references():
    study = studies.shifted("small", [[-0.4, 0.7], [0.0, 0.5]], seeds=[0, 2])
    assert [(p.label, p.seed) for p in study.points] == [
        ("SimCLR", 0), ("DySTreSS", 0), ("shift-0.4-scale0.7", 0), ("shift0-scale0.5", 0),
        ("SimCLR", 2), ("DySTreSS", 2), ("shift-0.4-scale0.7", 2), ("shift0-scale0.5", 2)]
    star = studies.comparison("small", ["DySTreSS*"], seeds=[0]).points[0].config
    assert study.points[2].config == star  # the same run as notebook 04's DySTreSS*
    assert study.points[3].config == star.replace(tau_shift=0.0, tau_scale=0.5)
    assert study.where(shift=0.0)[1].config == star.replace(seed=2, tau_shift=0.0, tau_scale=0.5)


@pytest.mark.parametrize("pairs, message", [
    ([[-0.4]], r"\[shift, scale\] pairs"), ([[-0.4, 0.0]], "scale must be a finite number > 0"),
    ([[float("nan"), 0.7]], "shift must be a finite number"),
])
def test_shifted_rejects_a_bad_pair(pairs, message):
    with pytest.raises(ValueError, match=message):
        studies.shifted("smoke", pairs)


def test_the_long_tail_is_the_profiles_long_tailed_set():
    study = studies.long_tail("small", seeds=[0])
    assert study.labels == ["SimCLR", "DySTreSS", "Kukleva"]
    assert {(p.config.dataset, p.config.imbalance_ratio) for p in study.points} == {("cifar10-lt", 0.01)}


def fake_result(config, knn, linear=None):
    history = [{"epoch": 0, "knn_top1": 30.0, "loss": None}, {"epoch": 1, "knn_top1": knn, "loss": 2.5,
                                                              "tau_neg_mean": 0.2},
               {"epoch": 2, "knn_top1": knn, "loss": None}]
    summary = {"knn": {"top1": knn}, "uniformity": -3.0, "tolerance": 0.1}
    if linear is not None:
        summary["linear"] = {"top1": linear}
    return runs.RunResult(config, history, summary, {}, {"train_seconds": 1.0}, "results", Path(config.run_name()))


def test_a_study_computes_each_distinct_run_once(monkeypatch):
    calls = []
    monkeypatch.setattr(runs, "compute_or_load", lambda config, **kw: calls.append(config) or fake_result(config, 50))
    study = studies.sweep("smoke", [0.2], [0.07], [0.2], seeds=[0], grid_seeds=[0]) + studies.shifted(
        "smoke", [[-0.4, 0.7]], seeds=[0])
    results = study.run()
    # the shifted set's references "SimCLR" and "DySTreSS" are the sweep's SimCLR-tau0.2 and DySTreSS-0.07-0.2
    assert len(study.points) == 5 and len(calls) == 3 == len(study.run_names())
    assert results["SimCLR", 0] is results["SimCLR-tau0.2", 0] and results["DySTreSS", 0] is results[
        "DySTreSS-0.07-0.2", 0]


def test_a_run_shared_by_every_seed_counts_once_in_the_table(monkeypatch):
    monkeypatch.setattr(runs, "compute_or_load", lambda config, **kw: fake_result(config, 40.0 + config.seed))
    study = studies.sentences("smoke", ["SimCSE"], seeds=[0, 1, 2])
    results = study.run()
    assert results["as shipped", 0] is results["as shipped", 2] and results.distinct_seeds("as shipped") == [0]
    table = results.table([("knn_top1", 2)], ["as shipped", "SimCSE"]).splitlines()
    assert table[2:] == ["| as shipped | 1 | 40.00 |", "| SimCSE | 3 | 41.00 ± 1.00 |"]
    assert results.paired("as shipped", "SimCSE", "knn_top1").n == 3  # paired with each seed all the same


def test_results_give_spreads_paired_sentences_tables_and_grids():
    base = studies.base_config("smoke")
    points, found = [], {}
    for seed, (a, b) in enumerate([(50.0, 51.0), (49.0, 50.5), (48.0, 49.0)]):
        for label, knn, tau in (("A", a, 0.2), ("B", b, 0.5)):
            config = recipes.configure(base.replace(seed=seed), "SimCLR", Settings(temperature=tau))
            points.append(Point(label, seed, "SimCLR", config, {"tau": tau, "tau_min": 0.1}))
            found[(label, seed)] = fake_result(config, knn, linear=knn + 5)
    results = Results(Study("04_pretraining", points), found)
    assert results.values("B", "knn_top1") == {0: 51.0, 1: 50.5, 2: 49.0}
    assert results.values("A", "signal") == {0: 20.0, 1: 19.0, 2: 18.0}
    assert results.values("A", "final_loss") == {0: 2.5, 1: 2.5, 2: 2.5}  # the last epoch that has a loss
    assert results.values("A", "tau_negative") == {0: 0.2, 1: 0.2, 2: 0.2} and results.values("A", "tau_positive") == {}
    paired = results.paired("A", "B", "knn_top1")
    assert paired.n == 3 and paired.wins == 3 and abs(paired.mean - (1.0 + 1.5 + 1.0) / 3) < 1e-12
    assert results.sentence("A", "B", "knn_top1").startswith("B is higher than A in kNN top-1: +1.17 points")
    table = results.table([("knn_top1", 2), ("linear_top1", 1)]).splitlines()
    assert table[0] == "| method | n | kNN top-1 | linear top-1 |"
    assert table[2] == "| A | 3 | 49.00 ± 1.00 | 54.0 ± 1.0 |"
    measures = results.measures([("knn_top1", 2), ("tolerance", 3), ("knn_top5", 1)], ["B", "A"]).splitlines()
    assert measures[0] == "| measure | B (n=3) | A (n=3) |"
    assert measures[2:] == ["| kNN top-1 | 50.17 ± 1.04 | 49.00 ± 1.00 |",
                            "| tolerance | 0.100 ± 0.000 | 0.100 ± 0.000 |", "| kNN top-5 | - | - |"]  # a measure the runs lack is a dash
    rows, columns, mean, std = results.grid("tau_min", "tau", "knn_top1")
    assert rows == [0.1] and columns == [0.2, 0.5]
    assert np.allclose(mean, [[49.0, (51 + 50.5 + 49) / 3]]) and np.isclose(std[0, 0], 1.0)
    rows_of_a = results.rows(["A"])
    assert [r["seed"] for r in rows_of_a] == [0, 1, 2] and rows_of_a[0]["tau"] == 0.2
    assert rows_of_a[0]["knn_top1"] == 50.0 and rows_of_a[0]["notebook"] == "04_pretraining"
    with pytest.raises(ValueError, match="metric must be one of"):
        results.values("A", "accuracy")
