"""sentence-transformers' ``sentence_transformers.cross_encoder.util`` path: the cross-encoder's argument
decorators, which live in :mod:`sbert.util.decorators`."""

from __future__ import annotations

from ..util.decorators import cross_encoder_init_args_decorator, cross_encoder_predict_rank_args_decorator

__all__ = ["cross_encoder_init_args_decorator", "cross_encoder_predict_rank_args_decorator"]
