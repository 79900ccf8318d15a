"""HierarchicalTokenPooling: sentence-transformers 6.3's Ward-clustering token pooling (PyLate's, after its
condensed-Ward fix), with the same pooled vectors.

Each document keeps its first ``num_protected_tokens`` vectors (the ``[CLS]``); the rest are clustered by
Ward linkage on their cosine distances (``1 - a·b``, the vectors being unit length) and each cluster becomes
its mean, clusters in the order of their labels. How many clusters: ``tokens // pool_factor``, at most
``max_tokens`` vectors in all, or the clusters of the Ward tree cut at ``distance_threshold``. The outputs are
unit length again unless ``normalize_embeddings=False``. The clustering is scipy's (fastcluster's when
installed, as in sentence-transformers); its labels carry no gradient, the means do (a training step sees
each cluster member get its cluster's full gradient, sentence-transformers' straight-through estimate).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from math import ceil, isfinite
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .._errors import BackendUnavailableError, InputError, warn_at_caller
from .token_pooling import HALF_DTYPES, BaseTokenPooling, unit_length


class HierarchicalTokenPooling(BaseTokenPooling):
    """Ward-clustering token pooling (see the module docstring); place it after the token Normalize.

    Args:
        pool_factor: keep about ``1 / pool_factor`` of each document's tokens (``1.5`` keeps two thirds;
            ``1.0``, the default, clusters nothing).
        max_tokens: at most this many vectors per document, protected ones included.
        distance_threshold: cut each document's Ward tree at this height (see
            :meth:`calibrate_distance_threshold`). ``pool_factor``, ``max_tokens`` and ``distance_threshold``
            exclude each other.
        num_protected_tokens: leading tokens kept as they are (default 1, the ``[CLS]``).
        normalize_embeddings: unit-length outputs (default ``True``; a saved config without the key
            loads as ``False``, as sentence-transformers reads older saves).
        tasks: the tasks pooled (default ``["document"]``).
        use_kernels, kernel_config: sentence-transformers' hub kernels for the clustering; sbert clusters
            with scipy, the reference those kernels reproduce.

    Example::

        model = MultiVectorEncoder("path/to/colbert", token_pooling=HierarchicalTokenPooling(pool_factor=2))
        documents = model.encode_document(texts)  # about half the vectors per document
    """

    config_keys: list[str] = [
        "pool_factor",
        "max_tokens",
        "distance_threshold",
        "num_protected_tokens",
        "normalize_embeddings",
        "tasks",
    ]

    def __init__(
        self,
        pool_factor: float = 1.0,
        *,
        max_tokens: int | None = None,
        distance_threshold: float | None = None,
        num_protected_tokens: int = 1,
        normalize_embeddings: bool = True,
        tasks: str | list[str] | None = None,
        use_kernels: bool | None = None,
        kernel_config: Any = None,
    ) -> None:
        super().__init__(tasks=tasks)
        _check_settings(pool_factor, max_tokens, distance_threshold, num_protected_tokens)
        self.pool_factor = pool_factor
        self.max_tokens = max_tokens
        self.distance_threshold = distance_threshold
        self.num_protected_tokens = num_protected_tokens
        self.normalize_embeddings = normalize_embeddings
        self.use_kernels = True if kernel_config is not None else use_kernels
        self.kernel_config = kernel_config
        if self.use_kernels:
            warn_at_caller(
                "sbert clusters with scipy (sentence-transformers' reference clustering, which its Ward "
                "kernels reproduce): use_kernels and kernel_config change nothing here."
            )

    @classmethod
    def load_config(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config = super().load_config(*args, **kwargs)
        config.setdefault("normalize_embeddings", False)  # saves from before the setting were unnormalized
        return config

    def _clusters_nothing(self) -> bool:
        return self.pool_factor <= 1 and self.max_tokens is None and self.distance_threshold is None

    def forward(self, features: dict[str, Any], task: str | None = None) -> dict[str, Any]:
        if self._clusters_nothing():  # only the normalization, on the padded batch
            if self.normalize_embeddings and self.applies_to(task):
                features["token_embeddings"] = unit_length(features["token_embeddings"])
            return features
        return super().forward(features, task=task)

    def pool_one(self, embedding: Tensor, **kwargs: Any) -> Tensor:
        """One document's ``(tokens, dim)`` vectors: the protected ones, then the cluster means."""
        if embedding.ndim != 2:
            raise InputError(
                f"Each text to pool must be a (tokens, dim) tensor, got {tuple(embedding.shape)}."
            )
        protected = min(self.num_protected_tokens, len(embedding))
        rest = embedding[protected:]
        values = rest.float() if rest.dtype in HALF_DTYPES else rest  # sums in float32
        labels = self._cluster_labels(values)
        if labels is None:
            means = values
        else:
            count = int(labels.max()) + 1
            sums = values.new_zeros((count, values.shape[1])).index_add_(0, labels, values)
            sizes = torch.bincount(labels, minlength=count).to(values.dtype)
            means = sums / sizes[:, None]
            if sums.requires_grad:  # each member gets its cluster's full gradient
                means = means.detach() + (sums - sums.detach())
        pooled = torch.cat((embedding[:protected], means.to(embedding.dtype)))
        return unit_length(pooled) if self.normalize_embeddings else pooled

    def _cluster_labels(self, values: Tensor) -> Tensor | None:
        """Each vector's cluster (0, 1, ... in the order of scipy's labels), or ``None``: one per vector."""
        count = len(values)
        if count <= 1:
            return None
        if self.distance_threshold is None:
            if self.max_tokens is not None:
                target = self.max_tokens - self.num_protected_tokens
            else:
                target = int(count // self.pool_factor)
            target = min(max(target, 1), count)
            if target >= count:
                return None
            if target == 1:
                return torch.zeros(count, dtype=torch.long, device=values.device)
            labels = _hierarchy().fcluster(ward_linkage(values), t=target, criterion="maxclust")
        else:
            labels = _hierarchy().fcluster(
                ward_linkage(values), t=self.distance_threshold, criterion="distance"
            )
        dense = np.unique(labels, return_inverse=True)[1].reshape(-1)
        return torch.from_numpy(dense.astype(np.int64)).to(values.device)

    @staticmethod
    @torch.no_grad()
    def calibrate_distance_threshold(
        embeddings: Iterable[Tensor], *, target_tokens: float, num_protected_tokens: int = 1
    ) -> float | None:
        """The ``distance_threshold`` that pools these (unit-length, unpadded ``(tokens, dim)``) documents to
        ``target_tokens`` vectors on average, protected ones included; ``None`` when they have no more than
        that already. Other documents may average more.

        Example::

            threshold = HierarchicalTokenPooling.calibrate_distance_threshold(documents, target_tokens=16)
            pooling = HierarchicalTokenPooling(distance_threshold=threshold)
        """
        if not isfinite(target_tokens) or target_tokens <= 0:
            raise InputError(f"target_tokens must be a finite number above 0, got {target_tokens}.")
        if num_protected_tokens < 0:
            raise InputError(f"num_protected_tokens must be >= 0, got {num_protected_tokens}.")
        heights, count, total, least = [], 0, 0, 0
        for embedding in embeddings:
            if not isinstance(embedding, Tensor) or embedding.ndim != 2:
                raise InputError("Calibration documents must be (tokens, dim) tensors, one per document.")
            protected = min(num_protected_tokens, len(embedding))
            rest = embedding[protected:]
            count, total = count + 1, total + len(embedding)
            least += protected + min(len(rest), 1)  # the fewest vectors a document can pool to
            if len(rest) > 1:
                heights.append(_hierarchy().maxdists(ward_linkage(rest)))
        if count == 0:
            raise InputError("calibrate_distance_threshold needs at least one document.")
        if target_tokens * count < least:
            raise InputError(
                f"target_tokens must be at least {least / count:g}: each document keeps its protected tokens "
                "and one cluster."
            )
        merges = ceil(total - target_tokens * count)
        if merges <= 0:
            return None
        return float(np.partition(np.concatenate(heights), merges - 1)[merges - 1])


def _check_settings(
    pool_factor: float, max_tokens: int | None, distance_threshold: float | None, num_protected_tokens: int
) -> None:
    if not isfinite(pool_factor) or pool_factor < 1:
        raise InputError(f"pool_factor must be >= 1 and finite, got {pool_factor}.")
    if not isinstance(num_protected_tokens, int) or num_protected_tokens < 0:
        raise InputError(f"num_protected_tokens must be >= 0 and an integer, got {num_protected_tokens!r}.")
    chosen = [
        name
        for name, value in (("max_tokens", max_tokens), ("distance_threshold", distance_threshold))
        if value is not None
    ]
    chosen = (["pool_factor"] if pool_factor != 1 else []) + chosen
    if len(chosen) > 1:
        raise InputError(
            f"Pass one of pool_factor, max_tokens and distance_threshold, got {' and '.join(chosen)}."
        )
    if distance_threshold is not None and (not isfinite(distance_threshold) or distance_threshold < 0):
        raise InputError(f"distance_threshold must be a finite number >= 0, got {distance_threshold}.")
    if max_tokens is not None and max_tokens <= num_protected_tokens:
        raise InputError(
            f"max_tokens ({max_tokens}) must exceed num_protected_tokens ({num_protected_tokens}), to "
            "leave room for at least one pooled token."
        )


def ward_linkage(vectors: Tensor) -> np.ndarray:
    """scipy's Ward linkage matrix of unit-length ``(n, dim)`` vectors under the cosine distance."""
    from scipy.spatial.distance import squareform

    _hierarchy()  # the error naming scipy when it is missing
    vectors = vectors.detach().float().cpu()
    distances = (1 - vectors @ vectors.T).clamp_(0, 2).numpy()
    return _linkage()(squareform(distances, checks=False), method="ward")


@cache
def _linkage() -> Any:
    """fastcluster's linkage when it is installed (faster, the same tree but for exact ties), else scipy's."""
    try:
        from fastcluster import linkage
    except (ImportError, OSError, RuntimeError):
        return _hierarchy().linkage
    return linkage


def _hierarchy() -> Any:
    """scipy's ``cluster.hierarchy`` (scipy is sentence-transformers' dependency, not sbert's)."""
    try:
        from scipy.cluster import hierarchy
    except ImportError:
        raise BackendUnavailableError(
            "HierarchicalTokenPooling clusters with scipy, which is not installed: pip install scipy"
        ) from None
    return hierarchy
