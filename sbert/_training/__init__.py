"""Training: data loading and checks, the Trainer, checkpoints, distributed helpers and recipes."""
