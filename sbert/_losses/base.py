"""What every loss shares: embedding the text columns and declaring which data the loss takes."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .._errors import InputError
from .column_merge import length_groups_kept, merging_disabled

Features = dict[str, torch.Tensor]


# What one more forward (+ backward) call costs, in padded tokens' worth of work. For the 6-layer MiniLM on
# a 2-core CPU, forward + backward in train mode: ~0.45 ms a token, and a call adds ~16 ms of fixed work
# plus a dense gradient of the word embeddings (30k x 384, zeroed and summed once per call). Whole
# training steps on STSb batches were fastest, and flat, for values from 128 to 400 (at 32-48, more and
# smaller calls were ~10 % slower); leaning to fewer calls also suits a loaded machine, where every call
# waits on its OpenMP threads. On a GPU a small batch leaves the device idle, so padding costs little next
# to a call: there the rows run as one batch unless a group would waste thousands of tokens.
CALL_COST_TOKENS = {"cpu": 192}
CALL_COST_TOKENS_OTHER = 4096


def embed_columns(
    model: Any, sentence_features: Sequence[Features], *, separate_first: bool = True, merge_rest: bool = True
) -> list[torch.Tensor]:
    """One ``(B, D)`` sentence-embedding tensor per column.

    The rows of all columns run together, sorted by length and cut into a few groups of similar lengths,
    each padded only to its own longest row. Every row is embedded on its own (padding is masked out),
    so this gives the same embeddings as one forward per column, with far fewer padded tokens: in a
    random batch of 16 STSb pairs the longest sentence is about twice the mean, so padding each column
    to its longest (one forward per column) runs 2.2 tokens per real token, and padding both columns to
    the longer of the two (one merged forward) 2.4; length groups run 1.4, in about two calls a batch.
    On the CPU, where the work grows with padded tokens, that is most of a training step.

    A model that draws dropout masks runs sentence-transformers 6.3's forwards instead (its
    ``embed_columns``): the masks are drawn over each forward's padded ``(B, T, H)`` inputs, so only its
    forwards give its masks, and its losses, for a seed; sbert's own Trainer keeps the length groups
    (``column_merge.length_groups_with_dropout``), its speed over sentence-transformers' trainer.
    ``separate_first``: the first column in a forward of its own, as there; ``merge_rest``: the other columns
    in one forward, as there (False: one each, as its AdaptiveLayerLoss runs them, column merging disabled).
    """
    if sentence_features and all(
        "attention_mask" in f and f["attention_mask"].shape[0] == 0 for f in sentence_features
    ):
        # no rows (a process's empty share of a small batch under DDP): (0, D) embeddings, no forward
        dim, device = model.full_embedding_dimension, sentence_features[0]["attention_mask"].device
        return [
            torch.zeros(0, dim, device=device, requires_grad=torch.is_grad_enabled())
            for _ in sentence_features
        ]
    if forwards_as_sentence_transformers(model):
        return _embed_as_sentence_transformers(model, sentence_features, separate_first, merge_rest)
    merged = _merge(model, sentence_features)
    # model(...), as sentence-transformers calls it: any callable model works, and an nn.Module's hooks run
    if merged is None:
        return [model(features)["sentence_embedding"] for features in sentence_features]
    # (N, D), N = sum of B, in input order
    embeddings = forward_in_length_groups(merged, lambda group: model(group)["sentence_embedding"])
    return list(embeddings.split([f["attention_mask"].shape[0] for f in sentence_features]))


_DROPOUT = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)


def forwards_as_sentence_transformers(model: Any) -> bool:
    """Whether a loss runs ``model``'s forwards as sentence-transformers 6.3's losses run them (their batch
    shapes, in their order): where the model draws dropout masks, which a forward draws over its padded
    ``(B, T, H)`` inputs, so only those forwards give its masks for a seed; not inside sbert's own Trainer
    (``column_merge.length_groups_with_dropout``), which keeps its length groups. The one place that
    decides it: the dense losses' column embedding, the cached losses' mini-batches, the cross-encoder
    losses' pair scoring and a GIST loss's guide (``gist.GuideCalls``) read it."""
    return not length_groups_kept() and _draws_dropout(model)


def _draws_dropout(model: Any) -> bool:
    """Whether a forward of ``model`` in its present mode draws dropout masks (a module of it training with
    ``p > 0``; Hugging Face's attention dropout is such a module's ``p`` too)."""
    modules = getattr(model, "modules", None)
    return callable(modules) and any(isinstance(m, _DROPOUT) and m.training and m.p > 0 for m in modules())


def _embed_as_sentence_transformers(
    model: Any, sentence_features: Sequence[Features], separate_first: bool, merge_rest: bool = True
) -> list[torch.Tensor]:
    """sentence-transformers 6.3's forwards: the first column alone (``separate_first``), the others as one
    batch (column after column, padded to the widest) where they can share a forward (``merge_rest``), else
    one each."""
    if separate_first and len(sentence_features) > 1:
        first = model(sentence_features[0])["sentence_embedding"]
        return [first, *_embed_as_sentence_transformers(model, sentence_features[1:], False, merge_rest)]
    merged = _merge(model, sentence_features) if merge_rest and len(sentence_features) > 1 else None
    if merged is None:
        return [model(features)["sentence_embedding"] for features in sentence_features]
    embeddings = model(merged)["sentence_embedding"]  # (N, D), the columns one after another
    return list(embeddings.split([f["attention_mask"].shape[0] for f in sentence_features]))


def forward_in_length_groups(
    features: Features,
    forward: Callable[[Features], torch.Tensor],
    device_type: str | None = None,
    *,
    whole_if_one_group: bool = False,
) -> torch.Tensor:
    """``forward(features)`` (one output row per input row) run on the rows sorted by length, in the groups
    :func:`plan_groups` finds cheapest, each cut to its own longest row; the rows come back in input order.

    Rows must be right-padded (real tokens first). Metadata features (:func:`is_metadata`) go to every group
    whole. ``device_type`` is where ``forward`` computes (default: where the features are), which sets the
    cost of one more call.
    """
    lengths = features["attention_mask"].sum(dim=1)
    order = torch.argsort(lengths, stable=True)
    sorted_lengths = lengths[order].tolist()
    call_cost = CALL_COST_TOKENS.get(device_type or lengths.device.type, CALL_COST_TOKENS_OTHER)
    groups = plan_groups(sorted_lengths, call_cost)
    if whole_if_one_group and len(groups) == 1:  # the batch exactly as given (its padding, its row order)
        return forward(features)
    outputs = []
    for start, end in groups:
        rows, width = order[start:end], max(1, sorted_lengths[end - 1])
        outputs.append(forward({k: v if is_metadata(k, v) else v[rows, :width] for k, v in features.items()}))
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(len(order), device=order.device)
    return torch.cat(outputs)[inverse]


def plan_groups(sorted_lengths: Sequence[int], call_cost: float) -> list[tuple[int, int]]:
    """Cut rows sorted by length into ``[start, end)`` groups minimising padded tokens + ``call_cost`` a
    group.

    A group costs ``rows * longest + call_cost``; dynamic programming over the cut points (optimal for
    sorted rows, ``O(N^2)`` numpy work: well under a millisecond for a few hundred rows).
    """
    lengths = np.asarray(sorted_lengths, dtype=np.float64)
    n = len(lengths)
    best = np.zeros(n + 1)  # best[j]: cheapest cost of the first j rows
    cut = np.zeros(n + 1, dtype=np.int64)
    for j in range(1, n + 1):
        starts = np.arange(j)
        costs = best[:j] + (j - starts) * lengths[j - 1] + call_cost
        cut[j] = int(np.argmin(costs))
        best[j] = costs[cut[j]]
    groups, end = [], n
    while end > 0:
        groups.append((int(cut[end]), end))
        end = int(cut[end])
    return groups[::-1]


def _merge(model: Any, sentence_features: Sequence[Features]) -> Features | None:
    """All columns' rows as one batch padded to the widest column, or None where they cannot share a
    forward: different keys or metadata (a Router's ``task``, a ``prompt_length``: one value per column,
    kept as it is), inputs other than ``(B, T)`` token tensors, or a tokenizer that pads on the left
    (positions would shift with the padding), or inside ``column_merging_disabled``."""
    if merging_disabled():
        return None
    if getattr(getattr(model, "tokenizer", None), "padding_side", "right") != "right":
        return None
    keys = set(sentence_features[0]) if sentence_features else set()
    if any(set(f) != keys for f in sentence_features) or "attention_mask" not in keys:
        return None
    first = sentence_features[0]
    metadata = {key: value for key, value in first.items() if is_metadata(key, value)}
    if any(not _same(f[key], value) for f in sentence_features[1:] for key, value in metadata.items()):
        return None  # e.g. columns sent down different routes: each needs its own forward
    tokens = [key for key in first if key not in metadata]
    if any(f[key].dim() != 2 for f in sentence_features for key in tokens):
        return None
    if len(sentence_features) == 1:
        return dict(first)
    width = max(f["attention_mask"].shape[1] for f in sentence_features)
    pad_id = getattr(getattr(model, "tokenizer", None), "pad_token_id", None) or 0  # None: no pad token
    merged = {
        key: torch.cat(
            [
                nn.functional.pad(
                    f[key], (0, width - f[key].shape[1]), value=pad_id if key == "input_ids" else 0
                )
                for f in sentence_features
            ]
        )
        for key in tokens
    }
    return {**merged, **metadata}


def is_metadata(key: str, value: Any) -> bool:
    """Whether a feature describes the whole batch (a Router ``task``, a ``prompt_length``) rather than
    holding one row per text."""
    return key == "prompt_length" or not isinstance(value, torch.Tensor)


def user_overrides(loss: Any, *names: str) -> bool:
    """Whether a user's subclass (or the instance itself) replaces any of the loss's methods ``names``, the
    steps sentence-transformers' losses call: sbert then calls them where sentence-transformers does, and
    keeps its own path otherwise."""
    for name in names:
        if name in vars(loss):  # set on the instance: a user's, or a wrapper's (MatryoshkaLoss's truncation)
            return True
        method = getattr(type(loss), name, None)
        if not (getattr(method, "__module__", None) or "").startswith("sbert."):
            return True
    return False


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        both = isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)
        return both and a.device == b.device and torch.equal(a, b)
    try:
        return bool(a == b)
    except (ValueError, RuntimeError):  # values that cannot be compared (arrays) cannot be shown equal
        return False


class Loss(nn.Module):
    """Base class: ``forward`` embeds the columns, ``compute_loss_from_embeddings`` does the maths.

    Subclasses set ``min_columns``/``max_columns`` (text columns per example) and ``label_kind``: ``"none"``,
    ``"class"`` (integer ids), ``"score"`` (floats), ``"binary"`` (0/1) or ``"embedding"`` (teacher vectors).
    """

    min_columns = 2
    max_columns: int | None = 2
    label_kind = "none"
    # True when the loss exchanges tensors between processes (DDP): every process must then run it on
    # every step, even one that holds no rows of that step's batch.
    collective: bool = False
    # True for a loss built around another one (MatryoshkaLoss): a training config cannot name it as its
    # loss, since the inner loss is an object, not an option (configs set it with matryoshka_dims).
    wraps_loss: bool = False
    # True for a loss whose forward gives its parts by name ({"base_loss": ..., "document_regularizer_loss":
    # ...}: SpladeLoss): the trainer sums them and logs each one, as sentence-transformers' trainer does.
    loss_components: bool = False
    # False for a loss whose sentence-transformers class has no get_config_dict (the cross-encoder's
    # CrossEntropyLoss): the model card then names it without parameters, as there.
    card_parameters: bool = True

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, sentence_features: Sequence[Features], labels: torch.Tensor | None) -> torch.Tensor:
        return self.compute_loss_from_embeddings(embed_columns(self.model, sentence_features), labels)

    def warn_if_not_binary(self, labels: torch.Tensor, meaning: str) -> None:
        """Warn once (as sentence-transformers does) when labels other than 0 and 1 reach this loss."""
        if getattr(self, "_warned_non_binary", False) or not (labels.ne(0) & labels.ne(1)).any():
            return
        self._warned_non_binary = True
        warnings.warn(
            f"{type(self).__name__} expects binary labels (0 or 1); other values are accepted: {meaning}.",
            UserWarning,
            stacklevel=4,
        )

    # sentence-transformers' loss holds the model as its first submodule, so torch code that walks a loss's
    # modules (loss.parameters() in a training loop, loss.train(), loss.to(device), a user's module wrapping
    # the loss) reaches the model's weights. Where sbert's model is not an nn.Module yet (made before torch
    # was imported: sbert._torch_base), its torch modules are added here as the child "model"; state_dict
    # (which reads _modules) then keeps the loss's own weights only. A model that is one is a registered
    # child.

    def _model_network(self) -> nn.Module | None:
        model = self.__dict__.get("model")  # a model that is an nn.Module is a registered child already
        # the root of an sbert model's torch modules ("" names it, as in torch), moved to them if on ONNX
        return model.get_submodule("") if hasattr(model, "get_submodule") else None

    def named_children(self) -> Iterator[tuple[str, nn.Module]]:
        network = self._model_network()
        if network is not None:
            yield "model", network
        yield from (item for item in super().named_children() if item[1] is not network)

    def named_modules(
        self, memo: set[nn.Module] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, nn.Module]]:
        memo = set() if memo is None else memo
        if self in memo:
            return
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, module in self.named_children():
            yield from module.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def compute_loss_from_embeddings(
        self, embeddings: list[torch.Tensor], labels: torch.Tensor | None
    ) -> torch.Tensor:
        raise NotImplementedError

    # ------------------------------------------------------------------ data checks, before training

    def check_data(self, n_columns: int, labels: Any, where: str) -> None:
        """Raise :class:`InputError` naming ``where`` (a dataset) if this loss cannot train on that data."""
        name = type(self).__name__
        if n_columns < self.min_columns or (self.max_columns is not None and n_columns > self.max_columns):
            wanted = (
                f"{self.min_columns}"
                if self.max_columns == self.min_columns
                else f"{self.min_columns} or more"
                if self.max_columns is None
                else f"{self.min_columns} to {self.max_columns}"
            )
            raise InputError(f"{where}: {name} takes {wanted} text columns, the data has {n_columns}.")
        if self.label_kind == "none":
            return
        if labels is None:
            raise InputError(
                f"{where}: {name} needs a label column ({self.label_kind} labels), the data has none."
            )
        self.check_labels(np.asarray(labels), where)

    def check_labels(self, labels: np.ndarray, where: str) -> None:
        """Checks of the label values; the default accepts any finite number."""
        check_finite(labels, where, type(self).__name__)

    def check_truncation(self, dims: Sequence[int]) -> None:
        """Raise :class:`InputError` if this loss cannot take embeddings truncated to ``dims``
        (MatryoshkaLoss)."""

    def config(self) -> dict[str, Any]:
        """The hyper-parameters recorded in the model card."""
        return {}

    def get_config_dict(self) -> dict[str, Any]:
        """sentence-transformers' name for :meth:`config` (a subclass overrides ``config``)."""
        return self.config()

    def describe(self) -> str:
        options = ", ".join(f"{k}={v}" for k, v in self.config().items())
        return f"{type(self).__name__}({options})"


