"""dystress: the mathematics, engine and notebook pipeline behind the DySTreSS notebook series.

    from dystress import DySTreSSLoss, TemperatureProfile, resolve
    loss = DySTreSSLoss(tau_min=0.07, tau_max=0.2)(z0, z1)            # z0, z1: (N, d) projections of two views
    config = resolve("small", loss="ntxent", temperature=0.2)          # a validated training configuration

The package has three layers, each importing only from those before it:
    dystress.mathematics   temperature profiles, losses, memory bank, theory, metrics, vMF mixtures
    dystress.engine        configuration, data, augmentation, models, trainer, evaluation, run folder
    dystress.pipeline      compute-or-load, notebook recipes and parameters, execution, figures, summary
"""

__version__ = "0.1.0"

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
    make_loss,
)
from dystress.mathematics.temperature import TemperatureProfile, kukleva_schedule  # noqa: E402

__all__ = [
    "LOSSES", "ContrastiveLoss", "DCLLoss", "DySTreSSLoss", "HardContrastiveLoss", "InfoNCELoss", "ISogCLRLoss",
    "LossOptions", "MACLLoss", "NTXentLoss", "TemperatureProfile", "TrainConfig", "kukleva_schedule", "make_loss",
    "resolve",
]
