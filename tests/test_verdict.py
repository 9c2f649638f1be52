"""The verdict: paired comparisons from the stored results, their detectable size, and the claims they judge."""

import json
import math

import numpy as np
import pytest
from scipy import stats

from dystress.pipeline import recipes, runs, studies, verdict
from dystress.pipeline import statistics as over_seeds


def comparison(a: dict, b: dict, claim: tuple | None = (2.0, "paper"), method: str = "DySTreSS",
               scale: str = "small") -> verdict.Comparison:
    difference = over_seeds.paired(a, b) if set(a) & set(b) else None
    return verdict.Comparison(scale, "cifar10", method, "SimCLR", "knn_top1", b, a, 180_000, "SimCLR tau 0.2",
                              claim, difference)


def test_the_detectable_difference_is_the_half_width_of_the_student_t_interval():
    a, b = {0: 50.0, 1: 51.0, 2: 49.5, 3: 50.2}, {0: 50.4, 1: 50.1, 2: 50.9, 3: 50.0}
    d = np.array([b[s] - a[s] for s in a])
    expected = stats.t.ppf(0.975, 3) * d.std(ddof=1) / math.sqrt(4)
    assert comparison(a, b).detectable == pytest.approx(expected)
    assert comparison({0: 1.0}, {0: 2.0}).detectable is None


@pytest.mark.parametrize("b, outcome, against", [
    ({0: 53.0, 1: 54.1, 2: 52.9}, "higher", "holds"),  # +3.0 on average, the claim 2 inside or below
    ({0: 50.5, 1: 51.6, 2: 50.4}, "higher", "higher, below the claimed size"),
    ({0: 47.0, 1: 48.1, 2: 46.9}, "lower", "not reproduced at this scale: the interval excludes the claim"),
    ({0: 49.0, 1: 53.0, 2: 50.5}, "within seed noise", "undecided: the interval holds both 0 and the claim"),
])
def test_a_comparison_judges_the_claim_by_its_interval(b, outcome, against):
    row = comparison({0: 50.0, 1: 51.0, 2: 50.0}, b)
    assert row.outcome == outcome and row.against_claim() == against


def test_missing_runs_and_single_seeds_are_said_so():
    assert comparison({0: 50.0}, {1: 49.0}).outcome == "not run"
    assert comparison({0: 50.0}, {1: 49.0}).against_claim() == "not tested here"
    assert comparison({0: 50.0}, {0: 49.0}).outcome == "n = 1"
    assert comparison({0: 50.0}, {0: 49.0}, claim=None).against_claim() == "no claim"
    assert "not run" in comparison({0: 50.0}, {1: 49.0}).sentence()


def test_the_table_and_the_sentences_carry_the_paired_numbers():
    row = comparison({0: 50.0, 1: 51.0, 2: 50.0}, {0: 47.0, 1: 48.1, 2: 46.9})
    table = verdict.markdown_table([row])
    d = row.difference
    assert f"{d.mean:+.2f} [{d.low:+.2f}, {d.high:+.2f}]" in table and "0 of 3" in table
    assert f"±{row.detectable:.2f}" in table and "+2.00 (paper)" in table
    assert row.sentence().startswith("DySTreSS is lower than SimCLR tau 0.2 (cifar10, small) in kNN top-1: ")
    assert verdict.tally([row]).startswith("Of the 1 comparisons with at least two paired seeds (scales small), "
                                           "the method is higher than its baseline in 0, lower in 1")


def test_a_claim_is_judged_at_the_largest_scale_with_two_seeds():
    small = comparison({0: 50.0, 1: 51.0, 2: 50.0}, {0: 47.0, 1: 48.1, 2: 46.9})
    paper = comparison({0: 80.0}, {0: 83.0}, scale="paper")  # one seed: not a test
    (first, *_) = verdict.claims([small, paper])
    assert first["verdict"].startswith("not reproduced at this scale") and "`small`" in first["verdict"]
    assert first["number"].startswith(f"{small.difference.mean:+.2f} [") and "(paper: +2.00)" in first["number"]
    assert all(c["verdict"] == "not tested here" for c in verdict.claims([small, paper])[2:4])


def test_the_claimed_differences_are_the_published_gaps():
    assert verdict.claimed_difference("cifar10", "DySTreSS", "SimCLR")[0] == pytest.approx(85.68 - 83.65)
    assert verdict.claimed_difference("cifar100", "DySTreSS", "MACL")[0] == pytest.approx(56.57 - 56.15)
    assert verdict.claimed_difference("cifar10-lt", "DySTreSS", "Kukleva")[0] == pytest.approx(64.98 - 62.91)
    assert verdict.claimed_difference("cifar10", "DySTreSS*", "SimCLR") is None


