"""The ranking math of the MultipleNegativesRankingLoss family (sentence-transformers 6.3's directions,
partition modes and hardness weighting): its options and public attributes, and the loss as a sum of terms
over slices of anchors, which the cached loss computes through the MultipleNegativesRankingLoss it wraps."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import torch
from torch import nn

from .._errors import InputError
from .._search.exact import cos_sim as util_cos_sim
from .base import at_least_float32
from .citations import GTE, INFONCE, JINA_EMBEDDINGS_2
from .gathering import empty_term, gather_rows
from .grad_cache import slices
from .metrics import custom_similarity

logger = logging.getLogger(__name__)

DIRECTIONS = ("query_to_doc", "query_to_query", "doc_to_query", "doc_to_doc")  # sentence-transformers' order
HARDNESS_MODES = (None, "in_batch_negatives", "hard_negatives", "all_negatives")


class Ranking(NamedTuple):
    """sentence-transformers 6.3's ranking options of MultipleNegativesRankingLoss: which similarity
    matrices hold each anchor's candidates (``directions``), one softmax over all of them or one per
    direction (``partition_mode``), and which negatives get the hardness boost ``hardness_strength *
    stop_grad(similarity)`` on their logits (Lan et al. 2025)."""

    directions: tuple[str, ...] = ("query_to_doc",)
    partition_mode: str = "joint"
    hardness_mode: str | None = None
    hardness_strength: float = 0.0

    @property
    def hardness(self) -> bool:
        return self.hardness_mode is not None and self.hardness_strength > 0.0

    def changed(self, **options: Any) -> Ranking:
        """These options with ``options`` changed (a loss's attributes set after it was made)."""
        return self._replace(**options)

    def config(self) -> dict[str, Any]:
        """The options for a loss's config: all of them, the defaults too, as sentence-transformers 6.3's
        ``get_config_dict`` lists them."""
        return self._asdict()


DEFAULT = Ranking()
# MultipleNegativesSymmetricRankingLoss
SYMMETRIC = Ranking(("query_to_doc", "doc_to_query"), "per_direction")


def _ranking_field(name: str, convert: Callable[[Any], Any] = lambda value: value) -> property:
    """The loss's ``ranking`` field ``name`` as an attribute: read there, and set as a changed ``Ranking``
    (``convert`` applied to the value given)."""

    def set_field(self: Any, value: Any) -> None:
        self.ranking = self.ranking.changed(**{name: convert(value)})

    return property(lambda self: getattr(self.ranking, name), set_field)


class RankingAttributes:
    """The public attributes sentence-transformers 6.3's MultipleNegativesRankingLoss family has, read from
    the loss's ``ranking`` (:class:`Ranking`), ``scale`` and ``_similarity`` (``None``: the cosine, which
    the loss computes itself): code written for sentence-transformers reads ``loss.directions``,
    ``loss.temperature`` or ``loss.similarity_fct``, and may set them."""

    ranking: Ranking
    scale: float
    gather_across_devices: bool
    _similarity: Callable[..., torch.Tensor] | None

    @property
    def similarity_fct(self) -> Callable[..., Any]:
        return self._similarity or util_cos_sim  # sbert.util.cos_sim, named as sentence-transformers' default

    @similarity_fct.setter
    def similarity_fct(self, value: Any) -> None:
        self._similarity = custom_similarity(value, "cos_sim", type(self).__name__)

    @property
    def temperature(self) -> float:
        return 1.0 / self.scale

    directions = _ranking_field("directions", tuple)
    partition_mode = _ranking_field("partition_mode")
    hardness_mode = _ranking_field("hardness_mode")
    hardness_strength = _ranking_field("hardness_strength")

    def sliced_terms(self, embeddings: list[torch.Tensor], size: int) -> Iterator[torch.Tensor]:
        """This loss as a sum of terms over slices of ``size`` anchors (see :func:`ranking_terms`): what the
        cached loss wrapping it computes."""
        return ranking_terms(
            embeddings,
            self.scale,
            size,
            ranking=self.ranking,
            similarity=self._similarity,
            gather_across_devices=self.gather_across_devices,
        )

    @property
    def citation(self) -> str:
        if set(self.directions) == set(DIRECTIONS) and self.partition_mode == "joint":
            return GTE
        if (
            set(self.directions) == {"query_to_doc", "doc_to_query"}
            and self.partition_mode == "per_direction"
        ):
            return JINA_EMBEDDINGS_2
        return INFONCE


def ranking_options(
    directions: Any, partition_mode: str, hardness_mode: str | None, hardness_strength: float
) -> Ranking:
    """The options checked as sentence-transformers 6.3 checks them (its messages, as InputError)."""
    if not directions:
        raise InputError("At least one direction must be specified.")
    directions = tuple(directions)
    if not set(directions) <= set(DIRECTIONS):
        raise InputError(f"Invalid directions: {set(directions) - set(DIRECTIONS)}. Valid: {set(DIRECTIONS)}")
    if "query_to_doc" not in directions:
        raise InputError("'query_to_doc' direction is required (contains the positive pair).")
    if partition_mode not in ("joint", "per_direction"):
        raise InputError(f"partition_mode must be 'joint' or 'per_direction', got {partition_mode}")
    if partition_mode == "per_direction" and set(directions) & {"query_to_query", "doc_to_doc"}:
        raise InputError(
            "partition_mode='per_direction' requires every direction's candidate pool to include the "
            "positive pair. 'query_to_query' and 'doc_to_doc' only contain same-type similarities and never "
            "include the positive, making the per-direction loss ill-defined. Use partition_mode='joint' "
            "instead."
        )
    if hardness_mode not in HARDNESS_MODES:
        raise InputError(f"hardness_mode must be one of {set(HARDNESS_MODES)}, got {hardness_mode!r}")
    if hardness_strength < 0.0:
        raise InputError("hardness_strength must be non-negative.")
    if hardness_mode is not None and hardness_strength == 0.0:
        logger.warning(
            f"hardness_mode={hardness_mode!r} is set but hardness_strength=0.0, so hardness weighting has no "
            "effect. Set hardness_strength to a positive value to enable hardness weighting."
        )
    return Ranking(directions, partition_mode, hardness_mode, hardness_strength)


def _log_normalizer(
    q: torch.Tensor,
    d: torch.Tensor,
    queries: torch.Tensor,
    candidates: torch.Tensor,
    own: torch.Tensor,
    scale: float,
    ranking: Ranking,
    similarity: Callable[..., torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """The positive logits ``(m,)`` and ``log Z`` ``(m,)`` of ``m`` anchors ``q`` (their positives ``d``)
    against every candidate ``(B_all * (1 + negatives), D)`` (and, for the directions that need them, every
    query ``(B_all, D)``); ``own``: the anchors' rows among all queries. As sentence-transformers 6.3's
    MultipleNegativesRankingLoss."""
    rows = torch.arange(len(q), device=q.device)
    matrices = {"query_to_doc": similarity(q, candidates)}  # (m, B_all * (1 + negatives))
    if ranking.directions != ("query_to_doc",) or ranking.hardness:
        b_all = len(queries)  # every process's queries, gathered
        columns = candidates.shape[0] // b_all  # 1 + negatives
        own_columns = torch.zeros(len(q), b_all, dtype=torch.bool, device=q.device)
        own_columns[rows, own] = True  # (m, B_all)
    if "query_to_query" in ranking.directions:  # (m, B_all), without q_i itself
        matrices["query_to_query"] = similarity(q, queries).masked_fill(own_columns, -torch.inf)
    if "doc_to_query" in ranking.directions:  # (m, B_all): each positive ranks the queries
        matrices["doc_to_query"] = similarity(queries, d).T
    if "doc_to_doc" in ranking.directions:  # (m, B_all * (1 + negatives)), without the query's own documents
        own_documents = own_columns.repeat(1, columns)
        matrices["doc_to_doc"] = similarity(candidates, d).T.masked_fill(own_documents, -torch.inf)
    penalty = None
    if ranking.hardness:  # on the raw similarities, not scaled
        own_docs = own_columns.repeat(1, columns)  # (m, B_all * (1 + negatives)): positive and own negatives
        if ranking.hardness_mode == "hard_negatives":  # own hard negatives only
            excluded = ~own_docs
            excluded[:, :b_all] = True
        elif ranking.hardness_mode == "in_batch_negatives":  # other queries' documents only
            excluded = own_docs
        else:  # all_negatives: everything but the positives
            excluded = own_docs
            excluded[:, b_all:] = False
        penalty = (ranking.hardness_strength * matrices["query_to_doc"].detach()).masked_fill(excluded, 0.0)
    logits = {key: matrix * scale for key, matrix in matrices.items()}
    if penalty is not None:
        logits["query_to_doc"] = logits["query_to_doc"] + penalty
    positive = logits["query_to_doc"][rows, own]
    if ranking.partition_mode == "joint":
        return positive, torch.logsumexp(torch.cat(list(logits.values()), dim=1), dim=1)
    log_z = sum(torch.logsumexp(matrix, dim=1) for matrix in logits.values())
    return positive, log_z / len(logits)


def ranking_terms(
    embeddings: list[torch.Tensor],
    scale: float,
    size: int,
    *,
    ranking: Ranking = DEFAULT,
    similarity: Callable[..., torch.Tensor] | None = None,
    gather_across_devices: bool = False,
) -> Iterator[torch.Tensor]:
    """MultipleNegativesRankingLoss as a sum of terms over slices of ``size`` anchors.

    Anchor ``i``'s term is ``log Z_i - scale * sim(a_i, p_i)``, ``Z_i`` summing ``exp(scale * sim)`` over
    the candidates of ``ranking``'s directions (by default every positive and hard negative of the whole
    batch; see :func:`_log_normalizer`). Each slice normalizes again, so that its graph stands alone.
    ``similarity``: another score than the cosine (a ``similarity_fct``), called on the raw embeddings.
    ``gather_across_devices``: the candidates (and, for more directions or hardness, the anchors) are every
    process's.
    """
    anchors, n = embeddings[0], embeddings[0].shape[0]  # (B, D): this process's anchors
    columns, offset = gather_rows(embeddings[1:], gather_across_devices)
    candidates = torch.cat(columns)  # (B_all * (1 + negatives), D)
    # every process's queries, where a direction scores them or the hardness masks need their count
    every_query = gather_across_devices and (ranking.directions != ("query_to_doc",) or ranking.hardness)
    queries = gather_rows([anchors], every_query)[0][0]  # (B_all, D)
    if n == 0:  # no rows here this step
        yield empty_term([candidates, queries])
    if similarity is None:  # the cosine: normalize once, not in every slice (half precision as float32)
        anchors = nn.functional.normalize(at_least_float32(anchors), p=2, dim=1)
        candidates = nn.functional.normalize(at_least_float32(candidates), p=2, dim=1)
        queries = nn.functional.normalize(at_least_float32(queries), p=2, dim=1)
        similarity = _dot
    for begin, end in slices(n, size):
        own = torch.arange(offset + begin, offset + end, device=anchors.device)  # among all queries
        positive, log_z = _log_normalizer(
            anchors[begin:end], candidates[own], queries, candidates, own, scale, ranking, similarity
        )
        yield (log_z - positive).sum() / n


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a @ b.T


def symmetric_ranking_loss(
    embeddings: list[torch.Tensor],
    scale: float,
    similarity: Callable[..., torch.Tensor] | None,
    gather_across_devices: bool,
    ranking: Ranking = SYMMETRIC,
) -> torch.Tensor:
    """MultipleNegativesRankingLoss (symmetric by default) in one term (the whole batch's anchors in one
    slice)."""
    rows = max(1, embeddings[0].shape[0])
    (loss,) = ranking_terms(
        embeddings,
        scale,
        rows,
        ranking=ranking,
        similarity=similarity,
        gather_across_devices=gather_across_devices,
    )
    return loss


def check_scale(scale: float, name: str) -> None:
    if not scale > 0:
        raise InputError(f"{name}: scale must be positive (e.g. 20), got {scale!r}.")
