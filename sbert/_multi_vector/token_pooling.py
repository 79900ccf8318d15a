"""Token pooling: fewer vectors per document, sentence-transformers 6.3's ``BaseTokenPooling`` and
``LambdaTokenPooling`` (``HierarchicalTokenPooling``, its Ward clustering, is in ``hierarchical_pooling``).

A token pooling maps each text's ``(tokens, dim)`` vectors to ``(fewer, dim)``, for the tasks it lists
(documents by default: a ColBERT index is the side worth compressing). It runs in two places, as in
sentence-transformers: as the last module of a MultiVectorEncoder's pipeline (``forward``: the padded
batch and its scoring mask in, the pooled batch and a new mask out; saved in ``modules.json``), or after
encoding (``encode(token_pooling=...)``, the model's ``token_pooling`` default, or :meth:`pool` on its
own), on each text's scored tokens.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from .._errors import InputError, UnsavableModuleError, warn_at_caller
from .._modules.base import Module

PADDING_SIDES = ("left", "right")
HALF_DTYPES = (torch.float16, torch.bfloat16)


class BaseTokenPooling(Module, ABC):
    """A token pooling (see the module docstring): subclasses write :meth:`pool_one`, one text's
    ``(tokens, dim)`` vectors to ``(fewer, dim)``, and list their saved settings in ``config_keys``.

    Args:
        tasks: the tasks whose inputs are pooled (one name or a list; default ``["document"]``); an input
            encoded without a task counts as a document. Others pass through unchanged.
    """

    config_keys: list[str] = ["tasks"]
    forward_kwargs: set[str] = {"task"}

    def __init__(self, *, tasks: str | list[str] | None = None) -> None:
        super().__init__()
        if isinstance(tasks, str):
            tasks = [tasks]
        if tasks is not None and not all(isinstance(task, str) for task in tasks):
            raise InputError(f"token pooling tasks must be task names (strings), got {tasks!r}.")
        self.tasks: list[str] = list(tasks) if tasks is not None else ["document"]

    def applies_to(self, task: str | None) -> bool:
        """Whether inputs encoded for ``task`` are pooled (``None`` counts as ``"document"``)."""
        return (task or "document") in self.tasks

    def forward(self, features: dict[str, Any], task: str | None = None) -> dict[str, Any]:
        """The pipeline step: each text's scored tokens (``attention_mask``) pooled, right-padded again into
        ``token_embeddings`` ``(B, fewer, dim)`` with a new boolean ``attention_mask``."""
        tokens = features["token_embeddings"]
        if not self.applies_to(task) or tokens.shape[0] == 0:
            return features
        # the scoring mask may have holes (a skiplist), not only trailing padding
        mask = features["attention_mask"].bool()
        pooled = self._pool_documents([text[keep] for text, keep in zip(tokens, mask)])
        lengths = torch.tensor([len(text) for text in pooled], device=tokens.device)
        features["token_embeddings"] = pad_texts(pooled, "right").to(tokens.device)
        features["attention_mask"] = torch.arange(int(lengths.max()), device=tokens.device) < lengths[:, None]
        return features

    def pool(
        self,
        embeddings: list[Tensor] | Tensor,
        *,
        task: str | None = None,
        attention_mask: Tensor | None = None,
        padding_side: str = "right",
    ) -> list[Tensor] | Tensor:
        """Pool a list of ``(tokens_i, dim)`` tensors (a list back), or a padded ``(B, T, dim)`` tensor (a
        tensor padded on ``padding_side`` back). A padded batch's texts are its ``attention_mask`` rows, or
        without one, the span between its first and last non-zero vectors. Inputs of a ``task`` this pooling
        does not list come back unchanged."""
        if not self.applies_to(task):
            return embeddings
        if isinstance(embeddings, Tensor):
            if embeddings.ndim != 3:
                raise InputError(
                    f"Tensor input must be 3D, padded (B, T, dim), got shape {tuple(embeddings.shape)}; "
                    "pass a list of (tokens, dim) tensors for unpadded texts."
                )
            _check_padding_side(padding_side)
            if embeddings.shape[0] == 0:
                return embeddings.new_zeros((0, 0, embeddings.shape[-1]))
            texts = unpad_texts(embeddings, attention_mask, padding_side)
            return pad_texts(self._pool_documents(texts), padding_side)
        if isinstance(embeddings, list):
            if embeddings and getattr(embeddings[0], "ndim", None) != 2:
                raise InputError(
                    "Each text to pool must be a (tokens, dim) tensor, got shape "
                    f"{tuple(getattr(embeddings[0], 'shape', ()))}."
                )
            return self._pool_documents(embeddings) if embeddings else []
        raise InputError(
            f"pool() takes a list of (tokens, dim) tensors or a padded (B, T, dim) tensor, got "
            f"{type(embeddings).__name__}."
        )

    @abstractmethod
    def pool_one(self, embedding: Tensor, **kwargs: Any) -> Tensor:
        """One text's ``(tokens, dim)`` vectors pooled to ``(fewer, dim)``."""

    def _pool_documents(self, embeddings: list[Tensor]) -> list[Tensor]:
        """Each text pooled; a subclass may pool several at once."""
        return [self.pool_one(embedding) for embedding in embeddings]

    def save(self, output_path: str, *args: Any, safe_serialization: bool = True, **kwargs: Any) -> None:
        self.save_config(output_path)


