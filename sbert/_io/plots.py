"""Pictures: the training curve (loss and eval metric by step) and the STS scatter plot (matplotlib extra).

The picture's format follows its file's extension (``.png``, ``.pdf``, ``.svg``, ... whatever matplotlib
writes); :func:`check_plot_path` refuses any other extension and a missing folder before any work is done.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import InputError, missing_extra
from .atomic import atomic_write_bytes, check_parent


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise missing_extra("matplotlib", "train") from None
    matplotlib.use("Agg", force=False)  # no display needed
    import matplotlib.pyplot as plt

    return plt


def plot_formats() -> list[str]:
    """The file extensions matplotlib can write (``png``, ``pdf``, ``svg``, ...); needs matplotlib."""
    _pyplot()
    from matplotlib.backend_bases import FigureCanvasBase

    return sorted(FigureCanvasBase.get_supported_filetypes())


def check_plot_path(path: str | os.PathLike) -> str:
    """The format of a picture to write at ``path`` (its extension), after checking that matplotlib is
    installed, that matplotlib writes that format and that the folder exists; raises before any work."""
    formats = plot_formats()
    path = Path(path)
    if path.is_dir():
        raise InputError(f"cannot write a plot to {str(path)!r}: it is a folder; name a file.")
    extension = path.suffix.lower().removeprefix(".")
    if extension not in formats:
        raise InputError(
            f"cannot write a plot to {str(path)!r}: the format follows the extension, one of "
            f"{', '.join('.' + name for name in formats)}."
        )
    check_parent(path)  # a missing folder is an error, not a new folder
    return extension


def _save(plt: Any, figure: Any, path: str | os.PathLike, extension: str) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format=extension, dpi=110, bbox_inches="tight")
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())


def training_curve(records: Sequence[dict[str, Any]], metric: str | None, path: str | os.PathLike) -> None:
    """Training loss (left axis) and the eval ``metric`` (right axis) against the step,
    from the JSON-lines log."""
    extension = check_plot_path(path)
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
    _save(plt, figure, path, extension)


def sts_scatter(predicted: np.ndarray, gold: np.ndarray, spearman: float, path: str | os.PathLike) -> None:
    """Predicted similarity against the gold score, one dot per pair, the Spearman in the title."""
    extension = check_plot_path(path)
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(5.5, 5))
    axes.scatter(gold, predicted, s=6, alpha=0.4)
    axes.set_xlabel("gold score")
    axes.set_ylabel("predicted cosine similarity")
    axes.set_title(f"STS: Spearman = {spearman:.4f}")
    _save(plt, figure, path, extension)
