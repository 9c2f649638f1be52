"""dystress: the mathematics, engine and metrics behind the DySTreSS notebook series.

    from dystress.losses import DySTreSSLoss, NTXentLoss
    loss = DySTreSSLoss(tau_min=0.07, tau_max=0.2)(z0, z1)
"""

__version__ = "0.1.0"
