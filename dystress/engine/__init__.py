"""The engine: configuration, datasets, augmentation, models, the trainer, evaluation and the run folder."""
