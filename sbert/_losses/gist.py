"""GISTEmbedLoss and its cached variant: in-batch negatives with a guide model that drops false negatives."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
from torch import nn

from .._errors import InputError
from .._tokens.hf_methods import cleaned_up
from .base import (
    Features,
    Loss,
    embed_columns,
    forwards_as_sentence_transformers,
    is_metadata,
    user_overrides,
)
from .cached_mixin import (
    ST_CACHE_STEPS,
    CachedLossMixin,
    embed_all_minibatches,
    summed_terms,
    with_replay,
)
from .citations import GIST
from .gathering import empty_term, gather_rows
from .grad_cache import CachedLoss, RandContext, row_range, slices

MARGIN_STRATEGIES = ("absolute", "relative")


@dataclass(frozen=True)
class GistOptions:
    temperature: float = 0.01
    margin_strategy: str = "absolute"
    margin: float = 0.0
    contrast_anchors: bool = True
    contrast_positives: bool = True

    def check(self, name: str) -> None:
        if self.margin_strategy not in MARGIN_STRATEGIES:
            raise InputError(
                f"{name}: margin_strategy must be one of {MARGIN_STRATEGIES}, got {self.margin_strategy!r}."
            )
        if not self.temperature > 0:
            raise InputError(f"{name}: temperature must be positive (e.g. 0.01), got {self.temperature!r}.")


class Guide:
    """The guide model, and how it reads the student's tokenized columns (again, when its tokenizer differs
    or it reads fewer tokens)."""

    def __init__(self, model: Any, guide: Any, name: str) -> None:
        if not all(callable(getattr(guide, attr, None)) for attr in ("tokenize", "forward")) or not hasattr(
            guide, "tokenizer"
        ):
            raise InputError(
                f"{name}: guide must be a SentenceTransformer whose similarities pick out false negatives, "
                f"e.g. guide=SentenceTransformer('all-MiniLM-L6-v2'); got {type(guide).__name__}."
            )
        if getattr(guide, "backend", "torch") != "torch":
            guide.parameters()  # an "auto" guide moves to its torch modules, which run inside training
        if getattr(guide, "backend", "torch") != "torch":
            raise InputError(f"{name}: load the guide with backend='torch' (it runs inside training).")
        self.model = guide
        shorter = _token_limit(guide) < _token_limit(model)
        self.retokenize = shorter or _vocab(model.tokenizer) != _vocab(guide.tokenizer)
        self.decoder = _decoder(model.tokenizer) if self.retokenize else None

    def embed(self, sentence_features: Sequence[Features], *, merge_rest: bool = True) -> list[torch.Tensor]:
        """The guide's embeddings ``(B, D_guide)`` of each column, without gradients (``merge_rest``: as
        ``embed_columns``'s)."""
        with torch.no_grad():
            inputs = [self._inputs(features) for features in sentence_features]
            return [e.detach() for e in embed_columns(self.model, inputs, merge_rest=merge_rest)]

    def each_call(self, sentence_features: Sequence[Features], *, merge_rest: bool = True) -> GuideCalls:
        """The guide's embeddings of ``sentence_features`` for each call of a GIST loss in one step."""
        return GuideCalls(self, list(sentence_features), merge_rest)

    def _inputs(self, features: Features) -> Features:
        if not self.retokenize:
            return dict(features)  # a copy: a forward may write its outputs into the dict
        ids, mask = features["input_ids"], features["attention_mask"].bool()
        rows = [row[keep].tolist() for row, keep in zip(ids, mask)]
        texts = self.decoder.decode_batch(rows, skip_special_tokens=True)
        device = torch.device(str(self.model.device))
        return {
            k: v.to(device) if not is_metadata(k, v) else v for k, v in self.model.tokenize(texts).items()
        }


