"""The mathematics: temperature profiles tau(s), the contrastive losses on one InfoNCE core, the memory bank,
closed-form theory, representation metrics and von Mises-Fisher mixtures. Depends on torch alone."""
