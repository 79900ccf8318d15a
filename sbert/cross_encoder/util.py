"""sentence-transformers' ``cross_encoder.util`` module path: its CrossEncoder decorators, re-exported from
``util.decorators`` as there."""

from ..util.decorators import cross_encoder_init_args_decorator, cross_encoder_predict_rank_args_decorator

__all__ = ["cross_encoder_init_args_decorator", "cross_encoder_predict_rank_args_decorator"]
