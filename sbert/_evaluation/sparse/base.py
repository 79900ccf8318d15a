"""What every sparse evaluator adds to its dense counterpart: texts embedded as sparse tensors (cut to
``max_active_dims``), scores read from those tensors, and the sparsity of the embeddings in the results.

sentence-transformers' sparse evaluators are subclasses of its dense ones that embed sparsely; here too:
``class SparseTripletEvaluator(SparseEvaluator, TripletEvaluator)`` keeps the triplet metrics and overrides
the four methods through which every evaluator embeds texts and reads embeddings. Torch is imported when an
evaluator embeds, as the SparseEncoder it evaluates needs it anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from ..._checks import check_positive_int
from ..._errors import InputError
from ..base import log_lines


class SparseEvaluator:
    """Mixed in before a dense evaluator. Each call of :meth:`embed_texts` records the mean number of active
    dimensions and the share of zeros of its embeddings under a group (``""``, or ``"query"`` and
    ``"corpus"``, ...); the results gain their mean over the calls of each group, as
    sentence-transformers reports them: ``active_dims``, ``sparsity_ratio`` (or ``query_active_dims``, ...).
    They are also the last columns of the CSV row."""

    max_active_dims: int | None = None
    # sentence-transformers' logger of the sparsity lines (after the dense evaluator's result lines)
    st_sparse_logger: ClassVar[str | None] = None
    # the groups whose sparsity the CSV reports, in its order ("": the plain active_dims, sparsity_ratio)
    sparsity_groups: ClassVar[tuple[str, ...]] = ("",)
    sparse_output = True  # False: dense embeddings (SparseMSEEvaluator compares them with a teacher's)
    column_group: str | None = None  # while embed_columns embeds a column: the group it records under

    def start_sparse(self, max_active_dims: int | None, options: dict[str, Any] | None = None) -> None:
        """Check and keep ``max_active_dims``; refuse ``truncate_dim`` among ``options`` (a sparse embedding
        is cut by weight, not by position)."""
        refuse_truncate_dim(self, (options or {}).get("truncate_dim", getattr(self, "truncate_dim", None)))
        check_positive_int("max_active_dims", max_active_dims, optional=True)
        self.max_active_dims = max_active_dims
        self.reset_sparsity()

    def reset_sparsity(self) -> None:
        self.sparsity_calls: dict[str, list[dict[str, float]]] = {}
        self.sparsity_stats: dict[str, float] = {}

    def stats_group(self, role: str | None) -> str:
        """The group a call's sparsity is recorded under, from its role (``"query"``, ``"document"``)."""
        return ""

    def recording_group(self, role: str | None) -> str:
        """The group an embedding call's sparsity is recorded under: the column's, while
        :meth:`embed_columns` embeds one that has its own, else the role's (:meth:`stats_group`)."""
        return self.column_group if self.column_group is not None else self.stats_group(role)

    def embed_texts(
        self,
        model: Any,
        texts: Sequence[str],
        *,
        role: str | None = None,
        progress: bool = True,
        **options: Any,
    ) -> Any:
        """Sparse CPU tensor ``(n, V)`` of ``texts`` (a dense array without ``sparse_output``); its sparsity
        recorded under :meth:`recording_group`."""
        options.update(
            convert_to_sparse_tensor=self.sparse_output,
            save_to_cpu=True,
            max_active_dims=self.max_active_dims,
        )
        embeddings = super().embed_texts(model, texts, role=role, progress=progress, **options)  # type: ignore[misc]
        self.record(embeddings, self.recording_group(role))
        return embeddings if self.sparse_output else embeddings.numpy()

    def embedded_by_user(self, model: Any, texts: Sequence[str], role: str | None = None, **hook: Any) -> Any:
        """As the dense evaluators', with the call's sparsity recorded as sentence-transformers records it:
        by its default ``embed_inputs``, where the override calls that through ``super()``; else (where
        sentence-transformers would have none to report) from what the override returned."""
        recorded = self.recorded_calls()
        found = super().embedded_by_user(model, texts, role, **hook)  # type: ignore[misc]
        if found is not None and self.recorded_calls() == recorded:
            import torch

            self.record(torch.as_tensor(found), self.recording_group(role))
        return found

    def recorded_calls(self) -> int:
        return sum(len(calls) for calls in self.sparsity_calls.values())

    def read_embeddings(self, embeddings: Any) -> Any:
        """A user's embeddings (a sparse or dense tensor, a list of rows, an array) as a sparse CPU tensor
        (a dense array without ``sparse_output``)."""
        from ..._sparse.tensors import sparse_rows

        rows = sparse_rows(embeddings).detach().cpu()
        return rows if self.sparse_output else rows.to_dense().numpy()

    def embed_columns(
        self, model: Any, columns: Sequence[Sequence[str]], roles: Any, groups: Sequence[str | None]
    ) -> list[Any]:
        """One call per column, as sentence-transformers embeds them (its sparsity counts every row): a
        user's ``embed_inputs`` where there is one (:meth:`embed_column`), each column's sparsity under its
        group (None: its role's)."""
        roles = roles or [None] * len(columns)
        embedded = []
        for column, role, group in zip(columns, roles, groups):
            self.column_group = group
            try:
                embedded.append(self.embed_column(model, column, role))  # type: ignore[attr-defined]
            finally:
                del self.column_group  # back to the class's None
        return embedded

    def record(self, embeddings: Any, group: str) -> None:
        from ..._sparse.tensors import sparsity

        self.sparsity_calls.setdefault(group, []).append(sparsity(embeddings))

    def compute(self, model: Any) -> dict[str, float]:
        self.reset_sparsity()
        results = super().compute(model)  # type: ignore[misc]
        self.sparsity_stats = self.summarize_sparsity()
        return {**results, **self.sparsity_stats}

    def summarize_sparsity(self) -> dict[str, float]:
        """Each group's statistics, averaged over its calls (``query_active_dims``, ...)."""
        stats = {}
        for group, calls in self.sparsity_calls.items():
            for key in calls[0]:
                stats[f"{group}_{key}" if group else key] = sum(call[key] for call in calls) / len(calls)
        return stats

    def log_st_results(self, results: dict[str, float]) -> None:
        super().log_st_results(results)  # type: ignore[misc]
        if self.st_sparse_logger:
            log_lines(self.st_sparse_logger, sparsity_lines(self.sparsity_stats))

    def csv_columns(self, results: dict[str, float]) -> dict[str, float]:
        metrics = {key: value for key, value in results.items() if key not in self.sparsity_stats}
        return {**super().csv_columns(metrics), **self.sparsity_stats}  # type: ignore[misc]

    def csv_header_columns(self) -> list[str]:
        # sentence-transformers adds the sparsity columns with the metrics' own (none: none yet)
        columns = super().csv_header_columns()  # type: ignore[misc]
        if not columns:
            return []
        groups = self.sparsity_groups
        return [
            *columns,
            *(f"{g}_{key}" if g else key for g in groups for key in ("active_dims", "sparsity_ratio")),
        ]

    def get_config_dict(self) -> dict[str, Any]:
        return with_max_active_dims(super().get_config_dict(), self.max_active_dims)  # type: ignore[misc]

    # reading sparse embeddings: sbert._sparse.tensors, the SparseEncoder's own similarity code

    def take_rows(self, embeddings: Any, rows: Sequence[int]) -> Any:
        if isinstance(embeddings, np.ndarray):
            return embeddings[list(rows)]
        import torch

        return embeddings.index_select(0, torch.as_tensor(list(rows), dtype=torch.long))

    def paired_scores(self, a: Any, b: Any, function: str) -> np.ndarray:
        from ..._sparse.tensors import similarity_pairwise

        return similarity_pairwise(a, b, function).numpy().astype(np.float64)

    def score_matrix(self, a: Any, b: Any, function: str) -> np.ndarray:
        from ..._sparse.tensors import similarity

        return similarity(a, b, function).numpy()