def loss_total(value: torch.Tensor | Mapping[str, torch.Tensor]) -> torch.Tensor:
    """What a loss's forward gave, as one scalar: a tensor as it is, named parts summed (as
    sentence-transformers' trainer sums them)."""
    if isinstance(value, Mapping):
        return torch.stack(list(value.values())).sum()
    return value


def check_label_count(loss: str, labels: Any, rows: int) -> None:
    """Raise :class:`InputError` unless a batch of ``rows`` pairs came with one label each (torch would
    broadcast a wrong count into a wrong loss, or fail with a shape message), in sentence-transformers'
    words, which every loss with this check shares (dense and cross-encoder alike)."""
    if labels is None:
        raise InputError(f"{loss} expects {rows} labels (one per example), but got no labels.")
    shape = tuple(torch.as_tensor(labels).shape)
    if math.prod(shape) != rows:
        count = math.prod(shape)
        raise InputError(
            f"{loss} expects {rows} labels (one per example), but got {count} labels with shape {shape}."
        )


NON_BINARY_WEIGHTS = "they weigh the positive term, and 1 - label the negative term"
NON_BINARY_IGNORED = "pairs labelled other than 0 or 1 are left out of the loss"


def check_finite(labels: np.ndarray, where: str, name: str) -> None:
    """Raise :class:`InputError` unless every label is a finite number."""
    if labels.dtype.kind not in "fiub":
        raise InputError(f"{where}: {name} needs numeric labels, got {labels.dtype} values.")
    bad = np.flatnonzero(~np.isfinite(labels.reshape(len(labels), -1)).all(axis=1)) if labels.size else []
    if len(bad):
        raise InputError(f"{where}: row {bad[0]} has a label that is not a finite number.")


