"""The torch modules a CrossEncoder shows: sentence-transformers 6's module list, whose module 0 holds the
transformers model as ``model``, so ``state_dict``, ``named_parameters`` and ``model[0].model`` have its names
(``0.model.bert.embeddings...``). A causal language model used as a reranker (Qwen3-Reranker style) has a
second module, :class:`LogitScore`, that turns its next-token logits into one score per pair."""

from __future__ import annotations

import copy
import os
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import nn

from .._format.transformer_config import CONFIG_KEYS
from .._modules.base import InputModule, Module
from .._modules.task_defaults import TaskDefaultSettings
from .._modules.transformer import encoder_alias
from .._modules.transformer_outputs import embedding_dimension
from .config import LOGIT_SCORE_KEYS, TEXT_GENERATION, TRANSFORMER_TASK_OUTPUTS
from .loading import write_transformer
from .runners import forward_parameters


class Transformer(TaskDefaultSettings, InputModule):
    """A CrossEncoder's module 0, as sentence-transformers 6's ``Transformer``: ``transformer_task``
    "sequence-classification" (logits as ``"scores"``) or "text-generation" (the last position's
    vocabulary logits as ``"causal_logits"``). The transformers model is ``model`` (``auto_model``: its older
    name). The CrossEncoder (``owner``, held weakly) keeps the tokenizer and tokenizes pairs itself: this
    module's ``tokenize`` / ``preprocess``, ``tokenizer`` (``processor``), ``max_seq_length`` and ``backend``
    are its, as sentence-transformers' model hands them on to its module 0."""

    config_keys = list(CONFIG_KEYS)
    do_lower_case = False  # a cross-encoder's texts are tokenized as they are
    # sentence-transformers' Module attributes (its settings file, saved at the model's root, no keywords)
    config_file_name = "sentence_bert_config.json"
    config_key_renames: dict[str, str] = {}
    save_in_root = True
    forward_kwargs: list[str] = []

    def __init__(
        self,
        model: Any,
        transformer_task: str = "sequence-classification",
        *,
        owner: Any = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.transformer_task = transformer_task
        self._owner = weakref.ref(owner) if owner is not None else None
        self._config = config or {}

    auto_model = encoder_alias

    def forward(self, features: dict[str, Any]) -> dict[str, Any]:
        """``features`` with the model's logits added under the task's output name."""
        names = forward_parameters(self.model)
        inputs = {k: v for k, v in features.items() if k in names}
        if self.transformer_task == TEXT_GENERATION:  # the last (real: left padding) position only
            inputs.setdefault("logits_to_keep", 1)
        features[TRANSFORMER_TASK_OUTPUTS[self.transformer_task]] = self.model.forward(**inputs).logits
        return features

    def __getstate__(self) -> dict[str, Any]:  # pickled alone (torch.save): without its CrossEncoder
        return {**self.__dict__, "_owner": None}

    def belongs_to(self, model: Any) -> bool:
        """Whether ``model`` is the CrossEncoder that tokenizes for this module."""
        return self._owner is not None and self._owner() is model

    def _cross_encoder(self) -> Any:
        owner = self._owner() if self._owner is not None else None
        if owner is None:
            raise AttributeError("This Transformer module is no longer part of a CrossEncoder.")
        return owner

    def tokenize(self, texts: Any, **kwargs: Any) -> Any:
        """The model's :meth:`~CrossEncoder.tokenize` (deprecated for :meth:`preprocess`, as there)."""
        return self._cross_encoder().tokenize(texts, **kwargs)

    def preprocess(self, inputs: Any, prompt: str | None = None, **kwargs: Any) -> Any:
        """The model's :meth:`~CrossEncoder.preprocess`: the features of a list of pairs."""
        return self._cross_encoder().preprocess(inputs, prompt=prompt, **kwargs)

    @property
    def tokenizer(self) -> Any:
        return self._cross_encoder().tokenizer

    @property
    def backend(self) -> str:
        return self._cross_encoder().backend

    @property
    def max_seq_length(self) -> Any:
        return self._cross_encoder().max_seq_length

    @max_seq_length.setter
    def max_seq_length(self, value: int) -> None:
        self._cross_encoder().max_seq_length = value

    def get_config_dict(self) -> dict[str, Any]:
        """Its settings as sentence-transformers saves them in ``sentence_bert_config.json``."""
        return copy.deepcopy(self._config)

    def __repr__(self) -> str:  # sentence-transformers 6's: the settings and the transformers class
        return f"Transformer({dict(self.get_config_dict(), architecture=type(self.model).__name__)})"

    def get_embedding_dimension(self) -> int:
        """The encoder's hidden size, as sentence-transformers reads it from the model's config."""
        return embedding_dimension(self.model.config, TRANSFORMER_TASK_OUTPUTS[self.transformer_task])

    def save(self, output_path: str | os.PathLike, *args: Any, **kwargs: Any) -> None:
        """The transformers model, the tokenizer's files and ``sentence_bert_config.json`` in
        ``output_path``, as sentence-transformers' ``Transformer.save`` writes them (weights as
        safetensors, whatever ``safe_serialization``)."""
        write_transformer(Path(output_path), self.model, self.tokenizer, self.get_config_dict())


class LogitScore(Module):
    """sentence-transformers 6.3's ``LogitScore``: a causal LM's logit of ``true_token_id`` at the last
    position, less that of ``false_token_id`` when given (log-odds of "yes" over "no"), as ``"scores"``
    ``(B, 1)``."""

    config_keys = list(LOGIT_SCORE_KEYS)

    def __init__(
        self, true_token_id: int, false_token_id: int | None = None, module_input_name: str = "causal_logits"
    ) -> None:
        super().__init__()
        self.true_token_id = true_token_id
        self.false_token_id = false_token_id
        self.module_input_name = module_input_name

    def forward(self, features: dict[str, Any]) -> dict[str, Any]:
        logits = features[self.module_input_name][:, -1]  # (B, vocab): the last token's
        scores = logits[:, self.true_token_id]
        if self.false_token_id is not None:
            scores = scores - logits[:, self.false_token_id]
        features["scores"] = scores.unsqueeze(1)  # (B, 1)
        return features

    def get_config_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.config_keys}

    def save(self, output_path: str | os.PathLike, *args: Any, **kwargs: Any) -> None:
        self.save_config(str(output_path))


def classifier_network(
    model: Any,
    owner: Any,
    config: dict[str, Any],
    logit_score: dict[str, Any] | None = None,
    names: Sequence[str] = (),
) -> nn.Sequential:
    """``model`` as module 0's ``model`` (``owner``: the CrossEncoder that tokenizes for it; ``config``: its
    saved settings): a ``*ForSequenceClassification`` alone, or a ``*ForCausalLM`` followed by a
    :class:`LogitScore` of ``logit_score`` (its saved config); the modules named ``names`` (modules.json's),
    else by position."""
    if logit_score is None:
        modules: list[nn.Module] = [Transformer(model, owner=owner, config=config)]
    else:
        modules = [Transformer(model, TEXT_GENERATION, owner=owner, config=config), LogitScore(**logit_score)]
    if len(names) != len(modules):
        names = [str(i) for i in range(len(modules))]
    return nn.Sequential(OrderedDict(zip(names, modules)))