def test_bad_scales_are_refused_by_name():
    with pytest.raises(ValueError, match="scales"):
        verdict.comparisons(("medium-ish",))


def test_the_committed_small_pair_is_found_and_paired_by_seed():
    """DySTreSS against SimCLR 0.2 at ``small`` on CIFAR-10, recomputed from the committed bundles."""
    base = studies.base_config("small")
    knn = {}
    for name in ("SimCLR", "DySTreSS"):
        for seed in verdict.SEARCHED_SEEDS:
            folder = runs.results_root() / runs.run_name(recipes.configure(base, name).replace(seed=seed))
            if (folder / "bundle.json").exists():
                knn.setdefault(name, {})[seed] = json.loads((folder / "bundle.json").read_text())["knn"]["top1"]
    if len(set(knn.get("SimCLR", {})) & set(knn.get("DySTreSS", {}))) < 2:
        pytest.skip("the committed small runs are not here")
    row = verdict.find(verdict.comparisons(("small",)), "small", "cifar10", "DySTreSS", "SimCLR")
    shared = sorted(set(knn["SimCLR"]) & set(knn["DySTreSS"]))
    differences = [knn["DySTreSS"][s] - knn["SimCLR"][s] for s in shared]
    assert row.difference.seeds == tuple(shared)
    assert row.difference.mean == pytest.approx(sum(differences) / len(differences))
    assert row.images_seen == 18 * 10_000


def test_the_readme_opens_with_the_verdict_of_the_committed_results():
    from dystress.paths import REPO_ROOT

    text = (REPO_ROOT / "README.md").read_text()
    start, end = text.index(verdict.README_START), text.index(verdict.README_END) + len(verdict.README_END)
    assert text[start:end] == verdict.readme_block(), \
        "the README's verdict is stale: python -c 'from dystress.pipeline import verdict; verdict.update_readme()'"
    assert start < text.index("## Quickstart")


def test_update_readme_rewrites_only_its_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\nbefore\n{verdict.README_START}\nold table\n{verdict.README_END}\nafter\n")
    assert verdict.update_readme(str(readme)) is True
    text = readme.read_text()
    assert text.startswith("# title\n\nbefore\n") and text.endswith("\nafter\n") and "old table" not in text
    assert "| claim (paper) | what the runs here show |" in text
    assert verdict.update_readme(str(readme)) is False
    readme.write_text("no markers\n")
    with pytest.raises(ValueError, match="no verdict block"):
        verdict.update_readme(str(readme))
    assert readme.read_text() == "no markers\n"


def test_macl_is_labelled_with_its_effective_temperature_from_the_metrics():
    import csv

    base = studies.base_config("small")
    last = []
    for seed in verdict.SEARCHED_SEEDS:
        folder = runs.results_root() / runs.run_name(recipes.configure(base, "MACL").replace(seed=seed))
        if (folder / "metrics.csv").exists():
            last.append(float(list(csv.DictReader((folder / "metrics.csv").open()))[-1]["tau_pos_mean"]))
    if not last:
        pytest.skip("the committed small MACL runs are not here")
    row = verdict.find(verdict.comparisons(("small",)), "small", "cifar10", "DySTreSS", "MACL")
    assert row.baseline_label == f"MACL (tau_0 0.2, effective {sum(last) / len(last):.3f})"


def result(knn: float, validation: float | None = None):
    from types import SimpleNamespace

    summary = {"knn": {"top1": knn}} | ({"validation": {"knn": {"top1": validation}}} if validation is not None else {})
    return SimpleNamespace(summary=summary)


def test_the_best_tau_is_chosen_on_validation_when_every_run_holds_one_out():
    # on the test images tau 0.3 is best, on the validation split tau 0.2
    by_tau = {0.2: {0: result(49.0, 51.0), 1: result(49.2, 50.8)}, 0.3: {0: result(50.0, 50.0), 1: result(50.1, 50.2)}}
    assert verdict.choose_tau(by_tau) == (0.2, "validation")
    by_tau[0.3][1] = result(50.1)  # one run without a validation split: the test images decide, and say so
    assert verdict.choose_tau(by_tau) == (0.3, "test")
    assert verdict.choose_tau({0.2: {0: result(1.0)}, 0.3: {1: result(2.0)}}) is None  # no shared seed