def check_binary(labels: np.ndarray, where: str, name: str, meaning: str) -> None:
    """Raise :class:`InputError` unless every label is 1 or 0; ``meaning`` says what they stand for."""
    check_finite(labels, where, name)
    other = np.flatnonzero(~np.isin(labels, (0, 1)))
    if len(other):
        raise InputError(f"{where}: row {other[0]} has label {labels[other[0]]:g}; {name} takes {meaning}.")


# how far past a bound a label may lie and still count as inside it: labels computed from embeddings overshoot
# by rounding (util.cos_sim of a text with itself is 1 + 1.2e-7 in float32, a bfloat16 cosine up to 1.0078),
# and sentence-transformers trains on them; scores on another scale (0-5, 0-100) still miss by far more
RANGE_SLACK = 0.01


def check_range(labels: np.ndarray, where: str, name: str, low: float, high: float, hint: str = "") -> None:
    """Raise :class:`InputError` unless every label lies in ``[low, high]``, up to :data:`RANGE_SLACK` of
    that width (rounding)."""
    check_finite(labels, where, name)
    slack = RANGE_SLACK * (high - low)
    outside = np.flatnonzero((labels < low - slack) | (labels > high + slack))
    if len(outside):
        row = outside[0]
        raise InputError(
            f"{where}: row {row} has label {labels[row]:g}, outside [{low:g}, {high:g}] that {name} expects "
            f"({len(outside)} such rows).{hint}"
        )


