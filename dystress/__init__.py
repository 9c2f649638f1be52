"""dystress: the mathematics, engine and notebook pipeline behind the DySTreSS notebook series.

    from dystress import DySTreSSLoss, TemperatureFunction, resolve
    loss = DySTreSSLoss(tau_min=0.07, tau_max=0.2)(z0, z1)            # z0, z1: (N, d) projections of two views
    config = resolve("small", loss="ntxent", temperature=0.2)          # a validated training configuration

The package has three layers, each importing only from those before it:
    dystress.mathematics   temperature functions, losses, memory bank, theory, metrics, vMF mixtures
    dystress.engine        configuration, data, augmentation, models, trainer, evaluation, run folder
    dystress.pipeline      compute-or-load, recipes of the compared methods, studies, statistics over seeds,
                           the verdict, notebook parameters and execution, figures, the summary, the book
"""

from dystress.engine.config import TrainConfig, resolve  # noqa: E402
from dystress.mathematics.losses import (  # noqa: E402
    LOSSES,
    ContrastiveLoss,
    DCLLoss,
    DySTreSSLoss,
    HardContrastiveLoss,
    InfoNCELoss,
    ISogCLRLoss,
    LossOptions,
    MACLLoss,
    NTXentLoss,
    SimpleLoss,
    make_loss,
)
from dystress.mathematics.temperature import TemperatureFunction, kukleva_schedule  # noqa: E402
from dystress.version import __version__  # noqa: E402, F401

__all__ = [
    "LOSSES", "ContrastiveLoss", "DCLLoss", "DySTreSSLoss", "HardContrastiveLoss", "InfoNCELoss", "ISogCLRLoss",
    "LossOptions", "MACLLoss", "NTXentLoss", "SimpleLoss", "TemperatureFunction", "TrainConfig", "kukleva_schedule",
    "make_loss", "resolve",
]


def __getattr__(name: str):
    if name == "TemperatureProfile":  # the name before temperature functions were told from run profiles
        from dystress.mathematics import temperature

        return temperature.TemperatureProfile
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
