"""Pure numpy metric functions: correlations, pair-classification thresholds, ranking metrics.

No torch, no files, no models: arrays in, numbers out. Each function matches the definition used by
sentence-transformers' evaluators (tests compare them), so numbers are comparable.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from .._errors import InputError

# ------------------------------------------------------------------ similarities of paired rows


def paired_scores(a: np.ndarray, b: np.ndarray, function: str) -> np.ndarray:
    """Similarity ``(n,)`` of row i of ``a`` with row i of ``b``; distances negated (higher = more
    similar)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if function == "cosine":
        norms = np.maximum(np.linalg.norm(a, axis=1), 1e-12) * np.maximum(np.linalg.norm(b, axis=1), 1e-12)
        return (a * b).sum(1) / norms
    if function == "dot":
        return (a * b).sum(1)
    if function == "euclidean":
        return -np.sqrt(((a - b) ** 2).sum(1))
    if function == "manhattan":
        return -np.abs(a - b).sum(1)
    raise InputError(f"Unknown similarity function {function!r}; choose cosine, dot, euclidean or manhattan.")


# ------------------------------------------------------------------ correlations


def rankdata(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing their average rank (scipy's ``rankdata(method="average")``)."""
    x = np.asarray(x)
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    # start index of each run of equal values, and each element's run
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
    run = np.cumsum(np.r_[True, sorted_x[1:] != sorted_x[:-1]]) - 1
    ends = np.r_[starts[1:], len(x)]
    average = (starts + ends + 1) / 2.0  # mean of ranks starts+1 .. ends
    ranks = np.empty(len(x))
    ranks[order] = average[run]
    return ranks


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's r; nan where either input is constant, as scipy's ``pearsonr`` (which
    sentence-transformers calls) gives it, rather than rounding noise over rounding noise."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if not (x != x[:1]).any() or not (y != y[:1]).any():
        return float("nan")
    x, y = x - np.mean(x), y - np.mean(y)
    denominator = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denominator) if denominator > 0 else float("nan")


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    return pearson(rankdata(x), rankdata(y))


def correlations(predicted: np.ndarray, gold: np.ndarray, who: str) -> tuple[float, float]:
    """Pearson's and Spearman's r of an evaluator's scores against its gold scores; fewer than two pairs
    are a ValueError, as scipy (which sentence-transformers' evaluators call) raises it."""
    if len(gold) < 2:
        raise InputError(f"{who}: a correlation needs at least 2 pairs, got {len(gold)}.")
    return pearson(predicted, gold), spearman(predicted, gold)


# ------------------------------------------------------------------ binary classification of pairs


def best_accuracy_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """The best accuracy of ``score >= threshold`` (predicted similar) and that threshold (midpoint)."""
    scores, labels = _sorted_desc(scores, labels)
    n = len(labels)
    if n == 0:
        return 0.0, -1.0
    positives = np.cumsum(labels)  # predicted similar and right, down to row i
    negatives_after = (labels == 0).sum() - np.cumsum(labels == 0)
    last = _last_of_ties(scores)
    accuracy = (positives + negatives_after)[last] / n
    best_acc, best_threshold = (labels == 0).sum() / n, float(np.nextafter(scores[0], np.inf))
    for i, acc in zip(np.flatnonzero(last), accuracy):
        if acc > best_acc:
            best_acc, best_threshold = acc, _midpoint(scores, i)
    return float(best_acc), float(best_threshold)


def best_f1_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float, float, float]:
    """Best F1 of ``score >= threshold`` over thresholds: ``(f1, precision, recall, threshold)``."""
    scores, labels = _sorted_desc(scores, labels)
    total = labels.sum()
    best = (0.0, 0.0, 0.0, 0.0)
    if total == 0:
        return best
    correct = np.cumsum(labels)
    for i in np.flatnonzero(_last_of_ties(scores)):
        if correct[i] == 0:
            continue
        precision, recall = correct[i] / (i + 1), correct[i] / total
        f1 = 2 * precision * recall / (precision + recall)
        if f1 > best[0]:
            best = (float(f1), float(precision), float(recall), _midpoint(scores, i))
    return best


