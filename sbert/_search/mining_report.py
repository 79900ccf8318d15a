"""What ``mine_hard_negatives(verbose=True)`` prints, line for line as sentence-transformers prints it (to
stdout): the range it derived, the queries and positives it found, the candidates each filter skipped, and
the score statistics of the rows it wrote (per output format, as sentence-transformers counts them).

Numpy only; the statistics are sentence-transformers' torch ones (``median`` the lower middle value, ``std``
unbiased, quantiles interpolated linearly) on the same float32 scores.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

FILTERS = ("absolute_margin", "relative_margin", "max_score", "min_score")  # the table's order


def print_table(mined: Any, options: Any, pairs: int, rows: int) -> None:
    """The statistics table, the skipped candidates and the rows that found too few negatives."""
    positive = np.asarray(mined.positive_scores, dtype=np.float32)
    negative, difference, possible = _format_scores(mined, options, pairs)
    row = "{:<6} {:>14} {:>14} {:>14}"
    print(row.format("Metric", "Positive", "Negative", "Difference"))
    print(row.format("Count", f"{len(positive):,}", f"{len(negative):,}", ""))
    for name, function in STATISTICS:
        print(row.format(name, function(positive), function(negative), function(difference)))
    for name in FILTERS:
        if name in mined.skipped:
            count, share = mined.skipped[name]
            value = getattr(options, name)
            print(f"Skipped {count:,} potential negatives ({share:.2%}) due to the {name} of {value}.")
    missing = possible - rows
    if missing > 0:
        print(_missing_line(missing, possible, options))


def _format_scores(mined: Any, options: Any, pairs: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The negative scores written, their differences from their rows' positive scores, and the most rows
    the format could have written."""
    positive = np.asarray(mined.positive_scores, dtype=np.float32)
    per_row = np.repeat(
        mined.negative_scores.astype(np.float32), [len(p) for p in mined.positive_ids], axis=0
    )
    positive_grid = np.repeat(positive[:, None], per_row.shape[1], axis=1)
    if options.output_format == "n-tuple":  # rows that found all their negatives
        keep = np.isfinite(per_row).all(axis=1)
        negative = per_row[keep].ravel()
        return negative, positive_grid[keep].ravel() - negative, len(positive)
    found = np.isfinite(per_row)
    negative = per_row[found]
    possible = {
        "triplet": per_row.size,
        "labeled-pair": len(mined.queries) * options.num_negatives + pairs,
    }.get(options.output_format, len(positive))
    return negative, positive_grid[found] - negative, possible


def _missing_line(missing: int, possible: int, options: Any) -> str:
    solutions = ["range_max"]
    if options.range_min > 0:
        solutions.append("range_min")
    solutions += [
        n for n in ("absolute_margin", "relative_margin", "max_score") if getattr(options, n) is not None
    ]
    if len(solutions) > 1:
        considerations = ", ".join(solutions[:-1]) + " and " + solutions[-1]
    else:
        considerations = solutions[0]
    return (
        f"Could not find enough negatives for {missing} samples ({missing / possible:.2%})."
        f" Consider adjusting the {considerations} parameter{'s' if len(solutions) > 1 else ''} if you'd "
        "like to find more valid negatives."
    )


def _stat(function: Callable[[np.ndarray], Any], empty: str) -> Callable[[np.ndarray], str]:
    def formatted(scores: np.ndarray) -> str:
        if scores.size == 0:
            return empty
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # one score: its std is nan, as in torch
            return f"{float(function(scores)):.4f}"

    return formatted


STATISTICS = [
    ("Mean", _stat(np.mean, "nan")),
    ("Median", _stat(lambda s: np.sort(s)[(s.size - 1) // 2], "nan")),  # torch's median: the lower middle
    ("Std", _stat(lambda s: np.std(s, ddof=1), "nan")),
    ("Min", _stat(np.min, "inf")),
    ("25%", _stat(lambda s: np.quantile(s, 0.25), "inf")),
    ("50%", _stat(lambda s: np.quantile(s, 0.5), "inf")),
    ("75%", _stat(lambda s: np.quantile(s, 0.75), "inf")),
    ("Max", _stat(np.max, "-inf")),
]
