"""The options of one ``MultiVectorEncoder.encode`` call, and the batch loop the torch and ONNX encode loops
share (torch-free)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._progress import progress_bar
from .._tokens.batching import input_length


@dataclass(frozen=True)
class EncodeOptions:
    prompt: str | None
    task: str | None
    batch_size: int
    output_value: str | None
    normalize: bool
    truncate_dim: int | None
    progress: bool | None
    processing_kwargs: dict[str, Any] | None = None
    token_pooling: Any = None  # a BaseTokenPooling
    arrays: bool = False  # the call returns numpy arrays (convert_to_numpy): no torch needed to cut them


def encode_sorted(
    texts: list[str], options: EncodeOptions, run_batch: Callable[[list[str]], list[Any]]
) -> list[Any]:
    """``run_batch``'s items for ``texts`` (or conversations) in input order: longest first by characters,
    ``options.batch_size`` at a time (as sentence-transformers batches), under one progress bar."""
    order = np.argsort([-input_length(t) for t in texts], kind="stable")
    results: list[Any] = []
    desc = "Encoding queries" if options.task == "query" else "Encoding documents"
    with progress_bar(len(texts), desc=desc, unit="text", show=options.progress) as bar:
        for start in range(0, len(texts), options.batch_size):
            batch = [texts[i] for i in order[start : start + options.batch_size]]
            results.extend(run_batch(batch))
            bar.update(len(batch))
    return [results[i] for i in np.argsort(order, kind="stable")]
