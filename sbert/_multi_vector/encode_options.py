"""The options of one ``MultiVectorEncoder.encode`` call, as the torch and ONNX encode loops take them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
