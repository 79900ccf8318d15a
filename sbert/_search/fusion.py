"""Reciprocal rank fusion: one ranking from several rankings of the same candidates.

A document's fused score is the sum over rankings of ``1 / (k + rank)`` (ranks from 1), as Cormack, Clarke
and Büttcher (SIGIR 2009) define it with ``k = 60``. It reads ranks only, so a retriever's cosines and a
reranker's logits, on unrelated scales, combine without calibration.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from .._errors import InputError

RRF_K = 60


def rrf_scores(rankings: Sequence[Sequence[Hashable]], k: int = RRF_K) -> dict[Hashable, float]:
    """Each candidate's fused score, in the order of the first ranking (then first appearance)."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise InputError(f"k must be a non-negative integer, got {k!r}.")
    scores: dict[Hashable, float] = {}
    for ranking in rankings:
        for rank, candidate in enumerate(ranking, start=1):
            scores[candidate] = scores.get(candidate, 0.0) + 1.0 / (k + rank)
    return scores


def reciprocal_rank_fusion(rankings: Sequence[Sequence[Hashable]], k: int = RRF_K) -> list[Hashable]:
    """The candidates of ``rankings`` (each best first) ordered by fused score; ties keep the order of the
    first ranking (then first appearance). A candidate missing from a ranking adds nothing for it."""
    return fused_order(rrf_scores(rankings, k))


def fused_order(scores: dict[Hashable, float]) -> list[Hashable]:
    """The candidates of :func:`rrf_scores` best first; a tie keeps their order there."""
    position = {candidate: i for i, candidate in enumerate(scores)}
    return sorted(scores, key=lambda c: (-scores[c], position[c]))
