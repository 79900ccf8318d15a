"""sentence-transformers 6's ``sparse_encoder.modules.Transformer``: there one class for both transformer
tasks. sbert has two (``sbert.models.Transformer`` for embeddings, the masked-LM
``mlm_transformer.Transformer``); this name builds the one ``transformer_task`` asks for and answers
isinstance for both."""

from __future__ import annotations

from typing import Any

from .._modules.transformer import Transformer as Encoder
from .mlm_transformer import Transformer as MaskedLM

_KINDS = (Encoder, MaskedLM)


class _EitherTransformer(type):
    def __call__(cls, *args: Any, transformer_task: str = "feature-extraction", **kwargs: Any) -> Any:
        if cls is not Transformer:  # a user's subclass is its own class
            return super().__call__(*args, transformer_task=transformer_task, **kwargs)
        if transformer_task == "fill-mask":  # SPLADE's masked-LM
            return MaskedLM(*args, transformer_task=transformer_task, **kwargs)
        # sentence-transformers' default: an embedding model (a CSR model's first module)
        return Encoder(*args, transformer_task=transformer_task, **kwargs)

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, _KINDS) if cls is Transformer else super().__instancecheck__(instance)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, _KINDS) if cls is Transformer else super().__subclasscheck__(subclass)


class Transformer(metaclass=_EitherTransformer):
    """``Transformer(path)`` embeds (``transformer_task="feature-extraction"``, the CSR architecture's first
    module); ``Transformer(path, transformer_task="fill-mask")`` is SPLADE's masked-LM. Either kind of
    module is an instance of this class."""

    config_keys = list(Encoder.config_keys)  # both kinds' (one list), as sentence-transformers' one class
