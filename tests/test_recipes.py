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
    assert options["Kukleva"]["tau_schedule"] == "kukleva" and options["Kukleva"]["schedule_t_max"] == 1  # 5 // 10
    assert len({c.run_hash() for c in configs.values()}) == len(configs)  # nine different runs
    shared = {k: v for k, v in configs["SimCLR"].to_dict().items() if k not in ("loss", "loss_options")}
    for config in configs.values():  # everything but the loss is the same recipe
        assert {k: v for k, v in config.to_dict().items() if k not in ("loss", "loss_options")} == shared


def test_seed_lists():
    assert recipes.seed_list("small") == [0, 1, 2] and recipes.seed_list("paper") == [0, 1, 2]
    assert recipes.seed_list("smoke", choice="sweep_seeds") == [0]
    with pytest.raises(ValueError, match="choice must be one of seeds, sweep_seeds"):
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
    points = recipes.sweep_points("smoke", [0.1, 0.5], [0.07, 0.3], [0.2], seeds=[0, 4])
    labels = [p["label"] for p in points]
    assert labels == ["SimCLR-tau0.1", "SimCLR-tau0.5", "DySTreSS-0.07-0.2"] * 2  # (0.3, 0.2) is not a range
    assert [p["seed"] for p in points] == [0, 0, 0, 4, 4, 4]
    for point in points:
        parameters = dict(point["parameters"])
        assert parameters.pop("seeds") == [point["seed"]] and parameters.pop("profile") == "smoke"
        methods = parameters.pop("methods")
        recomputed = recipes.method_configs("smoke", methods, **parameters, seed=point["seed"])[methods[0]]
        assert recomputed == point["config"]
    assert points[0]["config"].replace(seed=4) == points[3]["config"]