def sparsity_lines(stats: dict[str, float]) -> list[str]:
    """sentence-transformers' INFO lines of a sparse evaluation's sparsity ``stats``: one per group (the
    texts' role or column), then the mean FLOPS where retrieval reports it."""
    lines = []
    for group in ("", "query", "corpus", "anchor", "positive", "negative"):
        prefix = f"{group}_" if group else ""
        if f"{prefix}active_dims" in stats:
            lines.append(
                f"Model {group.capitalize() + ' ' if group else ''}Sparsity: Active Dimensions: "
                f"{stats[prefix + 'active_dims']:.1f}, Sparsity Ratio: {stats[prefix + 'sparsity_ratio']:.4f}"
            )
    if "avg_flops" in stats:
        lines.append(f"Average FLOPS: {stats['avg_flops']:.2f}")
    return lines


def refuse_truncate_dim(evaluator: Any, truncate_dim: int | None) -> None:
    """A sparse embedding is cut by weight, not by position: ``truncate_dim`` is an error naming the fix."""
    if truncate_dim is not None:
        raise InputError(
            f"{type(evaluator).__name__} takes no truncate_dim: pass max_active_dims to keep each sparse "
            "embedding's largest weights."
        )


def with_max_active_dims(config: dict[str, Any], max_active_dims: int | None) -> dict[str, Any]:
    """An evaluator's settings for the model card, with ``max_active_dims`` when set (as there)."""
    return config | ({"max_active_dims": max_active_dims} if max_active_dims is not None else {})


def count_vector(embeddings: Any) -> Any:
    """``(V,)`` int32: how many rows of ``embeddings`` have each dimension active."""
    import torch

    embeddings = (embeddings if embeddings.is_sparse else embeddings.to_sparse()).coalesce()
    return torch.bincount(embeddings.indices()[1], minlength=embeddings.shape[1]).int()


def mean_flops(query_counts: Any, queries: int, corpus_counts: Any, documents: int) -> float:
    """The expected number of dimensions a query and a document share (the FLOPS of scoring them): the dot
    product of the mean query and mean document count vectors, in float32 as sentence-transformers."""
    import torch

    return float(torch.dot(query_counts / queries, corpus_counts / documents))