def matthews_correlation(predicted: np.ndarray, labels: np.ndarray) -> float:
    """Matthews correlation of boolean predictions with 0/1 labels; 0 when a margin of the confusion matrix
    is empty (scikit-learn's ``matthews_corrcoef``)."""
    predicted, labels = np.asarray(predicted, dtype=bool), np.asarray(labels, dtype=bool)
    tp, tn = float(np.sum(predicted & labels)), float(np.sum(~predicted & ~labels))
    fp, fn = float(np.sum(predicted & ~labels)), float(np.sum(~predicted & labels))
    denominator = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)
    return (tp * tn - fp * fn) / np.sqrt(denominator) if denominator else 0.0


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the precision-recall curve as a step sum (scikit-learn's ``average_precision_score``;
    0.0 without positives, as scikit-learn gives it with recall set to one)."""
    scores, labels = _sorted_desc(scores, labels)
    total = labels.sum()
    if total == 0:
        return 0.0
    last = _last_of_ties(scores)  # one threshold per distinct score
    true_positives = np.cumsum(labels)[last]
    precision = true_positives / (np.flatnonzero(last) + 1)
    recall = true_positives / total
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _sorted_desc(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64)
    if scores.shape != labels.shape:
        raise InputError(f"scores and labels differ in shape: {scores.shape} and {labels.shape}")
    order = np.argsort(-scores, kind="mergesort")
    return scores[order], labels[order]


def _last_of_ties(sorted_scores: np.ndarray) -> np.ndarray:
    """True at the last row of each run of equal scores: thresholds only fall between distinct scores."""
    return np.r_[sorted_scores[1:] != sorted_scores[:-1], True]


def _midpoint(scores: np.ndarray, i: int) -> float:
    if i == len(scores) - 1:
        return float(scores[i])
    middle = (scores[i] + scores[i + 1]) / 2
    return float(scores[i] if middle == scores[i + 1] else middle)


# ------------------------------------------------------------------ ranking (information retrieval)


def ranking_metrics(
    ranked: Sequence[Sequence[str]],
    relevant: Sequence[Iterable[str]],
    *,
    mrr_at_k: Sequence[int] = (10,),
    ndcg_at_k: Sequence[int] = (10,),
    accuracy_at_k: Sequence[int] = (1, 3, 5, 10),
    precision_recall_at_k: Sequence[int] = (1, 3, 5, 10),
    map_at_k: Sequence[int] = (100,),
) -> dict[str, float]:
    """Mean retrieval metrics (fractions in [0, 1]) over queries, binary relevance.

    ``ranked[q]`` lists document ids best first; ``relevant[q]`` holds the ids relevant to query q (at least
    one). Keys: ``accuracy@k``, ``precision@k``, ``recall@k``, ``mrr@k``, ``ndcg@k``, ``map@k``.
    """
    sums: dict[str, float] = {}

    def add(key: str, value: float) -> None:
        sums[key] = sums.get(key, 0.0) + value

    for hits, rel in zip(ranked, relevant):
        rel = set(rel)
        if not rel:
            raise InputError("every query needs at least one relevant document.")
        is_rel = np.array([doc in rel for doc in hits], dtype=np.float64)
        for k in accuracy_at_k:
            add(f"accuracy@{k}", float(is_rel[:k].any()))
        # keys in sentence-transformers' order: all precisions, then recalls, ndcg before mrr
        for k in precision_recall_at_k:
            add(f"precision@{k}", is_rel[:k].sum() / k)
        for k in precision_recall_at_k:
            add(f"recall@{k}", is_rel[:k].sum() / len(rel))
        for k in ndcg_at_k:
            add(f"ndcg@{k}", _dcg(is_rel[:k]) / _dcg(np.ones(min(len(rel), k))))
        for k in mrr_at_k:
            first = np.flatnonzero(is_rel[:k])
            add(f"mrr@{k}", 1.0 / (first[0] + 1) if len(first) else 0.0)
        for k in map_at_k:
            top = is_rel[:k]
            precisions = np.cumsum(top) / np.arange(1, len(top) + 1)
            add(f"map@{k}", float((precisions * top).sum()) / min(k, len(rel)))
    n = max(len(ranked), 1)
    return {key: value / n for key, value in sums.items()}


def _dcg(relevances: np.ndarray) -> float:
    return float((relevances / np.log2(np.arange(2, len(relevances) + 2))).sum())


# ------------------------------------------------------------------ mined pairs (paraphrase mining)


def mined_pairs_metrics(scores: np.ndarray, labels: np.ndarray, total: int) -> dict[str, float]:
    """Average precision and the best-F1 cut of mined pairs (fractions; the threshold a raw score).

    ``labels`` marks the true duplicates among the mined pairs; ``total`` counts every true duplicate,
    mined or not, so duplicates the mining missed lower recall and AP. Cuts fall between distinct scores,
    at the midpoint below the last pair kept (sentence-transformers' ``ParaphraseMiningEvaluator``).
    """
    found = {"average_precision": 0.0, "f1": 0.0, "precision": 0.0, "recall": 0.0, "threshold": 0.0}
    scores, labels = _sorted_desc(scores, labels)
    if total == 0 or not labels.any():
        return found
    ends = np.flatnonzero(_last_of_ties(scores))  # the last pair of each run of equal scores
    correct = np.cumsum(labels)[ends].astype(np.float64)
    gained = np.diff(np.r_[0.0, correct])  # duplicates each run adds
    precision, recall = correct / (ends + 1), correct / total
    found["average_precision"] = float((precision * gained).sum() / total)
    # Only a run that adds a duplicate can raise F1; the first best one wins, as there.
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(gained > 0, 2 * precision * recall / (precision + recall), 0.0)
    best = int(np.argmax(f1))
    below = scores[min(ends[best] + 1, len(scores) - 1)]
    found.update(
        f1=float(f1[best]),
        precision=float(precision[best]),
        recall=float(recall[best]),
        threshold=float((scores[ends[best]] + below) / 2),
    )
    return found
