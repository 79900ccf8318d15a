"""Pictures: the training curve (loss and eval metric by step) and the STS scatter plot (matplotlib extra)."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._errors import missing_extra
from .atomic import atomic_write_bytes


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise missing_extra("matplotlib", "train") from None
    matplotlib.use("Agg", force=False)  # no display needed
    import matplotlib.pyplot as plt

    return plt


def _save(figure: Any, path: str | os.PathLike) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    atomic_write_bytes(path, buffer.getvalue())


def training_curve(records: Sequence[dict[str, Any]], metric: str | None, path: str | os.PathLike) -> None:
    """Training loss (left axis) and the eval ``metric`` (right axis) against the step,
    from the JSON-lines log."""
    plt = _pyplot()
    losses = [(r["step"], r["loss"]) for r in records if "loss" in r]
    evals = [(r["step"], r[metric]) for r in records if metric and metric in r]
    figure, left = plt.subplots(figsize=(7, 4))
    if losses:
        left.plot(*zip(*losses), color="tab:blue", label="training loss")
    left.set_xlabel("step")
    left.set_ylabel("training loss", color="tab:blue")
    if evals:
        right = left.twinx()
        right.plot(*zip(*evals), color="tab:orange", marker="o", label=metric)
        right.set_ylabel(metric, color="tab:orange")
    left.set_title("Training curve")
    _save(figure, path)
    plt.close(figure)


def sts_scatter(predicted: np.ndarray, gold: np.ndarray, spearman: float, path: str | os.PathLike) -> None:
    """Predicted similarity against the gold score, one dot per pair, the Spearman (×100) in the title."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(5.5, 5))
    axes.scatter(gold, predicted, s=6, alpha=0.4)
    axes.set_xlabel("gold score")
    axes.set_ylabel("predicted cosine similarity")
    axes.set_title(f"STS: Spearman = {spearman:.2f}")
    _save(figure, path)
    plt.close(figure)
