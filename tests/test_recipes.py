"""The registry of compared methods: each recipe is the loss its name says, and adding one is one entry."""

import dataclasses

import pytest

from dystress.engine.config import PROFILES
from dystress.pipeline import recipes, studies
from dystress.pipeline.recipes import Recipe, Settings


def test_every_recipe_is_the_loss_its_name_says():
    base = studies.base_config("smoke")
    settings = Settings(temperature=0.3, tau_min=0.05, tau_max=0.4)
    configs = {name: recipes.configure(base, name, settings) for name in recipes.RECIPES}
    options = {name: dataclasses.asdict(c.loss_options) for name, c in configs.items()}
    assert {name: c.loss for name, c in configs.items()} == {
        "SimCLR": "ntxent", "DySTreSS": "dystress", "DySTreSS*": "dystress", "MACL": "macl", "DCL": "dcl",
        "DCLW": "dcl", "Hard": "hard", "Kukleva": "ntxent", "iSogCLR": "isogclr", "SimCSE": "ntxent",
        "DySTreSS-linear": "dystress",
        "DySTreSS-exponential": "dystress", "DySTreSS-grad": "dystress", "Simple": "simple", "MoCo": "ntxent",
        "Hard-MoCo": "hard"}
    assert options["SimCLR"]["temperature"] == 0.3 and options["SimCLR"]["tau_schedule"] == "none"
    assert (options["DySTreSS"]["tau_shape"], options["DySTreSS"]["tau_min"], options["DySTreSS"]["tau_max"]) == \
        ("cosine", 0.05, 0.4)
    star = options["DySTreSS*"]
    assert (star["tau_shape"], star["tau_shift"], star["tau_scale"]) == ("shifted_cosine", -0.4, 0.7)
    assert options["DCLW"]["weighted"] is True and options["DCL"]["weighted"] is False
    assert options["Kukleva"]["tau_schedule"] == "kukleva" and options["Kukleva"]["schedule_t_max"] == 0.5  # 5 / 10
    assert options["DySTreSS-linear"]["tau_shape"] == "linear"
    assert options["DySTreSS-exponential"]["tau_shape"] == "exponential"
    assert options["DySTreSS-grad"]["detach_tau"] is False and options["DySTreSS"]["detach_tau"] is True
    assert (configs["MoCo"].negatives, configs["MoCo"].queue_size) == ("queue", 4096) == \
        (configs["Hard-MoCo"].negatives, configs["Hard-MoCo"].queue_size)
    assert configs["SimCLR"].negatives == "batch"
    assert configs["SimCSE"] == configs["SimCLR"]  # the same loss; SimCSE's views are two dropout masks of a sentence
    assert len({c.run_hash() for c in configs.values()}) == len(configs) - 1  # every other recipe a different run
    different = {"loss", "loss_options", "negatives", "queue_size"}
    shared = {k: v for k, v in configs["SimCLR"].to_dict().items() if k not in different}
    for config in configs.values():  # everything but the loss and its negatives is the same recipe
        assert {k: v for k, v in config.to_dict().items() if k not in different} == shared


def test_a_registered_name_is_refused_and_unknown_methods_are_named():
    with pytest.raises(ValueError, match="recipe 'SimCLR' is registered already"):
        recipes.register(Recipe("SimCLR", "", "", lambda base, s: base))
    with pytest.raises(ValueError, match="methods must be among SimCLR, DySTreSS.*; got Tiny"):
        recipes.check_methods(["SimCLR", "Tiny"])
    with pytest.raises(ValueError, match="method must be one of"):
        recipes.configure(studies.base_config("smoke"), "Tiny")


def test_every_profile_compares_registered_methods():
    for name, profile in PROFILES.items():
        assert recipes.check_methods(list(profile.choices["methods"])), name


def test_the_methods_table_has_a_row_per_method_in_order():
    table = recipes.methods_table(["DySTreSS", "SimCLR"]).splitlines()
    assert table[0] == "| method | change | what it does to the gradient |" and len(table) == 4
    assert table[2].startswith("| DySTreSS | ") and table[3].startswith("| SimCLR | ")