class LambdaTokenPooling(BaseTokenPooling):
    """A token pooling by the caller's function, ``(tokens, dim)`` tensor to ``(fewer, dim)``, applied to each
    text. A Python function is not saved: use it per call (``encode(token_pooling=...)``), as the model's
    ``token_pooling``, or on its own (:meth:`pool`); a pipeline module that saves subclasses
    :class:`BaseTokenPooling`.

    Example::

        def halve(tokens):  # the mean of each pair of neighbouring tokens
            n = tokens.size(0) - tokens.size(0) % 2
            return tokens[:n].view(n // 2, 2, -1).mean(dim=1)

        pooled = LambdaTokenPooling(pool_fn=halve).pool(document_embeddings)
    """

    def __init__(self, pool_fn: Callable[[Tensor], Tensor], *, tasks: str | list[str] | None = None) -> None:
        super().__init__(tasks=tasks)
        if not callable(pool_fn):
            raise InputError(
                f"LambdaTokenPooling needs a function of a (tokens, dim) tensor, got {pool_fn!r}."
            )
        self.pool_fn = pool_fn

    def pool_one(self, embedding: Tensor, **kwargs: Any) -> Tensor:
        return self.pool_fn(embedding)

    def save(self, output_path: str, *args: Any, safe_serialization: bool = True, **kwargs: Any) -> None:
        raise UnsavableModuleError(
            "LambdaTokenPooling holds a Python function, which cannot be saved. Pass it per call "
            "(encode(token_pooling=...)) or as the model's token_pooling instead of a pipeline module, or "
            "subclass BaseTokenPooling (its settings in config_keys) for a module that saves."
        )


def unpad_texts(embeddings: Tensor, attention_mask: Tensor | None, padding_side: str) -> list[Tensor]:
    """Each text's ``(tokens, dim)`` rows of a padded batch: its mask's rows, or without a mask, from the
    first to the last non-zero row (padding is zero; zero rows inside a text are kept)."""
    if attention_mask is not None:
        return [text[keep] for text, keep in zip(embeddings, attention_mask.bool())]
    _check_padding_side(padding_side)
    texts = []
    for text in embeddings:
        nonzero = (text.abs().sum(dim=-1) > 0).nonzero(as_tuple=True)[0]
        if nonzero.numel() == 0:
            texts.append(text[:0])
        elif padding_side == "right":
            texts.append(text[: int(nonzero[-1]) + 1])
        else:
            texts.append(text[int(nonzero[0]) :])
    return texts


def pad_texts(texts: list[Tensor], padding_side: str) -> Tensor:
    """``(tokens_i, dim)`` tensors as one ``(B, max tokens, dim)`` batch, zero-padded on ``padding_side``."""
    pad = torch.nn.utils.rnn.pad_sequence
    if padding_side == "right":
        return pad(texts, batch_first=True, padding_value=0.0)
    return pad([text.flip(0) for text in texts], batch_first=True, padding_value=0.0).flip(1)


def _check_padding_side(padding_side: str) -> None:
    if padding_side not in PADDING_SIDES:
        raise InputError(f"padding_side must be 'left' or 'right', got {padding_side!r}.")


def check_token_pooling(token_pooling: Any) -> None:
    """A model's or an encode call's ``token_pooling``: a :class:`BaseTokenPooling` or ``None``."""
    if token_pooling is not None and not isinstance(token_pooling, BaseTokenPooling):
        raise InputError(
            "token_pooling must be a token pooling module (a BaseTokenPooling: HierarchicalTokenPooling, "
            "LambdaTokenPooling, from sbert.multi_vector_encoder.modules) or None, got "
            f"{type(token_pooling).__name__}."
        )


def unit_length(tokens: Tensor) -> Tensor:
    """Unit-length rows; half precision normalized in float32 and cast back."""
    if tokens.dtype in HALF_DTYPES:
        return torch.nn.functional.normalize(tokens.float(), dim=-1).to(tokens.dtype)
    return torch.nn.functional.normalize(tokens, dim=-1)


def warn_if_compounding(pipeline: Any, token_pooling: BaseTokenPooling | None, task: str | None) -> None:
    """Warn that ``token_pooling`` pools texts the pipeline's own pooling module has pooled already."""
    if token_pooling is None or not token_pooling.applies_to(task):
        return
    if any(isinstance(module, BaseTokenPooling) for module in pipeline):
        warn_at_caller(
            "This model's pipeline pools tokens already; the token_pooling given pools its output further "
            "(compounding). Pass token_pooling=None to use the pipeline's pooling alone."
        )
