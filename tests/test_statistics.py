"""Aggregation over seeds against numpy and scipy computed independently."""

import math

import numpy as np
import pytest
from scipy import stats

from dystress.pipeline import statistics as seeds


def test_spread_is_the_mean_and_sample_std():
    values = [42.16, 41.5, 43.02]
    s = seeds.spread(values)
    assert s.mean == pytest.approx(sum(values) / 3, abs=1e-12)
    assert s.std == pytest.approx(math.sqrt(sum((v - s.mean) ** 2 for v in values) / 2), abs=1e-12)
    assert s.n == 3 and s.values == tuple(values)
    assert str(s) == f"{s.mean:.2f} ± {s.std:.2f} (n=3)"


def test_one_seed_has_no_spread_and_says_so():
    s = seeds.spread([39.43])
    assert math.isnan(s.std) and s.n == 1
    assert s.format() == "39.43 (n=1)"


@pytest.mark.parametrize("bad", [[], [1.0, math.nan], [math.inf]])
def test_spread_refuses_what_is_not_a_list_of_finite_numbers(bad):
    with pytest.raises(ValueError, match="values must be"):
        seeds.spread(bad)


def test_paired_difference_and_interval_match_scipy():
    a = {0: 42.1, 1: 41.7, 2: 42.6, 3: 41.9}
    b = {0: 43.0, 1: 42.2, 2: 43.9, 3: 42.5, 7: 99.0}  # seed 7 has no partner and is left out
    p = seeds.paired(a, b)
    d = np.array([b[s] - a[s] for s in range(4)])
    assert p.seeds == (0, 1, 2, 3) and p.n == 4
    assert p.mean == pytest.approx(d.mean(), abs=1e-12) and p.std == pytest.approx(d.std(ddof=1), abs=1e-12)
    interval = stats.ttest_rel(list(b.values())[:4], list(a.values())).confidence_interval(0.95)
    assert (p.low, p.high) == pytest.approx((interval.low, interval.high), abs=1e-10)
    assert p.wins == 4 and p.verdict == "higher"


def test_a_difference_smaller_than_the_spread_is_within_seed_noise():
    a = {0: 40.0, 1: 42.0, 2: 41.0}
    b = {0: 41.5, 1: 41.0, 2: 41.2}
    p = seeds.paired(a, b)
    assert p.low < 0 < p.high and p.verdict == "within seed noise"
    assert "within seed noise" in p.format()
    assert seeds.paired({0: 1.0}, {0: 3.0}).verdict == "within seed noise"  # one seed proves nothing
    assert seeds.paired({0: 3.0, 1: 3.1, 2: 2.9}, {0: 1.0, 1: 1.2, 2: 0.9}).verdict == "lower"


def test_the_sentence_says_what_the_paired_statistics_say():
    lower = seeds.paired({0: 49.3, 1: 48.9, 2: 49.7}, {0: 48.5, 1: 48.1, 2: 49.0})
    d = np.array([48.5 - 49.3, 48.1 - 48.9, 49.0 - 49.7])
    half = stats.t.ppf(0.975, 2) * d.std(ddof=1) / math.sqrt(3)
    assert lower.sentence("DySTreSS", "SimCLR", "kNN top-1") == (
        f"DySTreSS is lower than SimCLR in kNN top-1: {d.mean():+.2f} points, 95 % interval "
        f"[{d.mean() - half:+.2f}, {d.mean() + half:+.2f}], higher in 0 of 3 seeds (n = 3).")
    noise = seeds.paired({0: 40.0, 1: 42.0, 2: 41.0}, {0: 41.5, 1: 41.0, 2: 41.2})
    assert noise.sentence("B", "A", "linear top-1", digits=1, unit="").startswith(
        "B is within seed noise of A in linear top-1: +0.2, 95 % interval [")
    assert "higher in 2 of 3 seeds" in noise.sentence("B", "A", "x")
    higher = seeds.paired({0: 1.0, 1: 1.1, 2: 0.9}, {0: 3.0, 1: 3.2, 2: 2.9})
    assert higher.sentence("B", "A", "x").startswith("B is higher than A in x: +2.03 points")
    one = seeds.paired({4: 1.0}, {4: 3.0}).sentence("B", "A", "x")
    assert one == "B against A in x: +2.00 points on seed 4 alone, no interval (n = 1): not a comparison."
    assert seeds.verdicts(["One.", "Two."]) == "* One.\n* Two."
    with pytest.raises(ValueError, match="sentences must hold"):
        seeds.verdicts([])