class GuideCalls:
    """The guide's embeddings of one batch for each call of a GIST loss's :meth:`guided_loss` in a step (one
    call, or one for each size of MatryoshkaLoss and each layer of AdaptiveLayerLoss).

    The guide reads the texts once, as this is made (before the model's forwards), unless it runs
    sentence-transformers' forwards (``forwards_as_sentence_transformers``: it draws dropout masks, a guide
    in training mode, outside sbert's own Trainer): then it reads them anew for each call, after the
    model's forwards, as sentence-transformers runs its guide inside each call of the inner loss, so a seed
    gives its masks (and its guide's embeddings, which differ from call to call)."""

    def __init__(self, reader: Guide, sentence_features: list[Features], merge_rest: bool) -> None:
        self.reader, self.sentence_features, self.merge_rest = reader, sentence_features, merge_rest
        again = forwards_as_sentence_transformers(reader.model)
        self.embeddings = None if again else reader.embed(sentence_features, merge_rest=merge_rest)

    def next(self) -> list[torch.Tensor]:
        if self.embeddings is None:  # read anew for each call
            return self.reader.embed(self.sentence_features, merge_rest=self.merge_rest)
        return self.embeddings


def _token_limit(model: Any) -> float:
    """The model's ``max_seq_length``; None (a Router whose routes set none, e.g. StaticEmbedding ones) reads
    no limit."""
    limit = model.max_seq_length
    return math.inf if limit is None else limit


def _vocab(tokenizer: Any) -> dict[str, int]:
    return getattr(tokenizer, "backend", tokenizer).get_vocab()


def _decoder(tokenizer: Any) -> Any:
    """The student's tokenizer, to turn token ids back into text; a WordPiece tokenizer saved without a
    decoder gets one (as transformers gives it), so that "walk ##ed" reads "walked" again."""
    from tokenizers import Tokenizer, decoders

    backend = getattr(tokenizer, "backend", None)
    if backend is None:  # not a tokenizers.Tokenizer (a transformers tokenizer decodes itself)
        return _TransformersDecoder(tokenizer)
    copy = Tokenizer.from_str(backend.to_str())  # the model's own tokenizer is left as it is
    if copy.decoder is None and type(copy.model).__name__ == "WordPiece":
        copy.decoder = decoders.WordPiece(prefix=copy.model.continuing_subword_prefix)
    return _TokenizersDecoder(copy, tokenizer)


class _TokenizersDecoder:
    """A copy of the student's Rust tokenizer, its texts cleaned up as the tokenizer's ``batch_decode``
    cleans them (``clean_up_tokenization_spaces``), as sentence-transformers' GIST decodes them."""

    def __init__(self, copy: Any, tokenizer: Any) -> None:
        self.copy, self.tokenizer = copy, tokenizer

    def decode_batch(self, rows: list[list[int]], skip_special_tokens: bool) -> list[str]:
        texts = self.copy.decode_batch(rows, skip_special_tokens=skip_special_tokens)
        return [cleaned_up(self.tokenizer, text) for text in texts]


class _TransformersDecoder:
    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    def decode_batch(self, rows: list[list[int]], skip_special_tokens: bool) -> list[str]:
        return self.tokenizer.batch_decode(rows, skip_special_tokens=skip_special_tokens)


