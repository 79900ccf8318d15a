"""What every cross-encoder loss shares: the model check, scoring pairs, the activation option and the
checks of the data it takes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..._compat import overrides_encode_steps, with_prompt
from ..._errors import InputError
from ..base import (
    Loss,
    check_finite,
    check_label_count,
    forward_in_length_groups,
    forwards_as_sentence_transformers,
)


def grouped_logits(model: Any, features: dict[str, torch.Tensor]) -> torch.Tensor:
    """``model.logits(features)`` with the pairs sorted by length and run in a few groups, each padded to its
    own longest pair (the groups that :func:`sbert._losses.base.plan_groups` finds cheapest): every pair is
    scored on its own, so the logits are those of one padded forward, for fewer padded tokens. Batches
    padded on the left run as one forward, and so do the batches of a model drawing dropout masks, as
    sentence-transformers runs them (``forwards_as_sentence_transformers``): a seed then gives its masks."""
    if forwards_as_sentence_transformers(model):
        return model.logits(features)
    mask = features["attention_mask"]
    lengths = mask.sum(dim=1)
    positions = torch.arange(mask.shape[1], device=mask.device)
    if len(lengths) < 2 or not torch.equal(mask.bool(), positions[None, :] < lengths[:, None]):
        return model.logits(features)
    # the features are on the CPU (CrossEncoder.tokenize); the forward runs where the model is
    device = next(model.parameters()).device.type
    return forward_in_length_groups(features, model.logits, device_type=device, whole_if_one_group=True)


def _tokenizes(model: Any) -> bool:
    return callable(getattr(model, "tokenize", None))


def _preprocesses(model: Any) -> bool:
    return callable(getattr(model, "preprocess", None)) and callable(model)


def module_scores(model: Any, pairs: list[tuple[str, str]], **keywords: Any) -> torch.Tensor:
    """The ``"scores"`` ``(B, num_labels)`` of a model that is not sbert's CrossEncoder but follows
    sentence-transformers 6's protocol, or whose ``preprocess`` or ``forward`` a user replaced, as its losses
    call it: ``model(model.preprocess(pairs, **keywords))``."""
    features = model.preprocess(pairs, **keywords)
    device = getattr(model, "device", None)
    if device is not None:
        features = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in features.items()}
    scores = model(features)["scores"]
    return scores if scores.ndim > 1 else scores.unsqueeze(-1)


class CrossEncoderLoss(Loss):
    """Base class: ``forward(texts_list, labels)`` gets one list of texts per column (the trainer does not
    tokenize them), forms pairs, scores them with the CrossEncoder and computes the loss.

    Subclasses set ``min_columns`` / ``max_columns``, ``label_kind`` (``"none"``, ``"binary"``: numbers in
    [0, 1], ``"class"``: ids below ``num_labels``, ``"score"``: any number, ``"list"``: one list of numbers
    per row), ``one_label`` (the model must have one output) and ``list_column`` (the index of the column
    holding a list of documents per row, or None).
    """

    takes_texts = True  # the trainer passes text columns, not tokenized ones
    one_label = True
    list_column: int | None = None
    # how the data of this loss looks, for error messages
    data_shape = "(query, document) pairs"

    def __init__(self, model: Any, activation_fn: Any = None) -> None:
        super().__init__(model)
        name = type(self).__name__
        if not hasattr(model, "num_labels") or not (_tokenizes(model) or _preprocesses(model)):
            raise InputError(
                f"sbert.cross_encoder.losses.{name} trains a CrossEncoder, got {type(model).__name__}; "
                "for a SentenceTransformer use the losses of sbert (sbert.MultipleNegativesRankingLoss, ...)."
            )
        if self.one_label and model.num_labels != 1:
            raise InputError(
                f"{name} needs a cross-encoder with one output label, this one has {model.num_labels}: "
                "use CrossEntropyLoss for several classes, or CrossEncoder(path, num_labels=1)."
            )
        self.activation_fn = resolve_activation(activation_fn)

    def forward(
        self, inputs: Sequence[Any], labels: Any, prompt: str | None = None, task: str | None = None
    ) -> torch.Tensor:
        """The loss of the text columns ``inputs``; ``prompt`` goes before each pair's first text
        (``task``: sentence-transformers' keyword, which sbert's cross-encoders do not take)."""
        raise NotImplementedError

    def logits(self, pairs: Sequence[tuple[str, str]], prompt: str | None = None) -> torch.Tensor:
        """The model's logits ``(B, num_labels)`` of ``pairs`` (``prompt`` before each first text), with
        gradients, in the order of ``pairs``."""
        if not _tokenizes(self.model) or overrides_encode_steps(self.model):
            # sentence-transformers 6's module protocol, or a user's steps: called as its losses call them
            return module_scores(self.model, list(pairs), prompt=prompt, task=None)
        return grouped_logits(self.model, self.model.tokenize(with_prompt(list(pairs), prompt)))

    def column_logits(
        self, columns: Iterable[Sequence[tuple[str, str]]], prompt: str | None = None
    ) -> torch.Tensor:
        """The logits of each column's pairs one after another, ``(sum of B, num_labels)``: one forward over
        them all, or one a column, in turn, where the model runs sentence-transformers' forwards
        (``forwards_as_sentence_transformers``), as its multi-column losses score them, so a seed gives its
        dropout masks. ``columns`` is read lazily there: a column drawn at random (in-batch negatives) is
        drawn after the forwards before it, as there."""
        if forwards_as_sentence_transformers(self.model):
            return torch.cat([self.logits(column, prompt) for column in columns])
        return self.logits([pair for column in columns for pair in column], prompt)

    def check_data(self, n_columns: int, labels: Any, where: str, list_columns: Sequence[int] = ()) -> None:
        """Raise :class:`InputError` naming ``where`` and the fix unless this loss can train on the data:
        ``n_columns`` text columns, the columns ``list_columns`` holding lists of texts, and ``labels``."""
        name, least, most = type(self).__name__, self.min_columns, self.max_columns
        if not least <= n_columns <= (most or n_columns):
            count = f"{least}" if most == least else f"{least}+"
            raise InputError(
                f"{where}: {name} takes {count} text columns, {self.data_shape}; the data has {n_columns}. "
                f"{HINTS['columns']}"
            )
        expected = [] if self.list_column is None else [self.list_column]
        if list(list_columns) != expected:
            raise InputError(
                f"{where}: {name} takes {self.data_shape}, but "
                + (
                    f"columns {list(list_columns)} hold lists of texts. {HINTS['list']}"
                    if list_columns
                    else f"column {self.list_column} does not hold lists of texts. {HINTS['lambda']}"
                )
            )
        super().check_data(n_columns, labels, where)  # the labels

    def check_labels(self, labels: np.ndarray, where: str) -> None:
        if labels.ndim != 1:
            raise InputError(
                f"{where}: {type(self).__name__} needs one label per row, got labels of shape {labels.shape}."
            )
        check_finite(labels, where, type(self).__name__)

    def config(self) -> dict[str, Any]:
        return {"activation_fn": activation_path(self.activation_fn)}


HINTS = {
    "columns": "Use BinaryCrossEntropyLoss (bce), MSELoss (mse) or CrossEntropyLoss (ce) for (query, "
    "document, label) rows, MultipleNegativesRankingLoss (mnrl) for (query, positive, negatives...) rows "
    "without labels, LambdaLoss (lambda) for (query, [documents], [labels]) rows.",
    "list": "Lists of documents with lists of labels are the listwise losses' data: LambdaLoss (loss "
    "lambda), RankNetLoss, ListNetLoss, ListMLELoss, PListMLELoss, ADRMSELoss.",
    "lambda": "Give it rows (query, [documents], [labels]) (a .jsonl file, or a flat (query, document, "
    "label) file, which sbert train cross-encoder --loss lambda groups by query).",
}


def resolve_activation(activation: Any) -> nn.Module:
    """``None`` is Identity; a torch module is kept; a class path or name of ``torch.nn`` is built."""
    if activation is None:
        return nn.Identity()
    if isinstance(activation, nn.Module):
        return activation
    if isinstance(activation, str):
        module = getattr(nn, activation.rsplit(".", 1)[-1], None)
        if isinstance(module, type) and issubclass(module, nn.Module):
            return module()
    raise InputError(
        f"activation_fn must be a torch module or the name of one in torch.nn ('Sigmoid', 'Identity'), "
        f"got {activation!r}."
    )


def activation_path(activation: nn.Module | None) -> str | None:
    """The class path sentence-transformers records (``torch.nn.modules.linear.Identity``); for sbert's own
    classes of these losses (LambdaLoss's weighting schemes, PListMLE's lambda weight), its path to its
    own, which the configs and cards show and the losses read back by the class name."""
    if activation is None:
        return None
    module = type(activation).__module__
    if module.startswith(_OWN_LOSS_MODULES):
        module = "sentence_transformers.cross_encoder.losses." + module.rsplit(".", 1)[1]
    return f"{module}.{type(activation).__qualname__}"


_OWN_LOSS_MODULES = __name__.rsplit(".", 1)[0] + "."  # sbert._losses.cross.


def labels_tensor(labels: Any, device: torch.device, rows: int | None = None, loss: str = "") -> torch.Tensor:
    """One float label per row, ``(B,)``; ``rows``: how many the batch has (others raise, as
    sentence-transformers' pointwise losses do, where torch would broadcast them with a warning), in the
    words of ``loss`` (its class name)."""
    if rows is not None:
        check_label_count(loss, labels, rows)
    return torch.as_tensor(labels).reshape(-1).float().to(device)


def pairs_of(texts_list: Sequence[Sequence[str]], loss: str = "") -> list[tuple[str, str]]:
    """The (query, document) pairs of a pointwise loss's two text columns; ``loss`` (its class name) refuses
    other column counts as sentence-transformers' pointwise losses do, rather than reading the first two."""
    if loss and len(texts_list) != 2:
        raise InputError(
            f"{loss} expects a dataset with two non-label columns, but got a dataset with {len(texts_list)} "
            "columns. Give it (query, document) pairs and a label column."
        )
    return list(zip(texts_list[0], texts_list[1]))
