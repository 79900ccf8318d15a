"""sentence-transformers' ``sentence_transformers.cross_encoder`` namespace: ``CrossEncoder`` here, its
losses in ``sbert.cross_encoder.losses`` and evaluators in ``sbert.cross_encoder.evaluation``.

Importing it does not import torch: the model's torch side loads only when a model runs on torch.
"""

from __future__ import annotations

from .._cross_encoder.model import CrossEncoder

__all__ = ["CrossEncoder"]
