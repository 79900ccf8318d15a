"""AdaptiveLayerLoss and Matryoshka2dLoss: train the encoder's earlier layers to give embeddings of their own,
so that a model cut after any layer still embeds well."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import nn

from .._errors import IncompatibleLossError, InputError, warn_at_caller
from .base import Features, Loss, embed_columns
from .citations import MATRYOSHKA_2D
from .matryoshka import MatryoshkaLoss
from .precision import model_precision, to_fp32
from .user_loss import WrapsLoss, embeds_itself, model_forward
from .wrapped_model import unwrap_model

# how much a prior layer's loss counts, by its index (0: the embedding layer's output)
LAYER_WEIGHTINGS: dict[str, Callable[[int], float]] = {
    "uniform": lambda layer: 1.0,
    "log": lambda layer: 1.0 / (1.0 + math.log(1 + layer)),
    "linear": lambda layer: 1.0 / (1 + layer),
}


class EveryLayer:
    """The model seen through every layer of its encoder: ``forward`` gives each text's sentence embedding
    read off each hidden state, ``(B, L + 1, D)``, the last one the model's own.

    The encoder runs once; the modules after it (pooling, dense, normalize) run on each hidden state in turn.
    ``embed_columns`` takes it as a model: it only sorts, groups and splits rows, so the layer axis passes
    through, and the columns share length-grouped forwards as with the model itself.
    """

    def __init__(self, model: Any) -> None:
        self.pipeline = list(model)
        self.tokenizer = getattr(model, "tokenizer", None)
        self.full_embedding_dimension = model.full_embedding_dimension

    def forward(self, features: Features) -> dict[str, torch.Tensor]:
        output = self.encode(features)
        hidden_states = output["all_layer_embeddings"]  # (B, T, H) each
        layers = [self.finish(output, hidden)["sentence_embedding"] for hidden in hidden_states]
        return {"sentence_embedding": torch.stack(layers, dim=1)}

    __call__ = forward  # embed_columns calls its model

    def modules(self) -> Iterator[nn.Module]:
        """The pipeline's torch modules (``embed_columns`` asks whether a forward draws dropout masks)."""
        for module in self.pipeline:
            yield from module.modules()

    def encode(self, features: Features) -> dict[str, Any]:
        """The encoder's output, with every layer's hidden state, ``(B, T, H)`` each, as
        ``all_layer_embeddings`` (the first: the embedding layer's)."""
        encoder = self.pipeline[0]
        config = encoder.model.config
        before = config.output_hidden_states
        config.output_hidden_states = True  # the encoder then also returns all_layer_embeddings
        try:
            with model_precision():  # the modules run here, not through the model's forward
                return to_fp32(encoder(dict(features)))
        finally:
            config.output_hidden_states = before

    def finish(self, output: dict[str, Any], hidden: torch.Tensor) -> dict[str, Any]:
        """The modules after the encoder (pooling, ...) run on the hidden state ``hidden`` of ``output``."""
        layer_output = {**output, "token_embeddings": hidden}
        with model_precision():
            for module in self.pipeline[1:]:
                layer_output = module(layer_output)
        return to_fp32(layer_output)