def gist_terms(
    embeddings: list[torch.Tensor],
    guide: list[torch.Tensor],
    options: GistOptions,
    size: int,
    gather_across_devices: bool = False,
    sim_matrix: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> Iterator[torch.Tensor]:
    """GISTEmbedLoss as a sum of terms over slices of ``size`` anchors.

    Anchor ``i`` ranks its positive among the positives (and, as configured, the anchors, the other
    positives, the hard negatives) of the batch by ``cos / temperature``; a candidate the guide finds
    more similar to the anchor than the positive is (less a margin) is taken for a false negative and left
    out. The positive itself is never left out; a text is never its own negative.
    ``gather_across_devices``: the positives and hard negatives are every process's (the anchors are not).
    ``sim_matrix``: a subclass's similarity of two embedding matrices, ``(m, d), (n, d) -> (m, n)``, applied
    to the embeddings as they are, in place of the cosine (unit rows multiplied)."""
    anchors, n = embeddings[0], embeddings[0].shape[0]
    (positives, *negatives), offset = gather_rows(embeddings[1:], gather_across_devices)
    guide = [guide[0], *gather_rows(guide[1:], gather_across_devices)[0]]
    if n == 0:  # no rows here this step
        yield empty_term([positives, *negatives])
    prepare, sim = (_unit, _dot) if sim_matrix is None else (_as_is, sim_matrix)
    unit = [prepare(g) for g in guide]  # no gradient: normalize once
    for begin, end in slices(n, size):
        a, p, *negs = (prepare(e) for e in (anchors, positives, *negatives))
        ga, gp, *gnegs = unit
        rows = torch.arange(end - begin, device=a.device)
        own = rows + offset + begin  # each anchor's positive among the (gathered) positives
        guided_positive = sim(ga[begin:end], gp)  # (m, B_all)
        threshold = guided_positive[rows, own].view(-1, 1)  # the guide's anchor-positive similarity
        threshold = (
            threshold - options.margin
            if options.margin_strategy == "absolute"
            else threshold - threshold.abs() * options.margin
        )
        # (scores, the guide's, the column kept whatever the guide says, the column of the row's own text)
        blocks = [(sim(a[begin:end], p), guided_positive, own, None)]
        if options.contrast_anchors:
            blocks.append((sim(a[begin:end], a), sim(ga[begin:end], ga), None, rows + begin))
        if options.contrast_positives:
            pos = slice(offset + begin, offset + end)
            blocks.append((sim(p[pos], p), sim(gp[pos], gp), None, own))
        blocks += [
            (sim(a[begin:end], neg), sim(ga[begin:end], gneg), None, None) for neg, gneg in zip(negs, gnegs)
        ]
        scores = []
        for similarity, guided, kept, itself in blocks:
            false_negative = guided > threshold
            if kept is not None:
                false_negative[rows, kept] = False
            if itself is not None:
                false_negative[rows, itself] = True
            scores.append(similarity.masked_fill(false_negative, -torch.inf))
        logits = torch.cat(scores, dim=1) / options.temperature  # (m, B_all * n_blocks)
        yield nn.functional.cross_entropy(logits, own, reduction="sum") / n


def _unit(embeddings: torch.Tensor) -> torch.Tensor:
    return nn.functional.normalize(embeddings, p=2, dim=1)


def _as_is(embeddings: torch.Tensor) -> torch.Tensor:
    return embeddings


def _dot(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return x @ y.T


_DOC_ARGS = """
    Args:
        model: the :class:`sbert.SentenceTransformer` to train.
        guide: a trained :class:`sbert.SentenceTransformer` (loaded with ``backend="torch"``) that judges
            which in-batch candidates are false negatives; it is not trained. Its own tokenizer reads the
            texts when it differs from the model's, or when the guide reads fewer tokens.
        temperature: the softmax temperature over cosine similarities (default 0.01, i.e. scale 100).
        margin_strategy: ``"absolute"`` (default): a candidate is dropped when the guide finds it more
            similar to the anchor than ``guide_sim(anchor, positive) - margin``; ``"relative"``: more than
            ``guide_sim * (1 - margin)`` (for positive similarities).
        margin: how much below the positive's guide similarity a candidate may be and still count as a
            false negative (default 0: only candidates the guide ranks above the positive).
        contrast_anchors: use the other anchors as negatives too (default True).
        contrast_positives: rank each positive against the other positives too (default True).
        gather_across_devices: under DDP (torchrun), rank against every process's positives and hard
            negatives (the guide's too), with gradients, as sentence-transformers does; in one process the
            same loss as False."""


def _gist_option(name: str) -> property:
    def get(self: Any) -> Any:
        return getattr(self.options, name)

    def set_(self: Any, value: Any) -> None:
        options = replace(self.options, **{name: value})
        options.check(type(self).__name__)
        self.options = options

    return property(get, set_)


class GistAttributes:
    """The attributes sentence-transformers' GIST losses have: the guide model, the options (settable, and
    checked as the constructor checks them) and the modules its loss is computed with."""

    options: GistOptions
    guide_reader: Guide

    temperature = _gist_option("temperature")
    margin_strategy = _gist_option("margin_strategy")
    margin = _gist_option("margin")
    contrast_anchors = _gist_option("contrast_anchors")
    contrast_positives = _gist_option("contrast_positives")

    @property
    def guide(self) -> Any:
        return self.guide_reader.model

    @property
    def must_retokenize(self) -> bool:
        """Whether the guide reads the texts through its own tokenizer (another vocabulary, fewer tokens)."""
        return self.guide_reader.retokenize

    @property
    def similarity_fct(self) -> nn.Module:
        """The similarity the guide's and the model's scores are taken with (read-only: always the cosine)."""
        return nn.CosineSimilarity(dim=-1)

    @property
    def cross_entropy_loss(self) -> nn.Module:
        return nn.CrossEntropyLoss()

    def sim_matrix(self, embed1: torch.Tensor, embed2: torch.Tensor) -> torch.Tensor:
        """sentence-transformers' similarity step: the cosine of every row of ``embed1`` ``(m, d)`` with
        every row of ``embed2`` ``(n, d)``, ``(m, n)``. The loss takes the model's and the guide's scores
        with it; a subclass may override it (the loss then calls the override on the raw embeddings)."""
        return _unit(embed1) @ _unit(embed2).T

    def own_sim_matrix(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None:
        """A subclass's (or the instance's) ``sim_matrix`` for :func:`gist_terms`, None for the default."""
        return self.sim_matrix if user_overrides(self, "sim_matrix") else None


class GISTEmbedLoss(GistAttributes, Loss):
    """In-batch negatives, guided: a guide model drops the candidates that are likely true matches.

    GISTEmbed (Solatorio 2024, https://arxiv.org/abs/2402.16829). Like
    :class:`MultipleNegativesRankingLoss`, but a batch of real data holds texts that answer another anchor as
    well as its own positive does; the plain loss pushes them away. Here a guide model scores every
    candidate, and any it finds closer to the anchor than the anchor's own positive is left out of the
    softmax. Costs one forward of the guide per batch (no backward).
    """

    citation = GIST

    __doc__ = (
        (__doc__ or "")
        + _DOC_ARGS
        + """

    Requirements:
        (anchor, positive) pairs or (anchor, positive, negative_1, ..., negative_n); a guide model.

    Inputs:
        (anchor, positive[, negative_1, ..., negative_n]) texts, no labels (as
        :class:`MultipleNegativesRankingLoss`).

    Example::

        from sbert import GISTEmbedLoss, SentenceTransformer, Trainer, TrainingArguments, load_dataset

        model = SentenceTransformer("my-small-model")
        guide = SentenceTransformer()  # a stronger model, not trained
        train = load_dataset("pairs.tsv", columns=["query", "positive"])
        loss = GISTEmbedLoss(model, guide)
        Trainer(model, train, loss, args=TrainingArguments(output_dir="out", batch_size=64)).train()
    """
    )

    max_columns = None

    def __init__(
        self,
        model: Any,
        guide: Any,
        temperature: float = 0.01,
        margin_strategy: str = "absolute",
        margin: float = 0.0,
        contrast_anchors: bool = True,
        contrast_positives: bool = True,
        gather_across_devices: bool = False,
    ) -> None:
        super().__init__(model)
        self.gather_across_devices = gather_across_devices
        self.collective = gather_across_devices  # every process must join each step's exchange
        self.options = GistOptions(temperature, margin_strategy, margin, contrast_anchors, contrast_positives)
        self.options.check(type(self).__name__)
        # kept out of the module tree: the guide is not trained, saved in checkpoints nor put in train mode
        object.__setattr__(self, "guide_reader", Guide(model, guide, type(self).__name__))

    def forward(self, sentence_features: Sequence[Features], labels: torch.Tensor | None) -> torch.Tensor:
        sentence_features = list(sentence_features)
        guide = self.guide_reader.each_call(sentence_features)
        return self.guided_loss(embed_columns(self.model, sentence_features), guide)

    def guided_loss(self, embeddings: list[torch.Tensor], guide: GuideCalls) -> torch.Tensor:
        """The loss of the model's embeddings (truncated ones, under MatryoshkaLoss) given the guide's (this
        call's)."""
        rows = max(1, embeddings[0].shape[0])
        (loss,) = gist_terms(
            embeddings, guide.next(), self.options, rows, self.gather_across_devices, self.own_sim_matrix()
        )
        return loss

    def compute_loss_from_embeddings(
        self, embeddings: list[torch.Tensor], labels: torch.Tensor | None
    ) -> torch.Tensor:
        raise InputError(f"{type(self).__name__} needs the texts' features for its guide; call it on them.")

    def config(self) -> dict[str, Any]:
        # the guide model itself, as sentence-transformers 6.3 lists it (its card shows the model's repr)
        return {
            "guide": self.guide,
            **asdict(self.options),
            "gather_across_devices": self.gather_across_devices,
        }


class CachedGISTEmbedLoss(GistAttributes, CachedLoss):
    """:class:`GISTEmbedLoss` with GradCache: the same loss and gradient at batch size B, with the memory of
    one mini-batch (see :class:`CachedMultipleNegativesRankingLoss`).
    """

    __doc__ = (
        (__doc__ or "")
        + _DOC_ARGS
        + """
        mini_batch_size: rows embedded at once (default 32); it does not change the result.
        mini_batch_num_tokens: instead, embed consecutive rows holding at most this many real tokens together
            (a longer row alone), as sentence-transformers 6.3 does; it does not change the result either.
        show_progress_bar: show the embedding of each column's mini-batches.

    As in sentence-transformers, a subclass may override ``sim_matrix`` and its GradCache steps,
    ``embed_minibatch`` (the model's and the guide's embeddings of a mini-batch), ``embed_minibatch_iter``,
    ``calculate_loss(reps, reps_guided, *, with_backward=False)`` and
    ``calculate_loss_and_cache_gradients``: the loss then runs them, on mini-batches of rows in input order.

    Requirements:
        (anchor, positive) pairs or (anchor, positive, negative_1, ..., negative_n); a guide model; a large
        batch size.

    Inputs:
        As :class:`GISTEmbedLoss`.

    Example::

        from sbert import CachedGISTEmbedLoss, SentenceTransformer, Trainer, TrainingArguments, load_dataset

        model, guide = SentenceTransformer("my-small-model"), SentenceTransformer()
        train = load_dataset("pairs.tsv", columns=["query", "positive"])
        loss = CachedGISTEmbedLoss(model, guide, mini_batch_size=32)
        Trainer(model, train, loss, args=TrainingArguments(output_dir="out", batch_size=512)).train()
    """
    )

    def __init__(
        self,
        model: Any,
        guide: Any,
        temperature: float = 0.01,
        mini_batch_size: int = 32,
        mini_batch_num_tokens: int | None = None,
        show_progress_bar: bool = False,
        margin_strategy: str = "absolute",
        margin: float = 0.0,
        contrast_anchors: bool = True,
        contrast_positives: bool = True,
        gather_across_devices: bool = False,
    ) -> None:
        super().__init__(
            model,
            mini_batch_size=mini_batch_size,
            mini_batch_num_tokens=mini_batch_num_tokens,
            show_progress_bar=show_progress_bar,
        )
        self.gather_across_devices = gather_across_devices
        self.collective = gather_across_devices  # every process must join each step's exchange
        self.options = GistOptions(temperature, margin_strategy, margin, contrast_anchors, contrast_positives)
        self.options.check(type(self).__name__)
        object.__setattr__(self, "guide_reader", Guide(model, guide, type(self).__name__))

    def guide_embeddings(self, features: Features) -> torch.Tensor | None:
        return self.guide_reader.embed([features])[0]

    def forward(self, sentence_features: Sequence[Features], labels: torch.Tensor | None) -> torch.Tensor:
        if user_overrides(self, *ST_CACHE_STEPS, "calculate_loss_and_cache_gradients"):
            return self.forward_with_steps(list(sentence_features))
        return super().forward(sentence_features, labels)

    def forward_with_steps(self, sentence_features: list[Features]) -> torch.Tensor:
        """sentence-transformers' GradCache forward, through the steps a subclass overrides: mini-batches of
        rows in input order (:meth:`embed_minibatch_iter`), :meth:`calculate_loss` (without gradients) or
        :meth:`calculate_loss_and_cache_gradients`, and the replay of :meth:`embed_minibatch_iter`."""
        with_grad = torch.is_grad_enabled()
        ranges, reps, reps_guided, states = embed_all_minibatches(self, sentence_features, with_grad)
        if not with_grad:
            return self.calculate_loss(reps, reps_guided)
        loss, cache = self.calculate_loss_and_cache_gradients(reps, reps_guided)
        return with_replay(self, loss, sentence_features, cache, states, ranges)

    def embed_minibatch(
        self,
        sentence_feature: Features,
        begin: int,
        end: int,
        with_grad: bool,
        copy_random_state: bool,
        random_state: RandContext | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, RandContext | None]:
        """sentence-transformers' step: rows ``begin:end`` embedded by the model (``CachedLossMixin``'s
        ``embed_minibatch``) and, without ``with_grad`` (the replay needs the model's only), by the guide;
        and the random state the model's forward started from when ``copy_random_state``."""
        reps, state = CachedLossMixin.embed_minibatch(
            self, sentence_feature, begin, end, with_grad, copy_random_state, random_state
        )
        guide = None if with_grad else self.guide_reader.embed([row_range(sentence_feature, begin, end)])[0]
        return reps, guide, state

    # each mini-batch's embed_minibatch in turn (yielding its three items), as the mixin's
    embed_minibatch_iter = CachedLossMixin.embed_minibatch_iter

    def calculate_loss(
        self,
        reps: list[list[torch.Tensor]],
        reps_guided: list[list[torch.Tensor]],
        *,
        with_backward: bool = False,
    ) -> torch.Tensor:
        """sentence-transformers' step: the loss over the whole batch from each column's mini-batch
        embeddings and the guide's; with ``with_backward``, back-propagated to ``reps`` slice by slice and
        returned detached."""
        if len(reps) != len(reps_guided):
            raise InputError(f"{type(self).__name__}: reps and reps_guided must have the same length.")
        embeddings = [torch.cat(column) for column in reps]
        guide = [torch.cat(column) for column in reps_guided]
        return summed_terms(self.loss_terms(embeddings, guide, None), with_backward)

    def calculate_loss_and_cache_gradients(
        self, reps: list[list[torch.Tensor]], reps_guided: list[list[torch.Tensor]]
    ) -> tuple[torch.Tensor, list[list[torch.Tensor | None]]]:
        """sentence-transformers' step 2: :meth:`calculate_loss` back-propagated to ``reps`` (leaves), the
        loss detached (requiring grad, for step 3's hook) and each mini-batch's gradient (the cache)."""
        loss = self.calculate_loss(reps, reps_guided, with_backward=True).detach().requires_grad_()
        return loss, [[rep.grad for rep in column] for column in reps]

    def loss_terms(
        self, embeddings: list[torch.Tensor], guide: list[torch.Tensor] | None, labels: torch.Tensor | None
    ) -> Iterator[torch.Tensor]:
        if guide is None:
            raise InputError(
                f"{type(self).__name__} needs the texts' features for its guide; call it on them."
            )
        return gist_terms(
            embeddings,
            guide,
            self.options,
            self.mini_batch_size,
            self.gather_across_devices,
            self.own_sim_matrix(),
        )

    def config(self) -> dict[str, Any]:
        options = asdict(self.options)
        temperature = options.pop("temperature")
        return {  # in sentence-transformers 6.3's order: the mini-batch options after the temperature
            "guide": self.guide,
            "temperature": temperature,
            **super().config(),
            "mini_batch_num_tokens": self.mini_batch_num_tokens,
            **options,
            "gather_across_devices": self.gather_across_devices,
        }