def at_least_float32(x: torch.Tensor) -> torch.Tensor:
    """float16 / bfloat16 (any sub-float32 float) as float32, as sentence-transformers' similarity functions
    take them: a half-precision product rounds nearby scores into ties."""
    if x.is_floating_point() and torch.finfo(x.dtype).bits < 32:
        return x.float()
    return x


def pairwise_cos_sim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise cosine similarity ``(B,)`` of ``(B, D)`` tensors in their own dtype, as sentence-transformers'
    losses use ``torch.cosine_similarity`` (its ``util.pairwise_cos_sim``, CoSENT's default, upcasts half
    precision: see CoSENTLoss)."""
    return (nn.functional.normalize(a, p=2, dim=1) * nn.functional.normalize(b, p=2, dim=1)).sum(dim=-1)


def cos_sim_matrix(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Cosine similarity matrix ``(N, M)`` of ``(N, D)`` and ``(M, D)`` (float32 for half precision)."""
    a, b = at_least_float32(a), at_least_float32(b)
    return nn.functional.normalize(a, p=2, dim=1) @ nn.functional.normalize(b, p=2, dim=1).T


def stacked_labels(labels: Any, where: str, name: str) -> np.ndarray:
    """Labels as a numeric array: a column of lists (an object array of rows) stacked into ``(N, k)``."""
    labels = np.asarray(labels)
    if labels.dtype == object:
        lengths = {len(np.atleast_1d(row)) for row in labels}
        if len(lengths) > 1:
            raise InputError(f"{where}: {name} needs the same number of teacher scores in every row.")
        labels = np.stack([np.asarray(row, dtype=np.float64) for row in labels]) if len(labels) else labels
    return labels
