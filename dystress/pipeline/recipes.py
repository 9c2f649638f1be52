"""The compared methods: a registry of recipes, each turning a profile's base configuration into one method's.

A recipe is a method's name, what it changes (a formula, for the notebooks' method table), what that does to
the gradient, and ``configure(base, settings)``, which returns the method's ``TrainConfig`` on top of ``base``
(same data, model, optimiser, epochs and seed). ``settings`` carries the temperatures a notebook chooses
(``Settings``). Adding a compared method is one ``register(Recipe(...))``: the notebooks' method tables, the
``methods`` parameter's check and the studies read the registry. Another package adds its recipes by naming a
module that registers them in the entry point group ``dystress.recipes`` (``load_plugins``).

    SimCLR, DySTreSS, DySTreSS*, MACL, DCL, DCLW, Hard, Kukleva, iSogCLR      notebook 04's nine
    SimCSE                                                                     notebook 09's baseline
    DySTreSS-linear, DySTreSS-exponential, DySTreSS-grad                       DySTreSS's ablations (06)
    Simple, MoCo, Hard-MoCo                                                    Wang & Liu's losses (04, 06)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dystress import checks
from dystress.engine.config import TrainConfig

KUKLEVA_PERIODS = 5  # periods of the Kukleva schedule per run: Kukleva et al.'s 2,000 epochs / period 400


@dataclass(frozen=True)
class Settings:
    """The temperatures a notebook chooses for the recipes that use them."""

    temperature: float = 0.2  # constant temperature of SimCLR, DCL, the hard loss; MACL's tau_0
    tau_min: float = 0.07  # DySTreSS lower temperature
    tau_max: float = 0.2  # DySTreSS upper temperature
    alpha: float = 0.5  # MACL: how fast its temperature follows the alignment
    a0: float = 0.0  # MACL: the alignment at which its temperature is tau_0


@dataclass(frozen=True)
class Recipe:
    """One compared method: ``name``, ``change`` (what it changes, Markdown with math), ``effect`` (what that
    does to the gradient) and ``configure(base, settings) -> TrainConfig``."""

    name: str
    change: str
    effect: str
    configure: Callable[[TrainConfig, Settings], TrainConfig]

    def __call__(self, base: TrainConfig, settings: Settings = Settings()) -> TrainConfig:
        return self.configure(base, settings)


RECIPES: dict[str, Recipe] = {}


def register(recipe: Recipe) -> Recipe:
    """Add ``recipe`` to ``RECIPES``; a name already registered is refused."""
    if recipe.name in RECIPES:
        raise ValueError(f"recipe {recipe.name!r} is registered already; registered: {', '.join(RECIPES)}")
    RECIPES[recipe.name] = recipe
    return recipe


def check_methods(methods: list[str]) -> list[str]:
    """``methods`` if each is a registered recipe; else a ValueError naming the unknown ones and the choices."""
    unknown = [m for m in methods if m not in RECIPES]
    if unknown:
        raise ValueError(f"methods must be among {', '.join(RECIPES)}; got {', '.join(map(str, unknown))}")
    return list(methods)


def configure(base: TrainConfig, method: str, settings: Settings = Settings()) -> TrainConfig:
    """The configuration of ``method`` (a registered recipe) on top of ``base``."""
    checks.one_of("method", method, tuple(RECIPES))
    return RECIPES[method](base, settings)


def methods_table(methods: list[str]) -> str:
    """The Markdown table of ``methods``: name, what each changes and what that does to the gradient."""
    check_methods(list(methods))
    lines = ["| method | change | what it does to the gradient |", "|---|---|---|"]
    lines += [f"| {RECIPES[m].name} | {RECIPES[m].change} | {RECIPES[m].effect} |" for m in methods]
    return "\n".join(lines)


def _shifted(base: TrainConfig, s: Settings, **shape) -> TrainConfig:
    return base.replace(loss="dystress", tau_min=s.tau_min, tau_max=s.tau_max, tau_shape="shifted_cosine",
                        tau_shift=-0.4, tau_scale=0.7, **shape)


COSINE = r"$\tau_{ij} = \tau_{\min} + (\tau_{\max} - \tau_{\min})\sin^2(\pi s_{ij}/2)$"

register(Recipe(
    "SimCLR", r"$\tau$ constant", "the reference",
    lambda base, s: base.replace(loss="ntxent", temperature=s.temperature)))
register(Recipe(
    "DySTreSS", COSINE + ", from detached $s$",
    r"low $\tau$ (sharp push) for pairs near orthogonal, high $\tau$ near $s = \pm 1$",
    lambda base, s: base.replace(loss="dystress", tau_min=s.tau_min, tau_max=s.tau_max)))
register(Recipe(
    "DySTreSS*", r"the shifted function $\tau_{\min} + \tfrac12\Delta\big(1 + \cos(\pi(s + \delta)/k)\big)$ for "
    r"$s \le -\delta$, $\tau_{\max}$ above; $\delta = -0.4$, $k = 0.7$",
    r"the low-temperature region moves to negative similarities: $\tau_{\min}$ at $s = -\delta - k = -0.3$, and "
    r"$\tau = \tau_{\max}$ for every $s > 0.4$",
    _shifted))
register(Recipe(
    "MACL", r"$\tau = \tau_0(1 + \alpha(A - A_0))$, $A$ the batch's mean positive similarity; each $\ell_i$ "
    r"weighted by $1/(1 - P_{ip})$",
    "the temperature rises as the views align",
    lambda base, s: base.replace(loss="macl", temperature=s.temperature, alpha=s.alpha, a0=s.a0)))
register(Recipe(
    "DCL", "the positive's term left out of the denominator",
    "removes the negative-positive coupling that shrinks the gradient at small batch sizes",
    lambda base, s: base.replace(loss="dcl", temperature=s.temperature)))
register(Recipe(
    "DCLW", r"DCL with the positive's logit weighted by $w_i = 2 - e^{s_{ip}/\sigma} / \mathrm{mean}_k\, "
    r"e^{s_{kp}/\sigma}$, $\sigma = 0.5$",
    "a weaker pull on positives that are already close",
    lambda base, s: base.replace(loss="dcl", temperature=s.temperature, weighted=True)))
register(Recipe(
    "Hard", r"only the most similar negatives, a share $\alpha = 0.0819$ of them, in the denominator",
    "Wang & Liu's explicit hard-negative loss",
    lambda base, s: base.replace(loss="hard", temperature=s.temperature)))
register(Recipe(
    "Kukleva", r"$\tau(e) = \tau_{\min} + \tfrac12(\tau_{\max} - \tau_{\min})(1 + \cos(\pi e / T))$, $[0.1, 1]$, at "
    r"the fractional epoch $e$ of every step; $T$ = epochs / 10, five periods in any run as Kukleva et al.'s "
    r"period of 400 in 2,000 epochs (`small`: $T = 1.8$)",
    r"alternates instance discrimination (low $\tau$) and group structure (high $\tau$)",
    lambda base, s: base.replace(loss="ntxent", tau_schedule="kukleva",
                                 schedule_t_max=base.epochs / KUKLEVA_PERIODS / 2)))
register(Recipe(
    "iSogCLR", r"a temperature $\tau_i$ per image, learned by gradient descent on a distributionally robust "
    "objective", "each image chooses how sharply it pushes",
    lambda base, s: base.replace(loss="isogclr")))
register(Recipe(
    "SimCSE", r"$\tau$ constant; the two views of a sentence are two dropout masks of the encoder",
    "unsupervised SimCSE: SimCLR's loss on sentence embeddings (notebook 09)",
    lambda base, s: base.replace(loss="ntxent", temperature=s.temperature)))
register(Recipe(
    "DySTreSS-linear", r"$\tau_{ij} = \tau_{\min} + (\tau_{\max} - \tau_{\min})\,|s_{ij}|$",
    "the cosine function's range and end points with a linear shape (the paper's shape ablation)",
    lambda base, s: base.replace(loss="dystress", tau_min=s.tau_min, tau_max=s.tau_max, tau_shape="linear")))
register(Recipe(
    "DySTreSS-exponential", r"$\tau_{ij} = \tau_{\min}(\tau_{\max} / \tau_{\min})^{|s_{ij}|}$",
    "the same range with an exponential shape (the paper's shape ablation)",
    lambda base, s: base.replace(loss="dystress", tau_min=s.tau_min, tau_max=s.tau_max,
                                 tau_shape="exponential")))
register(Recipe(
    "DySTreSS-grad", COSINE + r", differentiated: the gradient flows through $\tau(s)$",
    r"adds $\partial \ell / \partial \tau \cdot \tau'(s)$ to every pair's gradient (notebook 02)",
    lambda base, s: base.replace(loss="dystress", tau_min=s.tau_min, tau_max=s.tau_max, detach_tau=False)))
register(Recipe(
    "Simple", r"$\ell_i = -s_{ip} + \mathrm{mean}_j\, s_{ij}$: InfoNCE as $\tau \to \infty$, up to a factor",
    "every negative pushed equally: no hardness-aware property (Wang & Liu)",
    lambda base, s: base.replace(loss="simple")))
register(Recipe(
    "MoCo", r"SimCLR's loss with its negatives from a queue of 4,096 keys of a momentum encoder (0.99)",
    "many more negatives per anchor than a batch of 64 holds",
    lambda base, s: base.replace(loss="ntxent", temperature=s.temperature, negatives="queue", queue_size=4096)))
register(Recipe(
    "Hard-MoCo", r"the hard loss on MoCo's queue of 4,096 keys: the most similar 8.19 % of them",
    "Wang & Liu's hard loss with a memory bank of negatives to choose from, as they run it",
    lambda base, s: base.replace(loss="hard", temperature=s.temperature, negatives="queue", queue_size=4096)))


def load_plugins() -> None:
    """Import the modules other packages name in the entry point group ``dystress.recipes``: each registers its
    recipes, which every notebook, the ``methods`` parameter and ``dystress run`` then know."""
    from importlib.metadata import entry_points

    for entry in entry_points(group="dystress.recipes"):
        entry.load()


load_plugins()