class LayerOutputs:
    """The model's forward, for an inner loss that runs the model itself (a user's): with ``layer`` None,
    the model's output (the encoder's kept for each call, in order); with ``layer`` set, the n-th call gives
    the n-th text batch's output read off that layer's hidden state, without running the encoder again.
    The sentence embeddings given since the last :meth:`take_embeddings` are kept for it."""

    def __init__(self, model: Any) -> None:
        self.every, self.encoded, self.embeddings = EveryLayer(model), [], []
        self.layer: int | None = None
        self.calls = 0

    def __call__(self, features: Features, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if self.layer is None:
            encoded = self.every.encode(features)
            self.encoded.append(encoded)
            hidden = encoded["token_embeddings"]
        else:
            encoded = self.encoded[self.calls]
            hidden = encoded["all_layer_embeddings"][self.layer]
        self.calls += 1
        output = self.every.finish(encoded, hidden)
        self.embeddings.append(output["sentence_embedding"])
        return output

    def select(self, layer: int) -> None:
        self.layer, self.calls = layer, 0

    def take_embeddings(self) -> torch.Tensor:
        embeddings, self.embeddings = torch.cat(self.embeddings), []
        return embeddings

    @property
    def n_layers(self) -> int:
        return len(self.encoded[0]["all_layer_embeddings"])


class AdaptiveLayerLoss(WrapsLoss, Loss):
    """A wrapper: the inner loss on the last layer's embeddings, plus the inner loss on the embeddings of
    earlier layers (pooled from their hidden states), plus a KL term pulling those towards the last.

    From 2D Matryoshka Sentence Embeddings (Li et al. 2024, https://arxiv.org/abs/2402.14776): after training,
    the first layers alone make a good, faster model (drop the rest, e.g. ``model[0].model.encoder.layer
    = model[0].model.encoder.layer[:4]``). The encoder runs once per batch; each layer's embeddings come
    from its hidden state through the model's pooling.

    Args:
        model: the :class:`sbert.SentenceTransformer` to train (its first module a transformer).
        loss: the inner loss, e.g. :class:`MultipleNegativesRankingLoss` or :class:`CoSENTLoss` (a cached
            one is warned of when built and cannot train, as in sentence-transformers), or a loss of your
            own (an ``nn.Module`` whose ``forward(sentence_features, labels)`` calls ``model(features)``:
            there ``model(features)`` gives the outputs read off each layer in turn, the encoder running once
            a step, as in sentence-transformers).
        n_layers_per_step: earlier layers trained each step, picked at random (default 1; -1: all). Layer 0
            is the embedding layer's output.
        last_layer_weight: weight of the last layer's loss (default 1).
        prior_layers_weight: weight of the earlier layers' mean loss (default 1).
        kl_div_weight: weight of the KL divergence between an earlier layer's and the last layer's
            embeddings, softmaxed over dimensions (default 1).
        kl_temperature: temperature of that softmax (default 0.3; 0 leaves the KL term out).
        layer_weighting: ``"uniform"`` (default), ``"log"`` (``1 / (1 + log(1 + i))``), ``"linear"``
            (``1 / (1 + i)``) or a function of the layer index ``i``.

    Requirements and inputs:
        Those of the inner loss: the layers change which embeddings it sees, not what data it takes.

    Example::

        from sbert import (AdaptiveLayerLoss, MultipleNegativesRankingLoss, SentenceTransformer, Trainer,
                           TrainingArguments, load_dataset)

        model = SentenceTransformer()
        train = load_dataset("pairs.tsv", columns=["query", "positive"])
        loss = AdaptiveLayerLoss(model, MultipleNegativesRankingLoss(model), n_layers_per_step=2)
        Trainer(model, train, loss, args=TrainingArguments(output_dir="out", batch_size=64)).train()
        model[0].model.encoder.layer = model[0].model.encoder.layer[:3]  # a faster model, cut
    """

    citation = MATRYOSHKA_2D

    wraps_loss = True

    def __init__(
        self,
        model: Any,
        loss: Loss,
        n_layers_per_step: int = 1,
        last_layer_weight: float = 1.0,
        prior_layers_weight: float = 1.0,
        kl_div_weight: float = 1.0,
        kl_temperature: float = 0.3,
        layer_weighting: str | Callable[[int], float] = "uniform",
    ) -> None:
        super().__init__(model)
        self.loss = loss  # as given, a user's nn.Module loss too; sbert runs self.inner
        inner = self.inner
        if not callable(layer_weighting) and layer_weighting not in LAYER_WEIGHTINGS:
            raise InputError(
                f"{type(self).__name__}: layer_weighting must be one of {sorted(LAYER_WEIGHTINGS)} or a "
                f"function of the layer index, got {layer_weighting!r}."
            )
        if isinstance(n_layers_per_step, bool) or not isinstance(n_layers_per_step, int):
            raise InputError(f"n_layers_per_step must be an int (-1: all layers), got {n_layers_per_step!r}.")
        # a cached loss cannot train here: sentence-transformers warns when it is built and fails in training
        self.cached_inner = _check_inner(type(self).__name__, model, inner, loss)
        self.n_layers_per_step = n_layers_per_step
        self.last_layer_weight, self.prior_layers_weight = last_layer_weight, prior_layers_weight
        self.kl_div_weight, self.kl_temperature = kl_div_weight, kl_temperature
        self.layer_weighting = layer_weighting
        self.min_columns, self.max_columns = inner.min_columns, inner.max_columns
        self.label_kind = inner.label_kind
        self.collective = inner.collective

    def layer_weight(self, layer: int) -> float:
        weighting = self.layer_weighting
        return weighting(layer) if callable(weighting) else LAYER_WEIGHTINGS[weighting](layer)

    def forward(self, sentence_features: Sequence[Features], labels: torch.Tensor | None) -> torch.Tensor:
        # the trainer may hand the losses a wrapped model (DDP-like, torch.compile): the layers are inside
        model = unwrap_model(self.model, "AdaptiveLayerLoss")  # sentence-transformers' message, also for 2D
        if self.cached_inner:
            raise IncompatibleLossError(
                f"{type(self).__name__} cannot train with {type(self.loss).__name__}: a cached loss "
                "back-propagates its mini-batches from a hook after the layers' outputs are gone. Wrap the "
                "plain loss (MultipleNegativesRankingLoss, not CachedMultipleNegativesRankingLoss)."
            )
        if embeds_itself(self.loss):  # a user's loss runs the model: its forward gives each layer's outputs
            with model_forward(model, lambda forward: LayerOutputs(model)) as outputs:

                def through_model(layer: int | None) -> tuple[torch.Tensor, torch.Tensor]:
                    if layer is not None:
                        outputs.select(layer)
                    return self.loss(sentence_features, labels), outputs.take_embeddings()

                final = through_model(None)
                return self._combine(final, outputs.n_layers, through_model)
        # GIST: the guide (another model) reads the texts (gist.GuideCalls: once, or anew for each layer's
        # call, one forward a column as there); each layer's embeddings are scored against its embeddings
        reader = getattr(self.loss, "guide_reader", None)
        guide = reader.each_call(sentence_features, merge_rest=False) if reader is not None else None
        # per column (B, L + 1, D); with dropout, one forward a column, as sentence-transformers' runs with
        # column merging disabled (its layers reach the loss through the per-column feature dicts)
        layers = embed_columns(EveryLayer(model), sentence_features, merge_rest=False)

        def at(layer: int) -> tuple[torch.Tensor, torch.Tensor]:
            embeddings = [e[:, layer] for e in layers]
            if guide is not None:
                return self.loss.guided_loss(embeddings, guide), torch.cat(embeddings)
            return self.loss.compute_loss_from_embeddings(embeddings, labels), torch.cat(embeddings)

        return self._combine(at(-1), layers[0].shape[1], at)

    def _combine(
        self,
        final: tuple[torch.Tensor, torch.Tensor],
        n_layers: int,
        at: Callable[[int], tuple[torch.Tensor, torch.Tensor]],
    ) -> torch.Tensor:
        """The last layer's loss (``final``: its loss and embeddings), plus each sampled earlier layer's
        (``at(layer)``), plus the KL terms pulling those layers' embeddings towards the last's."""
        loss = final[0] * self.last_layer_weight
        temperature = self.kl_temperature
        if temperature > 0:  # the last layer's distribution over dimensions: a fixed target
            target = nn.functional.softmax(final[1] / temperature, dim=-1).detach()
        prior: Sequence[int] = range(n_layers - 1)
        if 0 < self.n_layers_per_step < len(prior):
            prior = random.sample(prior, self.n_layers_per_step)
        for layer in prior:
            layer_loss, embeddings = at(layer)
            weight = self.layer_weight(layer) / len(prior) * self.prior_layers_weight
            loss = loss + layer_loss * weight
            if temperature > 0:
                log_p = nn.functional.log_softmax(embeddings / temperature, dim=-1)
                kl = nn.functional.kl_div(log_p, target, reduction="batchmean")
                loss = loss + kl * temperature * self.kl_div_weight
        return loss

    def compute_loss_from_embeddings(
        self, embeddings: list[torch.Tensor], labels: torch.Tensor | None
    ) -> torch.Tensor:
        raise InputError(f"{type(self).__name__} reads the encoder's layers: call it on the texts' features.")

    def check_data(self, n_columns: int, labels: Any, where: str) -> None:
        self.inner.check_data(n_columns, labels, where)

    def config(self) -> dict[str, Any]:
        weighting = self.layer_weighting
        weighting_name = weighting if isinstance(weighting, str) else getattr(weighting, "__name__", "custom")
        return {
            "loss": type(self.loss).__name__,
            "n_layers_per_step": self.n_layers_per_step,
            "last_layer_weight": self.last_layer_weight,
            "prior_layers_weight": self.prior_layers_weight,
            "kl_div_weight": self.kl_div_weight,
            "kl_temperature": self.kl_temperature,
            "layer_weighting": weighting_name,
        }


def _check_inner(name: str, model: Any, loss: Any, given: Any) -> bool:
    """Refuse what cannot be wrapped; for a cached ``loss`` (``given``: as the user gave it), warn as
    sentence-transformers does and return True: its forward then refuses to train."""
    if not isinstance(loss, Loss):
        raise InputError(f"{name} wraps an sbert loss or a torch.nn.Module loss, got {type(given).__name__}.")
    first = next(iter(model))
    if not hasattr(first, "auto_model"):
        raise InputError(
            f"{name} reads the hidden states of a transformer encoder; this model's first module is a "
            f"{type(first).__name__}. Train it with the inner loss alone."
        )
    # sbert's cached losses, a user's CachedLossMixin one, a MatryoshkaLoss around one
    # (MegaBatchMarginLoss(use_mini_batched_version=False) caches nothing); the class name and the words
    # are sentence-transformers' (its AdaptiveLayerLoss's, also from Matryoshka2dLoss)
    if getattr(given, "uses_gradient_cache", False):
        warn_at_caller(f"AdaptiveLayerLoss is not compatible with {type(given).__name__}.")
        return True
    inner = loss
    while getattr(inner, "wraps_loss", False):
        inner = inner.loss
    # a GIST loss gets its guide's embeddings directly or through MatryoshkaLoss (its guided_loss)
    if getattr(inner, "guide_reader", None) is not None and getattr(loss, "guide_reader", None) is None:
        raise InputError(
            f"{name} cannot wrap {type(inner).__name__} inside {type(loss).__name__}: it feeds a GIST "
            f"loss its guide's embeddings only directly or through MatryoshkaLoss. Use "
            f"AdaptiveLayerLoss(model, "
            f"{type(inner).__name__}(...)) or {type(loss).__name__}(model, {type(inner).__name__}(...))."
        )
    return False


class Matryoshka2dLoss(AdaptiveLayerLoss):
    """:class:`AdaptiveLayerLoss` around :class:`MatryoshkaLoss`: embeddings that work truncated to fewer
    dimensions and read off fewer layers (2D Matryoshka Sentence Embeddings, Li et al. 2024,
    https://arxiv.org/abs/2402.14776).

    Args:
        model: the :class:`sbert.SentenceTransformer` to train.
        loss: the inner loss, e.g. :class:`MultipleNegativesRankingLoss` or :class:`CoSENTLoss`, or a loss of
            your own (an ``nn.Module``, see :class:`AdaptiveLayerLoss`).
        matryoshka_dims: sizes to train, e.g. ``[384, 256, 128, 64]``.
        matryoshka_weights: one weight per size (default all 1).
        n_layers_per_step: earlier layers trained each step (default 1; -1: all).
        n_dims_per_step: sizes trained each step, picked at random (default 1; -1: all).
        last_layer_weight, prior_layers_weight, kl_div_weight, kl_temperature, layer_weighting: as in
            :class:`AdaptiveLayerLoss`.

    Requirements and inputs:
        Those of the inner loss.

    Example::

        from sbert import (Matryoshka2dLoss, MultipleNegativesRankingLoss, SentenceTransformer, Trainer,
                           TrainingArguments, load_dataset)

        model = SentenceTransformer()
        train = load_dataset("pairs.tsv", columns=["query", "positive"])
        loss = Matryoshka2dLoss(model, MultipleNegativesRankingLoss(model), [384, 256, 128, 64])
        Trainer(model, train, loss, args=TrainingArguments(output_dir="out")).train()
    """

    def __init__(
        self,
        model: Any,
        loss: Loss,
        matryoshka_dims: Sequence[int],
        matryoshka_weights: Sequence[float] | None = None,
        n_layers_per_step: int = 1,
        n_dims_per_step: int = 1,
        last_layer_weight: float = 1.0,
        prior_layers_weight: float = 1.0,
        kl_div_weight: float = 1.0,
        kl_temperature: float = 0.3,
        layer_weighting: str | Callable[[int], float] = "uniform",
    ) -> None:
        matryoshka = MatryoshkaLoss(
            model, loss, matryoshka_dims, matryoshka_weights, n_dims_per_step=n_dims_per_step
        )
        super().__init__(
            model,
            matryoshka,
            n_layers_per_step=n_layers_per_step,
            last_layer_weight=last_layer_weight,
            prior_layers_weight=prior_layers_weight,
            kl_div_weight=kl_div_weight,
            kl_temperature=kl_temperature,
            layer_weighting=layer_weighting,
        )

    def config(self) -> dict[str, Any]:
        return {**super().config(), **self.loss.config()}
