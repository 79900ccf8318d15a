"""The torch modules a CrossEncoder shows: sentence-transformers 6's module list, whose module 0 holds the
transformers model as ``model``, so ``state_dict``, ``named_parameters`` and ``model[0].model`` have its names
(``0.model.bert.embeddings...``). A causal language model used as a reranker (Qwen3-Reranker style) has a
second module, :class:`LogitScore`, that turns its next-token logits into one score per pair."""

from __future__ import annotations

from typing import Any

from torch import nn

from .._modules.base import Module
from .._modules.transformer import encoder_alias
from .config import LOGIT_SCORE_KEYS, TEXT_GENERATION, TRANSFORMER_TASK_OUTPUTS
from .runners import forward_parameters


class Transformer(nn.Module):
    """A CrossEncoder's module 0, as sentence-transformers 6's ``Transformer``: ``transformer_task``
    "sequence-classification" (logits as ``"scores"``) or "text-generation" (the last position's
    vocabulary logits as ``"causal_logits"``). The transformers model is ``model`` (``auto_model``: its older
    name). The CrossEncoder keeps the tokenizer and scores pairs itself; this is the torch side its callers
    see."""

    def __init__(self, model: Any, transformer_task: str = "sequence-classification") -> None:
        super().__init__()
        self.model = model
        self.transformer_task = transformer_task

    auto_model = encoder_alias

    def forward(self, features: dict[str, Any]) -> dict[str, Any]:
        """``features`` with the model's logits added under the task's output name."""
        names = forward_parameters(self.model)
        inputs = {k: v for k, v in features.items() if k in names}
        if self.transformer_task == TEXT_GENERATION:  # the last (real: left padding) position only
            inputs.setdefault("logits_to_keep", 1)
        features[TRANSFORMER_TASK_OUTPUTS[self.transformer_task]] = self.model(**inputs).logits
        return features


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


def classifier_network(model: Any, logit_score: dict[str, Any] | None = None) -> nn.Sequential:
    """``model`` as module 0's ``model``: a ``*ForSequenceClassification`` alone, or a ``*ForCausalLM``
    followed by a :class:`LogitScore` of ``logit_score`` (its saved config)."""
    if logit_score is None:
        return nn.Sequential(Transformer(model))
    return nn.Sequential(Transformer(model, TEXT_GENERATION), LogitScore(**logit_score))
