"""Clustering embeddings with scikit-learn (the ``cluster`` extra): k-means, agglomerative, HDBSCAN.

Embeddings are L2-normalized first, so Euclidean distances order pairs exactly as cosine similarity does
(``|a - b|^2 = 2 - 2 cos(a, b)`` for unit vectors) and every method clusters by meaning, not by length.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import check_positive_int
from .._errors import InputError, missing_extra
from .._numeric import normalize
from .exact import as_matrix

METHODS: tuple[str, ...] = ("kmeans", "agglomerative", "hdbscan")


def cluster_embeddings(
    embeddings: np.ndarray,
    *,
    method: str = "kmeans",
    n_clusters: int | None = None,
    distance_threshold: float | None = None,
    min_cluster_size: int = 5,
    seed: int = 0,
) -> np.ndarray:
    """Cluster labels ``(n,)`` int64 for embeddings ``(n, d)``.

    ============== ===================================================================================
    method         parameters
    ============== ===================================================================================
    kmeans         ``n_clusters`` (required); ``seed`` fixes the initialisation
    agglomerative  ``n_clusters`` or ``distance_threshold`` (cosine distance, 0..2, average linkage)
    hdbscan        ``min_cluster_size``; finds the number of clusters itself, label ``-1`` is noise
    ============== ===================================================================================

    Labels are renumbered by decreasing cluster size (0 is the largest), noise stays ``-1``.
    """
    if method not in METHODS:
        raise InputError(f"Unknown clustering method {method!r}; choose one of {METHODS}.")
    x = normalize(as_matrix(embeddings, "embeddings"))
    n = len(x)
    if n == 0:
        raise InputError("Nothing to cluster: the input holds no embeddings.")
    cluster = _sklearn_cluster()
    model: Any
    if method == "kmeans":
        k = _check_k(n_clusters, n)
        model = cluster.KMeans(n_clusters=k, n_init=10, random_state=seed)
    elif method == "agglomerative":
        if (n_clusters is None) == (distance_threshold is None):
            raise InputError(
                "agglomerative clustering needs exactly one of n_clusters or distance_threshold."
            )
        if n_clusters is not None:
            _check_k(n_clusters, n)
        elif distance_threshold is not None and not distance_threshold > 0:
            raise InputError(f"distance_threshold must be positive, got {distance_threshold!r}.")
        model = cluster.AgglomerativeClustering(
            n_clusters=n_clusters, distance_threshold=distance_threshold, metric="cosine", linkage="average"
        )
    else:
        if n_clusters is not None:
            raise InputError(
                "hdbscan finds the number of clusters itself; set min_cluster_size instead of n_clusters."
            )
        check_positive_int("min_cluster_size", min_cluster_size)
        if min_cluster_size < 2:
            raise InputError("min_cluster_size must be at least 2 for hdbscan.")
        if n < 2:
            return np.full(n, -1, dtype=np.int64)
        model = cluster.HDBSCAN(min_cluster_size=min_cluster_size, copy=True)
    if n == 1:  # every method: one point, one cluster
        return np.zeros(1, dtype=np.int64)
    return relabel_by_size(np.asarray(model.fit_predict(x)))


def relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Renumber labels so cluster 0 is the largest (ties: the one seen first); ``-1`` (noise) stays."""
    labels = np.asarray(labels, dtype=np.int64)
    clusters = labels[labels >= 0]
    if not len(clusters):
        return labels
    ids, first, counts = np.unique(clusters, return_index=True, return_counts=True)
    order = ids[np.lexsort((first, -counts))]  # biggest first, then by first appearance
    mapping = np.full(int(ids.max()) + 1, -1, dtype=np.int64)
    mapping[order] = np.arange(len(order))
    return np.where(labels >= 0, mapping[np.maximum(labels, 0)], -1)


def _check_k(n_clusters: int | None, n: int) -> int:
    if n_clusters is None:
        raise InputError("n_clusters is required for this method (the CLI's -k N).")
    check_positive_int("n_clusters", n_clusters)
    if n_clusters > n:
        raise InputError(f"n_clusters={n_clusters} is more than the {n} embeddings to cluster.")
    return int(n_clusters)


def _sklearn_cluster() -> Any:
    try:
        from sklearn import cluster
    except ImportError:
        raise missing_extra("scikit-learn", "cluster") from None
    return cluster