def test_grouped_sorts_comparisons_by_their_verdict_and_names_the_consistent_ones():
    reference = {0: 49.0, 1: 50.0, 2: 51.0}
    pairs = {
        "Up": seeds.paired(reference, {0: 51.0, 1: 52.1, 2: 52.9}),          # +2.0 +-0.1: higher
        "Down": seeds.paired(reference, {0: 44.0, 1: 45.2, 2: 45.9}),        # about -5: lower
        "Below": seeds.paired(reference, {0: 48.9, 1: 49.0, 2: 50.99}),      # below in every seed, interval holds 0
        "Mixed": seeds.paired(reference, {0: 49.5, 1: 49.6, 2: 51.2}),
    }
    assert pairs["Below"].verdict == "within seed noise" and pairs["Below"].losses == 3
    text = seeds.grouped(pairs, "Against Ref in kNN top-1")
    assert text == ("Against Ref in kNN top-1 (n = 3 each): higher: Up (+2.00); lower: Down (-4.97); within seed "
                    "noise: Below (-0.37), Mixed (+0.10); of these, lower in every seed: Below.")
    uneven = seeds.grouped({"A": pairs["Up"], "B": seeds.paired({0: 1.0}, {0: 2.0})}, "x", digits=1)
    assert uneven == "x: higher: A (+2.0, n = 3); one seed, no comparison: B."
    equal = seeds.paired(reference, dict(reference))
    assert equal.losses == 0 and equal.wins == 0
    assert "every seed" not in seeds.grouped({"Same": equal}, "x")
    with pytest.raises(ValueError, match="pairs must hold"):
        seeds.grouped({}, "x")


def test_course_follows_a_comparison_along_training_in_runs_of_one_verdict():
    a = {0: 1.0, 1: 2.0, 2: 3.0}
    by_epoch = {
        0: seeds.paired(a, dict(a)),                            # the same untrained encoder: no difference
        3: seeds.paired(a, {0: 1.1, 1: 1.9, 2: 3.05}),          # within seed noise
        6: seeds.paired(a, {0: 0.5, 1: 1.45, 2: 2.5}),          # lower
        9: seeds.paired(a, {0: 0.4, 1: 1.5, 2: 2.45}),          # lower
    }
    last = by_epoch[9]
    assert [by_epoch[e].verdict for e in (0, 3, 6, 9)] == ["within seed noise"] * 2 + ["lower"] * 2
    assert seeds.course(by_epoch, "B", "A", "tolerance") == (
        "B against A in tolerance, by epoch (n = 3 each): within seed noise at epochs 0 to 3, lower at epochs 6 to 9;"
        f" at epoch 9: {last.mean:+.2f}, 95 % interval [{last.low:+.2f}, {last.high:+.2f}], higher in 0 of 3 seeds.")
    one_step = seeds.course({18: by_epoch[9]}, "B", "A", "x", step="epoch", digits=1)
    assert one_step.startswith("B against A in x, by epoch (n = 3 each): lower at epoch 18; at epoch 18: -0.5")
    with pytest.raises(ValueError, match="pairs must hold"):
        seeds.course({}, "B", "A", "x")


def test_apart_says_whether_two_groups_of_means_are_separated():
    low = {"a1": seeds.spread([0.07, 0.08, 0.09]), "a2": seeds.spread([0.11, 0.12, 0.10])}
    high = {"b1": seeds.spread([0.13, 0.12, 0.14]), "b2": seeds.spread([0.20, 0.25, 0.23])}
    assert seeds.apart(low, high, "DySTreSS point", "constant temperature", "tolerance", digits=2) == (
        "Every DySTreSS point is lower than every constant temperature in tolerance (means 0.08 to 0.11 against "
        "0.13 to 0.23; largest std 0.03; n = 3 each).")
    assert seeds.apart(high, low, "B", "A", "x").startswith("Every B is higher than every A in x")
    mixed = {"c": seeds.spread([0.14, 0.16])}
    assert seeds.apart(mixed, high, "C", "B", "x").startswith("The Cs and the Bs overlap in x (means 0.150 to 0.150")
    assert "n = 2, 3, 3" in seeds.apart(mixed, high, "C", "B", "x")
    with pytest.raises(ValueError, match="each hold at least one"):
        seeds.apart({}, high, "C", "B", "x")


