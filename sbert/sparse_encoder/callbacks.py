"""sentence-transformers' ``sentence_transformers.sparse_encoder.callbacks``: the schedule of SpladeLoss's
regularizer weights (``SpladeRegularizerWeightSchedulerCallback``) and its ``SchedulerType``."""

from __future__ import annotations

from .._training.splade_schedule import SchedulerType, SpladeRegularizerWeightSchedulerCallback

__all__ = ["SchedulerType", "SpladeRegularizerWeightSchedulerCallback"]

__path__: list[str] = []  # a package for sentence-transformers' file paths (sbert._module_paths)
