"""The recipes of notebooks 04-08: the named methods they compare, their configurations per profile, and
the runner's summary rows.

Every notebook states its experiment through a few parameters (profile, dataset, epochs, temperatures);
the functions here turn them into validated ``TrainConfig`` objects on top of the profile
(``dystress.engine.config.PROFILES``), so that the notebooks, the sweep and the command line agree on what
a name means:

    SimCLR     NT-Xent with the constant ``temperature``
    DySTreSS   the cosine profile tau(s) in [tau_min, tau_max]
    DySTreSS*  the shifted cosine profile in [tau_min, tau_max], shift -0.4, scale 0.7 (the paper's best shift)
    MACL       alignment-adaptive temperature with tau_0 = ``temperature``, alpha 0.5, A_0 0
    DCL        decoupled loss (the positive left out of the denominator) with the constant ``temperature``
    DCLW       DCL with the positive pair weighted by its von Mises-Fisher weight, sigma 0.5
    Hard       Wang & Liu's hard loss, the 8.19 % hardest negatives, constant ``temperature``
    Kukleva    NT-Xent with Kukleva et al.'s cosine schedule tau in [0.1, 1.0], evaluated at the fractional
               epoch of every step, half period T = epochs / 10: five periods over any run length, the ratio
               of Kukleva et al.'s period of 400 epochs to their 2,000 (``small``: T = 1.8 epochs)
    iSogCLR    a learned temperature per image (Qiu et al.), its defaults: tau in [0.05, 1.0] from 0.1
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from dystress import checks
from dystress.atomic import write_text
from dystress.engine.config import MAX_SEED, PROFILES, TrainConfig, resolve

KUKLEVA_PERIODS = 5  # periods of the Kukleva schedule per run: Kukleva et al.'s 2,000 epochs / period 400
RECIPES = ("SimCLR", "DySTreSS", "DySTreSS*", "MACL", "DCL", "DCLW", "Hard", "Kukleva", "iSogCLR")  # by name
SMOKE_RECIPES = ("SimCLR", "DySTreSS", "MACL", "DCL", "Hard", "Kukleva")  # six, to keep smoke within minutes

# the shifted profiles of 06: the offset swept at DySTreSS*'s scale 0.7, the scale swept at its offset -0.4
SHIFTED_CROSS = ((-0.6, 0.7), (-0.4, 0.7), (-0.2, 0.7), (0.0, 0.7), (-0.4, 0.5), (-0.4, 1.0))

# what the notebooks choose per profile, beyond its training settings: the recipes of 04/05, the long-tailed
# set of 07, the seeds of 04/05/07 ("seeds"), of the constant-temperature sweep of 06 ("sweep_seeds") and of its
# DySTreSS grid and shifted profiles ("grid_seeds"), the upper temperatures of that grid and the [shift, scale]
# pairs of its shifted profiles
NOTEBOOK_CHOICES = {
    "smoke": {"recipes": SMOKE_RECIPES, "long_tail": "digits-lt", "imbalance_ratio": 0.1, "seeds": (0,),
              "sweep_seeds": (0,), "grid_seeds": (0,),
              "tau_maxs": (0.2,), "shifted": ((-0.4, 0.7), (0.0, 0.7))},
    "small": {"recipes": RECIPES, "long_tail": "cifar10-lt", "imbalance_ratio": 0.01, "seeds": (0, 1, 2),
              "sweep_seeds": (0, 1, 2), "grid_seeds": (0, 1, 2),
              "tau_maxs": (0.2, 0.5, 1.0), "shifted": SHIFTED_CROSS},
    "paper": {"recipes": ("SimCLR", "DySTreSS"), "long_tail": "cifar10-lt", "imbalance_ratio": 0.01,
              "seeds": (0, 1, 2), "sweep_seeds": (0, 1, 2), "grid_seeds": (0, 1, 2),
              "tau_maxs": (0.2,), "shifted": SHIFTED_CROSS},
}


def seed_list(profile: str, seeds: list[int] | None = None, choice: str = "seeds") -> list[int]:
    """The seeds a notebook runs: ``seeds`` if given (distinct, each a valid seed), else the profile's
    ``choice`` ("seeds" for notebooks 04, 05, 07; "sweep_seeds" and "grid_seeds" for the constant temperatures
    of 06 and for its DySTreSS grid and shifted profiles)."""
    checks.one_of("profile", profile, tuple(PROFILES))
    checks.one_of("choice", choice, ("seeds", "sweep_seeds", "grid_seeds"))
    return check_seeds(list(seeds) if seeds else list(NOTEBOOK_CHOICES[profile][choice]))


def check_seeds(seeds: list[int]) -> list[int]:
    """``seeds`` if it lists at least one seed, each a valid seed, none twice; else a ValueError naming them."""
    if not seeds:
        raise ValueError("seeds must list at least one seed, got []")
    for seed in seeds:
        checks.integer("seed", seed, minimum=0, maximum=MAX_SEED)
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}")
    return list(seeds)


def check_methods(methods: list[str]) -> list[str]:
    """``methods`` if each is one of ``RECIPES`` (an empty list: the profile's); else a ValueError naming them."""
    unknown = [m for m in methods if m not in RECIPES]
    if unknown:
        raise ValueError(f"methods must be among {', '.join(RECIPES)}; got {', '.join(map(str, unknown))}")
    return list(methods)


def base_config(profile: str, dataset: str = "", data_dir: str = "", epochs: int = 0, seed: int = 0,
                **overrides) -> TrainConfig:
    """The profile's training configuration for a notebook ("" and 0 mean: the profile's choice)."""
    checks.one_of("profile", profile, tuple(PROFILES))
    settings = {"dataset": dataset or PROFILES[profile]["dataset"], "epochs": epochs or PROFILES[profile]["epochs"],
                "seed": seed}
    if data_dir:
        settings["data_dir"] = data_dir
    return resolve(profile, **(settings | overrides))


def method_config(base: TrainConfig, method: str, temperature: float = 0.2, tau_min: float = 0.07,
                  tau_max: float = 0.2) -> TrainConfig:
    """One of ``RECIPES`` on top of ``base`` (same data, model, optimiser and epochs)."""
    if method == "SimCLR":
        return base.replace(loss="ntxent", temperature=temperature)
    if method == "DySTreSS":
        return base.replace(loss="dystress", tau_min=tau_min, tau_max=tau_max)
    if method == "DySTreSS*":
        return base.replace(loss="dystress", tau_min=tau_min, tau_max=tau_max, tau_profile="shifted_cosine",
                            tau_shift=-0.4, tau_scale=0.7)
    if method == "MACL":
        return base.replace(loss="macl", temperature=temperature)
    if method == "DCL":
        return base.replace(loss="dcl", temperature=temperature)
    if method == "DCLW":
        return base.replace(loss="dcl", temperature=temperature, dcl_weighted=True)
    if method == "Hard":
        return base.replace(loss="hard", temperature=temperature)
    if method == "Kukleva":
        return base.replace(loss="ntxent", tau_schedule="kukleva", schedule_t_max=base.epochs / KUKLEVA_PERIODS / 2)
    if method == "iSogCLR":
        return base.replace(loss="isogclr")
    raise ValueError(f"method must be one of {', '.join(RECIPES)}; got {method!r}")


def method_configs(profile: str, methods: list[str] | None = None, temperature: float = 0.2, tau_min: float = 0.07,
                   tau_max: float = 0.2, **base_arguments) -> dict[str, TrainConfig]:
    """{method: config} for the comparison of notebooks 04/05 (``methods`` None: the profile's list)."""
    base = base_config(profile, **base_arguments)
    chosen = check_methods(list(methods)) if methods else list(NOTEBOOK_CHOICES[profile]["recipes"])
    return {m: method_config(base, m, temperature, tau_min, tau_max) for m in chosen}


def sweep_points(profile: str, taus: list[float], tau_mins: list[float], tau_maxs: list[float], dataset: str = "",
                 data_dir: str = "", epochs: int = 0, seeds: list[int] | None = None,
                 grid_seeds: list[int] | None = None) -> list[dict]:
    """The grid of notebook 06: SimCLR at each constant tau for each of ``seeds``, then DySTreSS at each
    (tau_min <= tau_max) pair for each of ``grid_seeds`` (None or empty: the profile's "sweep_seeds" and
    "grid_seeds"; ``tau_maxs`` empty: the profile's "tau_maxs").

    Each point: {"label", "seed", "method", "temperature" or "tau_min"/"tau_max", "config", "parameters"}, where
    ``label`` names the grid point (the same for every seed) and ``parameters`` are the values that make
    notebook 04 compute exactly ``config``.
    """
    checks.one_of("profile", profile, tuple(PROFILES))
    tau_maxs = list(tau_maxs) or list(NOTEBOOK_CHOICES[profile]["tau_maxs"])
    base = {"dataset": dataset, "data_dir": data_dir, "epochs": epochs}

    def point(label: str, seed: int, method: str, **temperatures: float) -> dict:
        config = method_configs(profile, [method], **temperatures, **base, seed=seed)[method]
        parameters = {"profile": profile} | base | {"seeds": [seed], "methods": [method]} | temperatures
        return {"label": label, "seed": seed, "method": method, **temperatures, "config": config,
                "parameters": parameters}

    points = []
    for seed in seed_list(profile, seeds, "sweep_seeds"):
        points += [point(f"SimCLR-tau{tau:g}", seed, "SimCLR", temperature=tau) for tau in taus]
    for seed in seed_list(profile, grid_seeds, "grid_seeds"):
        points += [point(f"DySTreSS-{lo:g}-{hi:g}", seed, "DySTreSS", tau_min=lo, tau_max=hi)
                   for lo in tau_mins for hi in tau_maxs if lo <= hi]
    return points


def shifted_points(profile: str, pairs: list[list[float]] | None = None, tau_min: float = 0.07,
                   tau_max: float = 0.2, dataset: str = "", data_dir: str = "", epochs: int = 0,
                   seeds: list[int] | None = None) -> list[dict]:
    """The shifted profiles of notebook 06: DySTreSS with the shifted cosine profile in [tau_min, tau_max] at
    each [shift, scale] of ``pairs`` for each of ``seeds`` (None or empty: the profile's "shifted" pairs and
    "grid_seeds").

    tau(s) = tau_min + (tau_max - tau_min) (1 + cos(pi (s + shift) / scale)) / 2 for s <= -shift, tau_max above,
    so tau_min sits at s = -shift - scale and tau climbs back to tau_max at s = -shift (and, for a small scale,
    again at s = -shift - 2 scale); [-0.4, 0.7] is notebook 04's DySTreSS*, its low temperature at s = -0.3.
    Each point: {"label", "seed", "tau_shift", "tau_scale", "config"}.
    """
    checks.one_of("profile", profile, tuple(PROFILES))
    chosen = [list(pair) for pair in (pairs or NOTEBOOK_CHOICES[profile]["shifted"])]
    for pair in chosen:
        if len(pair) != 2:
            raise ValueError(f"pairs must hold [shift, scale] pairs, got {pair!r}")
        checks.number("shift", pair[0])
        checks.number("scale", pair[1], above=0.0)
    base = base_config(profile, dataset=dataset, data_dir=data_dir, epochs=epochs)
    points = []
    for seed in seed_list(profile, seeds, "grid_seeds"):
        for shift, scale in chosen:
            config = base.replace(seed=seed, loss="dystress", tau_min=tau_min, tau_max=tau_max,
                                  tau_profile="shifted_cosine", tau_shift=shift, tau_scale=scale)
            points.append({"label": f"shift{shift:g}-scale{scale:g}", "seed": seed, "tau_shift": shift,
                           "tau_scale": scale, "config": config})
    return points


def long_tail_configs(profile: str, dataset: str = "", imbalance_ratio: float = 0.0, tau_min: float = 0.07,
                      tau_max: float = 0.2, temperature: float = 0.2, **base_arguments) -> dict[str, TrainConfig]:
    """SimCLR, DySTreSS and the Kukleva schedule on the profile's long-tailed dataset (notebook 07)."""
    checks.one_of("profile", profile, tuple(PROFILES))
    defaults = NOTEBOOK_CHOICES[profile]
    base = base_config(profile, dataset=dataset or defaults["long_tail"],
                       imbalance_ratio=imbalance_ratio or defaults["imbalance_ratio"], **base_arguments)
    return {m: method_config(base, m, temperature, tau_min, tau_max) for m in ("SimCLR", "DySTreSS", "Kukleva")}


def summary_row(notebook: str, label: str, result) -> dict:
    """One row of the runner's summary table from a ``runs.RunResult``."""
    s, c = result.summary, result.config
    final = [r for r in result.history if r.get("loss") is not None]
    return {
        "notebook": notebook, "run": label, "seed": c.seed, "dataset": c.dataset, "model": c.model, "loss": c.loss,
        "temperature": c.loss_options.describe_temperature(), "epochs": c.epochs,
        "knn_top1": s.get("knn", {}).get("top1"),
        "linear_top1": s.get("linear", {}).get("top1"),
        "knn10_mean_class": s.get("long_tail", {}).get("knn10_mean_class"),
        "neg_uniformity": -s["uniformity"], "tolerance": s.get("tolerance"),
        "final_loss": final[-1]["loss"] if final else None, "source": result.source,
        "device": result.manifest.get("device"), "train_seconds": result.manifest.get("train_seconds"),
    }


def record_summary(notebook: str, rows: list[dict]) -> Path | None:
    """Write the notebook's rows to ``$DYSTRESS_SUMMARY_DIR/<notebook>.json`` (set by ``dystress run``)."""
    folder = os.environ.get("DYSTRESS_SUMMARY_DIR")
    if not folder:
        return None
    path = Path(folder) / f"{notebook}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps(rows, indent=2))
    return path