def test_methods_without_a_shared_seed_are_refused():
    with pytest.raises(ValueError, match="share no seed"):
        seeds.paired({0: 1.0}, {1: 2.0})


def test_aggregate_gives_one_row_per_method_with_mean_std_and_n():
    rows = [{"notebook": "04", "run": "SimCLR", "seed": s, "loss": "ntxent", "knn_top1": v, "tolerance": 0.2,
             "linear_top1": None, "source": "results"} for s, v in ((0, 42.0), (1, 44.0), (2, 43.0))]
    rows.append({"notebook": "04", "run": "DySTreSS", "seed": 0, "loss": "dystress", "knn_top1": 40.0,
                 "source": "computed"})
    out = seeds.aggregate(rows)
    assert [r["run"] for r in out] == ["SimCLR", "DySTreSS"]
    simclr, dystress = out
    assert simclr["seeds"] == [0, 1, 2] and simclr["loss"] == "ntxent" and simclr["source"] == "results"
    assert simclr["knn_top1"] == {"mean": pytest.approx(43.0), "std": pytest.approx(1.0), "n": 3}
    assert simclr["tolerance"]["std"] == pytest.approx(0.0) and "linear_top1" not in simclr
    assert dystress["knn_top1"] == {"mean": 40.0, "std": None, "n": 1}


def test_the_text_table_prints_n_and_the_spread_of_each_number():
    rows = seeds.aggregate([{"run": "SimCLR", "seed": s, "knn_top1": v} for s, v in ((0, 42.0), (1, 44.0))]
                           + [{"run": "DySTreSS", "seed": 0, "knn_top1": 40.0}])
    text = seeds.text_table(rows, [("knn_top1", "kNN top-1", 2), ("tolerance", "tolerance", 3)])
    header, simclr, dystress = text.splitlines()
    assert header.split() == ["method", "n", "kNN", "top-1", "tolerance"]
    assert simclr.split() == ["SimCLR", "2", "43.00", "±", "1.41", "-"]
    assert dystress.split() == ["DySTreSS", "1", "40.00", "-"]


def test_the_run_summary_gives_each_method_over_seeds_and_each_run(tmp_path):
    import json

    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from dystress.pipeline import summary

    rows = [{"notebook": "04_pretraining", "run": "SimCLR", "seed": s, "knn_top1": v, "dataset": "digits"}
            for s, v in ((0, 1.0), (1, 2.0))]
    recorded = new_output("display_data", data={summary.MIME: rows, "text/plain": "2 runs recorded"})
    notebook = tmp_path / "04_pretraining.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("print(1)"), new_code_cell("record()", outputs=[recorded])]),
                   notebook)
    assert summary.rows_of(notebook) == rows
    table = summary.write([notebook], tmp_path)
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["runs"] == rows and written["methods"][0]["seeds"] == [0, 1]
    assert written["methods"][0]["knn_top1"]["n"] == 2
    text = table.read_text()
    assert "| 04_pretraining | SimCLR | 0, 1 | digits |" in text and "1.50 ± 0.71 (2)" in text
    assert "| 04_pretraining | SimCLR | 1 | digits | - | - | - | 2.00 |" in text


def test_paired_rows_pairs_two_labels_of_summary_rows_by_seed():
    rows = [{"run": "A", "seed": 0, "knn_top1": 40.0}, {"run": "A", "seed": 1, "knn_top1": 41.0},
            {"run": "B", "seed": 1, "knn_top1": 43.5}, {"run": "B", "seed": 0, "knn_top1": 41.0},
            {"run": "B", "seed": 2, "knn_top1": 50.0}, {"run": "A", "seed": 2, "knn_top1": None}]
    assert seeds.paired_rows(rows, "A", "B", "knn_top1") == seeds.paired({0: 40.0, 1: 41.0}, {0: 41.0, 1: 43.5})
    with pytest.raises(ValueError, match="more than one row for a seed"):
        seeds.paired_rows(rows + [{"run": "A", "seed": 0, "knn_top1": 39.0}], "A", "B", "knn_top1")
    with pytest.raises(ValueError, match="share no seed"):
        seeds.paired_rows(rows, "A", "C", "knn_top1")
