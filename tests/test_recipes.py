"""The named methods of notebooks 04-08, their seeds and the sweep grid of notebook 06."""

import dataclasses

import pytest

from dystress.pipeline import recipes


def test_every_recipe_is_the_loss_its_name_says():
    configs = recipes.method_configs("smoke", list(recipes.RECIPES), temperature=0.3, tau_min=0.05, tau_max=0.4)
    assert list(configs) == list(recipes.RECIPES)
    options = {name: dataclasses.asdict(c.loss_options) for name, c in configs.items()}
    assert [configs[n].loss for n in recipes.RECIPES] == ["ntxent", "dystress", "dystress", "macl", "dcl", "dcl",
                                                          "hard", "ntxent", "isogclr"]
    assert options["SimCLR"]["temperature"] == 0.3 and options["SimCLR"]["tau_schedule"] == "none"
    assert (options["DySTreSS"]["tau_profile"], options["DySTreSS"]["tau_min"], options["DySTreSS"]["tau_max"]) == \
        ("cosine", 0.05, 0.4)
    star = options["DySTreSS*"]
    assert (star["tau_profile"], star["tau_shift"], star["tau_scale"]) == ("shifted_cosine", -0.4, 0.7)
    assert options["DCLW"]["dcl_weighted"] is True and options["DCL"]["dcl_weighted"] is False
    assert options["Kukleva"]["tau_schedule"] == "kukleva" and options["Kukleva"]["schedule_t_max"] == 0.5  # 5 / 10
    assert len({c.run_hash() for c in configs.values()}) == len(configs)  # nine different runs
    shared = {k: v for k, v in configs["SimCLR"].to_dict().items() if k not in ("loss", "loss_options")}
    for config in configs.values():  # everything but the loss is the same recipe
        assert {k: v for k, v in config.to_dict().items() if k not in ("loss", "loss_options")} == shared


def test_seed_lists():
    assert recipes.seed_list("small") == [0, 1, 2] and recipes.seed_list("paper") == [0, 1, 2]
    assert recipes.seed_list("smoke", choice="sweep_seeds") == [0] == recipes.seed_list("smoke", choice="grid_seeds")
    assert recipes.seed_list("paper", choice="grid_seeds") == [0, 1, 2]
    assert recipes.seed_list("small", choice="grid_seeds") == [0, 1, 2]
    with pytest.raises(ValueError, match="choice must be one of seeds, sweep_seeds, grid_seeds"):
        recipes.seed_list("small", choice="seed")
    assert recipes.seed_list("smoke", [3, 1]) == [3, 1]
    with pytest.raises(ValueError, match="seeds must be distinct"):
        recipes.seed_list("smoke", [1, 1])
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        recipes.seed_list("smoke", [-1])
    with pytest.raises(ValueError, match=r"seeds must list at least one seed, got \[\]"):
        recipes.check_seeds([])
    assert recipes.check_seeds([2, 0]) == [2, 0]


def test_sweep_points_repeat_the_grid_per_seed_and_their_parameters_compute_the_point():
    points = recipes.sweep_points("smoke", [0.1, 0.5], [0.07, 0.3], [0.2], seeds=[0, 4], grid_seeds=[0, 4])
    labels = [p["label"] for p in points]
    # (0.3, 0.2) is not a range
    assert labels == ["SimCLR-tau0.1", "SimCLR-tau0.5"] * 2 + ["DySTreSS-0.07-0.2"] * 2
    assert [p["seed"] for p in points] == [0, 0, 4, 4, 0, 4]
    for point in points:
        parameters = dict(point["parameters"])
        assert parameters.pop("seeds") == [point["seed"]] and parameters.pop("profile") == "smoke"
        methods = parameters.pop("methods")
        recomputed = recipes.method_configs("smoke", methods, **parameters, seed=point["seed"])[methods[0]]
        assert recomputed == point["config"]
    assert points[0]["config"].replace(seed=4) == points[2]["config"]


def test_the_constant_temperatures_and_the_grid_of_the_sweep_take_their_own_seeds():
    points = recipes.sweep_points("smoke", [0.2], [0.07], [0.2, 0.5], seeds=[0, 1, 2], grid_seeds=[5])
    assert [(p["label"], p["seed"]) for p in points] == [("SimCLR-tau0.2", 0), ("SimCLR-tau0.2", 1),
                                                          ("SimCLR-tau0.2", 2), ("DySTreSS-0.07-0.2", 5),
                                                          ("DySTreSS-0.07-0.5", 5)]
    default = recipes.sweep_points("paper", [0.2], [0.07], [0.2])
    assert [p["seed"] for p in default] == [0, 1, 2, 0, 1, 2]  # the profile's sweep and grid seeds
    with pytest.raises(ValueError, match="seeds must be distinct"):
        recipes.sweep_points("smoke", [0.2], [0.07], [0.2], grid_seeds=[1, 1])


def test_an_empty_tau_maxs_is_the_profiles_grid():
    small = recipes.sweep_points("small", [], [0.07], [], grid_seeds=[0])
    assert [p["label"] for p in small] == ["DySTreSS-0.07-0.2", "DySTreSS-0.07-0.5", "DySTreSS-0.07-1"]
    assert [p["label"] for p in recipes.sweep_points("smoke", [], [0.07], [])] == ["DySTreSS-0.07-0.2"]
    with pytest.raises(ValueError, match="profile must be one of"):
        recipes.sweep_points("tiny", [0.2], [0.07], [])


def test_shifted_points_are_dystress_star_with_the_pair_swept():
    points = recipes.shifted_points("small", [[-0.4, 0.7], [0.0, 0.5]], seeds=[0, 2])
    assert [(p["label"], p["seed"]) for p in points] == [("shift-0.4-scale0.7", 0), ("shift0-scale0.5", 0),
                                                          ("shift-0.4-scale0.7", 2), ("shift0-scale0.5", 2)]
    star = recipes.method_configs("small", ["DySTreSS*"], seed=0)["DySTreSS*"]
    assert points[0]["config"] == star  # the same run as notebook 04's DySTreSS*
    assert points[1]["config"] == star.replace(tau_shift=0.0, tau_scale=0.5)
    assert points[3]["config"] == star.replace(seed=2, tau_shift=0.0, tau_scale=0.5)
    default = recipes.shifted_points("small")
    assert [(p["tau_shift"], p["tau_scale"]) for p in default] == [tuple(pair) for pair in recipes.SHIFTED_CROSS] * 3
    assert [p["seed"] for p in default] == [0] * 6 + [1] * 6 + [2] * 6


@pytest.mark.parametrize("pairs, message", [
    ([[-0.4]], r"\[shift, scale\] pairs"), ([[-0.4, 0.0]], "scale must be a finite number > 0"),
    ([[float("nan"), 0.7]], "shift must be a finite number"),
])
def test_shifted_points_reject_a_bad_pair(pairs, message):
    with pytest.raises(ValueError, match=message):
        recipes.shifted_points("smoke", pairs)
    with pytest.raises(ValueError, match="profile must be one of"):
        recipes.shifted_points("tiny", [[-0.4, 0.7]])
